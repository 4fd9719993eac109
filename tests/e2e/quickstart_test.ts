/**
 * The README's Quickstart, then its "Verifying tokens in other services" (the example service
 * started in a third terminal, then its commands), followed literally on a fresh copy of the
 * repository: the `sh` blocks
 * before `deno task start` run to completion, `deno task start` runs as the server (the first
 * terminal), the `sh` blocks after it run in order in one `sh`
 * (the second terminal), and each `text` block after a command must match what it really printed,
 * line for line (`...` stands for what differs from run to run). The one change: a free port
 * instead of 10000 (in the environment and in the commands' URLs).
 *
 * Then: `deno task start` printed only its own lines, and
 * `deno task dev` stops, watcher included, on SIGTERM.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyCheckout } from "../helpers/checkout_copy.ts";
import { freePort, ROOT, startTaskIn } from "../helpers/server_process.ts";
import { needs, NET, READ, RUN_DENO, RUN_SH, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO, RUN_SH);

interface Block {
  readonly lang: string;
  readonly text: string;
}

/** The fenced blocks of a README section (by its `## ` heading). */
function sectionBlocks(heading: string): Block[] {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const start = readme.indexOf(`## ${heading}\n`);
  assert.ok(start >= 0, `README has a section ${heading}`);
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  return [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1]!,
    text: m[2]!.replace(/\n$/, ""),
  }));
}

/** Asserts that `actual`'s lines are `expected`'s, `...` matching anything within a line. */
function assertLooksLike(actual: string, expected: string, what: string): void {
  const lines = actual.replace(/\n$/, "").split("\n");
  const patterns = expected.split("\n").map((line) =>
    new RegExp(
      `^${
        line.split("...").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")
      }$`,
    )
  );
  assert.equal(lines.length, patterns.length, `${what}: expected\n${expected}\ngot\n${actual}`);
  lines.forEach((line, i) => {
    assert.match(
      line,
      patterns[i]!,
      `${what}, line ${i + 1}: expected\n${expected}\ngot\n${actual}`,
    );
  });
}

test("README Quickstart, copied and pasted on a fresh copy, prints what it shows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "auth-quickstart-" });
  try {
    await copyCheckout(ROOT, dir);
    const port = String(freePort());
    const local = (text: string) => text.replaceAll(":10000", `:${port}`);
    const blocks = sectionBlocks("Quickstart");
    const startAt = blocks.findIndex((b) => b.lang === "sh" && b.text === "deno task start");
    assert.ok(startAt >= 0, "the quickstart starts the server with deno task start");
    const rest = blocks.slice(startAt + 1);
    const env = { PORT: port, NO_COLOR: "1" };
    for (const block of blocks.slice(0, startAt).filter((b) => b.lang === "sh")) {
      const before = await new Deno.Command("sh", { args: ["-e", "-c", block.text], cwd: dir, env })
        .output();
      assert.equal(before.code, 0, `${block.text}: ${new TextDecoder().decode(before.stderr)}`);
    }

    const server = await startTaskIn(dir, "start", env);
    // "Verifying tokens in other services": its first command starts the example service (a
    // third terminal, on a free port instead of 8080, told where the server is); its other
    // commands run after the Quickstart's, in the same second-terminal shell.
    const verifying = sectionBlocks("Verifying tokens in other services");
    const examplePort = String(freePort());
    const exampleLocal = (text: string) => local(text).replaceAll(":8080", `:${examplePort}`);
    const exampleAt = verifying.findIndex((b) =>
      b.lang === "sh" && b.text.includes("examples/resource_service.ts")
    );
    assert.ok(exampleAt >= 0, "the README starts the example service");
    const example = new Deno.Command("sh", {
      // `VAR=... exec deno ...`: the shell becomes the service, so stopping it stops the service.
      args: ["-e", "-c", verifying[exampleAt]!.text.replace(/(^|\s)deno run /, "$1exec deno run ")],
      cwd: dir,
      env: { PORT: examplePort, AUTH_URL: `http://localhost:${port}`, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const exampleOutput = example.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let exampleErrors = "";
    const exampleErrorsRead = (async () => {
      for await (const text of example.stderr.pipeThrough(new TextDecoderStream())) {
        exampleErrors += text;
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300)); // lines written right after listening
      assert.equal(rest[0]?.lang, "text");
      assertLooksLike(server.stderr(), local(rest[0].text), "deno task start");

      const exampleLine = (await exampleOutput.read()).value ?? "";
      await new Promise((r) => setTimeout(r, 100)); // a warning would follow its first line
      assert.equal(exampleErrors, "", "the example service writes nothing to stderr");
      assert.equal(verifying[exampleAt + 1]?.lang, "text");
      assertLooksLike(exampleLine, exampleLocal(verifying[exampleAt + 1]!.text), "example service");

      // The second terminal: every later sh block, in order, in one shell.
      const commands: { script: string; expected?: string }[] = [];
      const later = [...rest, ...verifying.slice(exampleAt + 2)];
      for (const [i, block] of later.entries()) {
        if (block.lang !== "sh") continue;
        const next = later[i + 1];
        commands.push({
          script: exampleLocal(block.text),
          ...(next?.lang === "text" ? { expected: exampleLocal(next.text) } : {}),
        });
      }
      assert.ok(commands.length >= 4, "the quickstart has its commands");
      const marker = "::quickstart-block::";
      const script = commands.map((c) => `${c.script}\necho '${marker}'`).join("\n");
      const shell = await new Deno.Command("sh", {
        args: ["-e", "-c", script],
        cwd: dir,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(shell.stdout);
      const err = new TextDecoder().decode(shell.stderr);
      assert.equal(shell.code, 0, `the commands succeed:\n${out}\n${err}`);
      const outputs = out.split(`${marker}\n`);
      commands.forEach((command, i) => {
        if (command.expected !== undefined) {
          assertLooksLike(outputs[i] ?? "", command.expected, command.script.split("\n")[0]!);
        }
      });
    } finally {
      try {
        example.kill("SIGTERM");
      } catch {
        // it exited by itself (the assertions say why)
      }
      await exampleOutput.cancel();
      await exampleErrorsRead;
      await example.status;
      const status = await server.stop();
      assert.equal(status.code, 0, server.stderr());
    }
    // Nothing but its own lines (no download/initialise lines, no warnings). (`deno install` lays
    // out everything deno.lock pins, test-only packages too; none is in the server's module
    // graph: tests/unit/lockfile_test.ts.)
    const own =
      /^(Task start deno task --quiet server|Wrote \.env .*|Created user .*|Auth server listening .*)$/;
    const others = server.stderr().trim().split("\n").filter((line) => !own.test(line));
    assert.deepEqual(others, [], server.stderr());

    const dev = await startTaskIn(dir, "dev", env);
    const status = await dev.stop();
    assert.notEqual(status.signal, "SIGKILL", `deno task dev stopped on SIGTERM:\n${dev.stderr()}`);
    const devOwn =
      /^(Task dev deno task --quiet server:watch|Watcher .*|Auth server listening .*)$/;
    const devOthers = dev.stderr().trim().split("\n").filter((line) => !devOwn.test(line));
    assert.deepEqual(devOthers, [], dev.stderr());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
