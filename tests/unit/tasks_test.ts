/** The `deno.json` tasks: exact permissions, and none of them ever prompts. */
import assert from "node:assert/strict";
import { ROOT, taskCommand } from "../helpers/server_process.ts";
import { join } from "node:path";
import { needs, READ } from "../helpers/permissions.ts";

const test = needs(READ);

test("every task that runs the server or a CLI passes --no-prompt and never -A", () => {
  const tasks = Object.keys(
    JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks as Record<string, string>,
  );
  // Review 1, N3: without --no-prompt, a KV_PATH outside ./data asks on a terminal instead of
  // failing. `deno task keys` lacked it. (Tests and benchmarks are the developers' tools.)
  const running = tasks.map((name) => [name, taskCommand(name).args] as const)
    .filter(([, args]) => /(\/main\.ts|\/src\/cli\/\w+\.ts|^main\.ts)$/.test(args.at(-1)!));
  const names = running.map(([name]) => name);
  for (const name of ["user", "client", "keys", "compile"]) {
    assert.ok(names.includes(name), `task ${name} was read`);
  }
  assert.ok(
    running.some(([, args]) => args.at(-1)!.endsWith("/main.ts")),
    "a server task was read",
  );
  for (const [name, args] of running) {
    assert.ok(args.includes("--no-prompt"), `${name} lacks --no-prompt`);
    assert.ok(!args.includes("-A") && !args.includes("--allow-all"), `${name} grants everything`);
  }
});

test("start:cached runs what the server task runs, with nothing resolved at run time", () => {
  // Review of 2.25.0: GLIBC_TUNABLES reached `server` but not `start:cached`, the task the
  // systemd unit in docs/operations.md and `start:all-cores:cached` run.
  const server = taskCommand("server");
  const cached = taskCommand("start:cached");
  assert.deepEqual(cached.env, server.env, "the same environment");
  assert.deepEqual(
    cached.args.filter((arg) => arg !== "--frozen" && arg !== "--cached-only"),
    server.args,
    "the same flags, plus --frozen --cached-only",
  );
});
