import assert from "node:assert/strict";
import { createBufferedWriter, createLogger, isoClock } from "../../src/logger.ts";
import { needs, RUN_DENO } from "../helpers/permissions.ts";

const testRunningDeno = needs(RUN_DENO);

Deno.test("buffered writer: batches until size, flushes warn at once, and after its delay", async () => {
  const batches: string[] = [];
  const decoder = new TextDecoder();
  const writer = createBufferedWriter((bytes) => batches.push(decoder.decode(bytes)), {
    maxBytes: 350, // about five request lines
    maxDelayMs: 20,
  });
  try {
    const log = createLogger("info", writer);
    log.info("request", { path: "/me" });
    assert.equal(batches.length, 0, "one info line waits");
    log.warn("login_failed", { user_id: "ada" });
    assert.equal(batches.length, 1, "a warn line goes out at once, with what was waiting");
    assert.deepEqual(
      batches[0]!.trimEnd().split("\n").map((line) => JSON.parse(line).event),
      ["request", "login_failed"],
    );
    for (let i = 0; i < 5; i++) log.info("request", { path: "/me" });
    assert.equal(batches.length, 2, "350 characters fill a batch");
    log.info("request", { path: "/last" });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.ok(batches.at(-1)!.includes('"/last"'), "the delay flushes what is left");
    const lines = batches.join("").split("\n").filter((line) => line !== "");
    assert.equal(lines.length, 8, "no line lost or doubled");
  } finally {
    writer.close();
  }
});

Deno.test("buffered writer: a failing sink drops the batch, never throws", () => {
  const writer = createBufferedWriter(() => {
    throw new Error("stdout closed");
  });
  try {
    writer.write("{}", true);
    writer.write("{}", false);
    writer.flush();
  } finally {
    writer.close();
  }
});

Deno.test("isoClock makes one string per millisecond, the same as toISOString", () => {
  let now = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
  const clock = isoClock(() => now);
  const first = clock();
  assert.equal(first, new Date(now).toISOString());
  assert.equal(clock(), first);
  now += 1;
  assert.equal(clock(), new Date(now).toISOString());
});

testRunningDeno("buffered writer: an uncaught error still writes what was buffered", async () => {
  // A child process buffers one info line (no flush is due for a minute), then throws.
  const logger = new URL("../../src/logger.ts", import.meta.url).href;
  const script = `
    import { createBufferedWriter, createLogger } from ${JSON.stringify(logger)};
    const log = createLogger("info", createBufferedWriter(undefined, { maxDelayMs: 60_000 }));
    log.info("last_words", { n: 1 });
    setTimeout(() => { throw new Error("boom"); }, 10);
  `;
  const output = await new Deno.Command("deno", {
    args: ["eval", "--no-config", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.notEqual(output.code, 0, "the error ends the process");
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  assert.equal(lines.length, 1, new TextDecoder().decode(output.stderr));
  assert.equal(JSON.parse(lines[0]!).event, "last_words");
});

Deno.test("infoLineOf writes the very line info writes, from fields serialized by the caller", () => {
  const samples: Record<string, string | number | undefined>[] = [
    {},
    { status: 200, sub: "ada" },
    { path: '/a"b\\c\n\u0001\u2028é😀', duration_ms: 0.07, client: "::1", sub: undefined },
    { n: -0.5, big: 1e21, tiny: 5e-7, empty: "" },
  ];
  for (const fields of samples) {
    const viaInfo: string[] = [];
    const viaLine: string[] = [];
    const clock = () => 0; // both lines in the same millisecond
    createLogger("info", (line) => viaInfo.push(line), clock).info("request", fields);
    const write = createLogger("info", (line) => viaLine.push(line), clock).infoLineOf("request")!;
    const json = JSON.stringify(fields); // `{...}`: what follows the event is `,` and its inside
    write(json === "{}" ? "}" : `,${json.slice(1)}`);
    assert.deepEqual(viaLine, viaInfo);
  }
});

Deno.test("infoLineOf is null when info lines are off", () => {
  assert.equal(createLogger("warn", () => {}).infoLineOf("request"), null);
  assert.notEqual(createLogger("debug", () => {}).infoLineOf("request"), null);
});
