/**
 * Issue 15: the request log is written in batches; a SIGTERM under load still leaves one line
 * per answered request on stdout.
 */
import assert from "node:assert/strict";
import { dirWithUsers, loginOk, startServer } from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

test("SIGTERM under load: every request answered has its log line", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  // The default configuration: LOG_LEVEL=info, the request log on.
  const server = await startServer({ dir: scratch.path });
  try {
    const { token } = await loginOk(server, "ada");
    const answered = new Map<number, number>();
    let signalled = false;
    const client = Deno.createHttpClient({});
    const worker = async () => {
      for (;;) {
        let status: number;
        try {
          const res = await fetch(`${server.url}/me`, {
            headers: { Authorization: `Bearer ${token}` },
            client,
          });
          await res.body?.cancel();
          status = res.status;
        } catch {
          if (signalled) return; // the server has stopped listening
          throw new Error("request failed before SIGTERM");
        }
        answered.set(status, (answered.get(status) ?? 0) + 1);
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    // Let the load run long enough for many batches, then stop the server in the middle of it.
    await new Promise((resolve) => setTimeout(resolve, 700));
    signalled = true;
    server.process.kill("SIGTERM");
    await Promise.all(workers);
    client.close();
    const status = await server.process.status; // it exits by itself
    assert.equal(status.code, 0, server.stderr());
    await server.stop(); // collects the rest of stdout

    const records = server.stdout().split("\n").filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const meLines = records.filter((r) => r.event === "request" && r.path === "/me");
    const ok = answered.get(200) ?? 0;
    assert.ok(ok > 200, `load was real: ${ok} answers of 200`);
    // Answers refused while draining (503, not_ready) never reach the app and have no line.
    assert.equal(meLines.filter((r) => r.status === 200).length, ok, "one line per 200");
    assert.equal(meLines.length, ok, "no line for a request that was not answered by the app");
    for (const r of meLines) {
      assert.equal(r.sub, "ada");
      assert.equal(typeof r.request_id, "string");
      assert.equal(typeof r.time, "string");
    }
    assert.equal(new Set(meLines.map((r) => r.request_id)).size, meLines.length, "ids are unique");
    // The process's last words are there too, after every request line.
    assert.equal(records.at(-1)?.event, "stopped");
  } finally {
    await server.stop("SIGKILL");
  }
});

test("OTEL_DENO=true: request lines also go out as OpenTelemetry logs of the request's trace", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  // Deno's console exporter prints spans and log records to stderr: no collector needed.
  const server = await startServer({
    dir: scratch.path,
    env: { OTEL_DENO: "true", OTEL_EXPORTER_OTLP_PROTOCOL: "console", NO_COLOR: "1" },
  });
  try {
    const res = await fetch(`${server.url}/healthz`);
    await res.body?.cancel();
    assert.equal(res.status, 200);
    // The log record carries the trace of the request's span (the span itself is exported in
    // Deno's next batch, at the latest when the process exits).
    const exported = () =>
      /LOG \[INFO\][^\n]*"event":"request"[^]*?trace: [0-9a-f]{32}\//.test(server.stderr());
    const deadline = Date.now() + 5_000;
    while (!exported()) {
      if (Date.now() > deadline) assert.fail(`no span or log record exported:\n${server.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal((await server.stop()).code, 0);
    assert.match(server.stderr(), /SPAN GET/);
    const lines = server.stdout().split("\n").filter((line) => line.includes('"event":"request"'));
    assert.equal(lines.length, 1, "stdout still carries the JSON line");
  } finally {
    await server.stop("SIGKILL");
  }
});
