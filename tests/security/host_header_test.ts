/**
 * A `Host` that is no host is refused before routing: Deno builds a request's URL from `Host` and
 * the target, and Hono routes by that URL's path, so `Host: h/me?` with the target `/healthz` was
 * routed to `/me` (a proxy that filters by path and forwards `Host` could be walked past). On the
 * real server, over raw HTTP/1.1 (fetch does not let a client set `Host`).
 */
import assert from "node:assert/strict";
import { isPlainHost } from "../../src/http/host_header.ts";
import { startServer } from "../helpers/server_process.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

/** Sends one raw request (`Connection: close`) and reads the whole answer. */
async function raw(port: number, target: string, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let text = "";
    const decoder = new TextDecoder();
    const chunk = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(chunk);
      if (n === null) return text;
      text += decoder.decode(chunk.subarray(0, n));
    }
  } finally {
    try {
      conn.close();
    } catch {
      // already closed by the server
    }
  }
}

Deno.test("isPlainHost: names, addresses and ports pass; anything that would move the path does not", () => {
  for (
    const host of ["localhost", "auth.example.com:443", "127.0.0.1:10000", "[::1]:10000", null]
  ) {
    assert(isPlainHost(host), String(host));
  }
  const bad = ["h/me?", "h?x", "h#x", "user@h", "h\\me", "h me", "", "[::1]/me", "h:10000/me"];
  for (const host of bad) assert(!isPlainHost(host), host);
});

needs(READ, WRITE, NET, RUN_DENO)(
  "a Host that would move the path gets 400 bad_request; a plain one is routed as before",
  async () => {
    const server = await startServer();
    try {
      const plain = await raw(server.port, "/healthz", `127.0.0.1:${server.port}`);
      assert.match(plain, /^HTTP\/1\.1 200 /);
      for (const host of ["h/me?", `127.0.0.1:${server.port}/me?`, "a@b"]) {
        const answer = await raw(server.port, "/healthz", host);
        assert.match(answer, /^HTTP\/1\.1 400 /, `${host}: ${answer.slice(0, 200)}`);
        const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
        assert.equal(body.code, "bad_request");
        assert.match(answer, /\r\nx-content-type-options: nosniff\r\n/i);
      }
    } finally {
      await server.stop();
    }
  },
);
