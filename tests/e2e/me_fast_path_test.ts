/**
 * Issue 24: on the real server, over one raw keep-alive connection, repeated `GET /me` answers
 * (the first from Hono, the next from `http/me_fast_path.ts`) are the same bytes but for the
 * `date` line, and are logged and measured alike; a target Hono would not route to `/me` is not
 * answered as `/me`.
 */
import assert from "node:assert/strict";
import { dirWithUsers, loginOk, startServer } from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

/** One HTTP/1.1 connection: sends a request, reads one whole answer (`content-length` body). */
async function rawConnection(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let buffered = "";
  const read = async () => {
    const chunk = new Uint8Array(16384);
    const n = await conn.read(chunk);
    if (n === null) throw new Error(`connection closed; have ${JSON.stringify(buffered)}`);
    buffered += decoder.decode(chunk.subarray(0, n));
  };
  return {
    async send(target: string, headers: string): Promise<string> {
      await conn.write(
        encoder.encode(`GET ${target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${headers}\r\n`),
      );
      while (!buffered.includes("\r\n\r\n")) await read();
      const head = buffered.slice(0, buffered.indexOf("\r\n\r\n") + 4);
      const length = Number(/\r\ncontent-length: (\d+)\r\n/i.exec(head)?.[1]);
      assert.ok(Number.isInteger(length), head);
      while (buffered.length < head.length + length) await read(); // ASCII bodies only
      const answer = buffered.slice(0, head.length + length);
      buffered = buffered.slice(answer.length);
      return answer;
    },
    close: () => conn.close(),
  };
}

test("repeated GET /me on the real server: the same bytes, log line and series", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const server = await startServer({ dir: scratch.path }); // LOG_LEVEL=info, the default
  try {
    const { token } = await loginOk(server, "ada");
    const conn = await rawConnection(server.port);
    const withoutDate = (answer: string) => answer.replace(/\r\ndate: [^\r]*/i, "");
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await conn.send("/me", `authorization: Bearer ${token}\r\n`));
    }
    assert.match(answers[0]!, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answers[0]!, /"sub":"ada"/);
    assert.equal(withoutDate(answers[1]!), withoutDate(answers[0]!));
    assert.equal(withoutDate(answers[2]!), withoutDate(answers[0]!));
    // Targets Hono does not route to /me (nothing is normalized): never /me's answer.
    for (const target of ["/a/../me", "//me", "/./me"]) {
      const answer = await conn.send(target, `authorization: Bearer ${token}\r\n`);
      assert.match(answer, /^HTTP\/1\.1 404 /, target);
    }
    conn.close();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      metrics,
      /auth_http_request_duration_seconds_count\{route="\/me",method="GET",status="200"\} 3\n/,
    );
    assert.equal((await server.stop()).code, 0);
    const lines = server.stdout().split("\n").filter((line) => line.includes('"event":"request"'))
      .map((line) => JSON.parse(line)).filter((line) => line.path === "/me");
    assert.equal(lines.length, 3);
    const fields = (
      { request_id: _id, time: _time, duration_ms: _ms, ...rest }: Record<string, unknown>,
    ) => rest;
    for (const line of lines) {
      assert.deepEqual(fields(line), fields(lines[0]));
    }
    assert.deepEqual(fields(lines[0]), {
      level: "info",
      event: "request",
      method: "GET",
      path: "/me",
      status: 200,
      client: "127.0.0.1",
      sub: "ada",
    });
  } finally {
    await server.stop("SIGKILL");
  }
});
