/**
 * A real server over raw sockets: a client that goes away in the middle of its body gets a 400 in
 * the request log and no error line (anyone can do it, so it must not flood the error log or the
 * 5xx count); TRACE and TRACK (in any case), which no `Request` can carry, answer 405; and the
 * media-type gate's look at a body sent without `Content-Type` leaves Deno's
 * "request.signal aborts on successful responses" warning unprinted (no `Request.clone()`).
 * The same readers in-process: tests/app/body_read_test.ts.
 */
import assert from "node:assert/strict";
import { startServer } from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

/** Sends `head` and a part of its body, waits, then closes the connection mid-body. */
async function breakOff(port: number, text: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(text.replaceAll("\n", "\r\n")));
  await new Promise((resolve) => setTimeout(resolve, 300));
  conn.close();
}

/** Sends a whole request with `Connection: close` and returns everything answered. */
async function exchange(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(text.replaceAll("\n", "\r\n")));
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  conn.close();
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
}

test("a body broken off is a 400, never a logged 500; TRACE is 405; no signal warning", async () => {
  const server = await startServer();
  let stopped = false;
  try {
    const { port } = server;
    const head = (method: string, path: string, ...lines: string[]) =>
      `${method} ${path} HTTP/1.1\nHost: 127.0.0.1\n${lines.map((l) => `${l}\n`).join("")}\n`;
    const form = "Content-Type: application/x-www-form-urlencoded";
    const json = "Content-Type: application/json";
    const chunked = "Transfer-Encoding: chunked";
    const brokenOff: [string, string][] = [
      ["/oauth/token", head("POST", "/oauth/token", form, "Content-Length: 100") + "grant_type="],
      ["/login", head("POST", "/login", json, chunked) + '5\n{"a":\n'],
      ["/refresh", head("POST", "/refresh", json, chunked) + '5\n{"a":\n'],
      ["/logout", head("POST", "/logout", json, chunked) + '5\n{"a":\n'],
      ["/admin/users", head("POST", "/admin/users", json, chunked) + '5\n{"a":\n'],
      ["/authorize/login", head("POST", "/authorize/login", form, "Content-Length: 100") + "a="],
    ];
    await Promise.all(brokenOff.map(([, text]) => breakOff(port, text)));

    for (const method of ["TRACE", "trace", "Track", "TRACK"]) {
      for (const path of ["/login", "/admin/users", "/health"]) {
        const answer = await exchange(port, head(method, path, "Connection: close"));
        assert.match(answer, /^HTTP\/1\.1 405 /, `${method} ${path}: ${answer.slice(0, 200)}`);
        assert.match(answer, /"code":"method_not_allowed"/);
      }
    }

    // No Content-Type, a body: the media-type gate looks at it (415).
    const untyped = await exchange(
      port,
      head("POST", "/login/mfa", "Content-Length: 7", "Connection: close") + '{"a":1}',
    );
    assert.match(untyped, /^HTTP\/1\.1 415 /);

    await server.stop();
    stopped = true;
    const log = server.stdout().split("\n").filter((line) => line.startsWith("{")).map((line) =>
      JSON.parse(line)
    );
    assert.deepEqual(log.filter((line) => line.level === "error"), []);
    for (const [path] of brokenOff) {
      const statuses = log.filter((line) =>
        line.event === "request" && line.method === "POST" && line.path === path
      )
        .map((line) => line.status);
      assert.deepEqual(statuses, [400], path);
    }
    const traced = log.filter((line) => line.event === "request" && /^trac/i.test(line.method));
    assert.equal(traced.length, 12);
    assert.ok(traced.every((line) => line.status === 405));
    assert.doesNotMatch(server.stderr(), /request\.signal/);
  } finally {
    if (!stopped) await server.stop();
  }
});
