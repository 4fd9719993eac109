/**
 * What a newcomer meets in the first hour, with real processes: start-up failures in one line,
 * a first-run `.env` that records the environment, an issuer that follows the port, the bootstrap
 * admin after a CLI-made store, no runtime warning and a tidy CLI. (`start` and `dev`
 * themselves: tests/e2e/quickstart_test.ts.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  freePort,
  getJson,
  PASSWORD,
  postJson,
  readDotEnv,
  runServerToExit,
  runTask,
  scratchDir,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const BOOTSTRAP = "bootstrap password 1";

/** Exit code 1 and exactly one line on stderr, with no stack trace. */
function assertOneLine(result: { code: number; stderr: string }, pattern: RegExp) {
  assert.equal(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line:\n${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /Uncaught|^\s+at |^error:/m);
}

test("start-up failures: one line naming the cause and what to do, exit 1", async (t) => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  // A .env and an admin first, so the only line is the failure.
  await Deno.writeTextFile(
    join(dir, ".env"),
    `SECRET_KEY=${crypto.randomUUID()}${crypto.randomUUID()}\n`,
  );
  const root = await runTask("user", dir, ["add", "root", "--role", "admin"], {
    stdin: `${PASSWORD}\n`,
  });
  assert.equal(root.code, 0, root.stderr);

  await t.step("port already in use", async () => {
    const port = freePort();
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    try {
      const result = await runServerToExit(dir, { PORT: String(port) });
      assertOneLine(result, new RegExp(`port ${port} is already in use.*set PORT`));
    } finally {
      listener.close();
    }
  });
  await t.step("KV_PATH outside ./data (not permitted)", async () => {
    const result = await runServerToExit(dir, { KV_PATH: "/tmp/auth-first-hour/auth.kv" });
    assertOneLine(result, /^Configuration error: KV_PATH .*not allowed.*under \.\/data/);
  });
  await t.step("KV_PATH under a file (cannot be created)", async () => {
    await Deno.mkdir(join(dir, "data"), { recursive: true });
    await Deno.writeTextFile(join(dir, "data", "file"), "x");
    const result = await runServerToExit(dir, { KV_PATH: "./data/file/auth.kv" });
    assertOneLine(result, /^Configuration error: KV_PATH .*cannot be opened/);
  });
  await t.step("HOST that is no address of this machine", async () => {
    const result = await runServerToExit(dir, { HOST: "999.1.1.1" });
    assertOneLine(result, /^Cannot listen on 999\.1\.1\.1:\d+: .*set HOST/);
  });
  await t.step('ISSUER with a ":" that is not a URI (a name without one is fine)', async () => {
    const result = await runServerToExit(dir, { ISSUER: "your identity: prod" });
    assertOneLine(result, /^Configuration error: ISSUER holds a ":" but is not a URI/);
  });
  await t.step("a bad value", async () => {
    const result = await runServerToExit(dir, { PORT: "http" });
    assertOneLine(result, /^Configuration error: PORT must be a number/);
  });
});

test("first run records the environment's settings; server and CLI agree", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  const port = freePort();
  await withServer({
    dir,
    port,
    env: { JWT_ALG: "EdDSA", BOOTSTRAP_PASSWORD: BOOTSTRAP, KEY_PUBLISH_AHEAD: "0" },
  }, (server) => {
    const vars = readDotEnv(dir);
    assert.equal(vars.JWT_ALG, "EdDSA", ".env records JWT_ALG from the environment");
    assert.equal(vars.PORT, String(port), ".env records PORT from the environment");
    assert.equal(vars.BOOTSTRAP_PASSWORD, undefined, "the bootstrap password is not kept");
    assert.match(Deno.readTextFileSync(join(dir, ".env")), /# From the environment/);
    assert.match(server.stderr(), /EdDSA/);
    return Promise.resolve();
  });
  // The CLI, without those variables, sees the same algorithm: the key is active, and rotates.
  const listed = await runTask("keys", dir, ["list", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  const keys = JSON.parse(listed.stdout) as { alg: string; state: string }[];
  assert.ok(keys.some((k) => k.alg === "EdDSA" && k.state === "active"), listed.stdout);
  const rotated = await runTask("keys", dir, ["rotate"]);
  assert.equal(rotated.code, 0, rotated.stderr);
  // A plain start keeps EdDSA.
  await withServer({ dir, port }, (server) => {
    assert.match(server.stderr(), /\(EdDSA,/);
    return Promise.resolve();
  });
  // A variable that differs from .env is said, not silently used.
  await withServer({ dir, env: { JWT_ALG: "ES256" } }, (server) => {
    assert.match(
      server.stderr(),
      /Note: JWT_ALG=ES256 \(\.env: EdDSA\) from the environment overrides \.env/,
    );
    return Promise.resolve();
  });
});

test("no ISSUER: the issuer follows the port, and the start-up line says to set it", async () => {
  await using scratch = await scratchDir();
  await withServer(
    { dir: scratch.path, env: { BOOTSTRAP_PASSWORD: BOOTSTRAP } },
    async (server) => {
      const expected = `http://localhost:${server.port}`;
      assert.match(server.stderr(), /set ISSUER to the public URL for production/);
      const metadata = await getJson(`${server.url}/.well-known/oauth-authorization-server`);
      assert.equal(metadata.body.issuer, expected);
      assert.equal(metadata.body.jwks_uri, `${expected}/.well-known/jwks.json`);
      const login = await postJson(`${server.url}/login`, {
        user_id: "admin",
        password: BOOTSTRAP,
      });
      const payload = JSON.parse(atob(login.body.token.split(".")[1]));
      assert.equal(payload.iss, expected);
      assert.doesNotMatch(Deno.readTextFileSync(join(scratch.path, ".env")), /^ISSUER=/m);
    },
  );
});

test("a store made by `user add` before the first start still gets its admin", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  const added = await runTask("user", dir, ["add", "ada"], { stdin: `${PASSWORD}\n` });
  assert.equal(added.code, 0, added.stderr);
  await withServer({ dir, env: { BOOTSTRAP_PASSWORD: BOOTSTRAP } }, async (server) => {
    // A store with users and no admin gets one, but a password set long ago (or shared) in the
    // environment must not become an admin's quietly: one loud line, naming what to do.
    const warnings = server.stderr().split("\n").filter((line) => /admin/.test(line));
    assert.equal(warnings.length, 1, server.stderr());
    assert.match(
      warnings[0]!,
      /^Warning: created user "admin" with the password from BOOTSTRAP_PASSWORD in a store that already has users .*deno task user passwd admin/,
    );
    assert.ok(!warnings[0]!.includes(BOOTSTRAP), "the password itself is not shown");
    const login = await postJson(`${server.url}/login`, { user_id: "admin", password: BOOTSTRAP });
    assert.equal(login.status, 200);
    const users = await getJson(`${server.url}/admin/users`, login.body.token);
    assert.deepEqual(users.body.users.map((u: { user_id: string }) => u.user_id).sort(), [
      "ada",
      "admin",
    ]);
  });
});

test("no runtime warning on any route (OPTIONS, bodiless and chunked POSTs)", async () => {
  await using scratch = await scratchDir();
  await withServer({
    dir: scratch.path,
    env: { BOOTSTRAP_PASSWORD: BOOTSTRAP, CORS_ORIGINS: "https://app.example" },
  }, async (server) => {
    for (const path of ["/login", "/refresh", "/me", "/admin/users", "/oauth/token", "/x"]) {
      await (await fetch(`${server.url}${path}`, { method: "OPTIONS" })).body?.cancel();
      await (await fetch(`${server.url}${path}`, {
        method: "OPTIONS",
        headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST" },
      })).body?.cancel();
      await (await fetch(`${server.url}${path}`, { method: "POST" })).body?.cancel();
    }
    // A body without Content-Length (a stream is sent chunked).
    const chunked = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: ReadableStream.from([new TextEncoder().encode('{"user_id":"admin","password":"')])
        .pipeThrough(
          new TransformStream({
            flush: (c) => c.enqueue(new TextEncoder().encode(`${BOOTSTRAP}"}`)),
          }),
        ),
    });
    assert.equal(chunked.status, 200, await chunked.text());
    await new Promise((r) => setTimeout(r, 200));
    const lines = server.stderr().trim().split("\n");
    assert.deepEqual(
      lines.filter((l) => !/^(Wrote \.env|Created user|Auth server listening)/.test(l)),
      [],
      server.stderr(),
    );
  });
});

test("CLI: per-command help, one form for usage errors, exit codes of the table", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  for (
    const [task, command] of [
      ["keys", "rotate"],
      ["keys", "list"],
      ["keys", "retire"],
      [
        "user",
        "add",
      ],
      ["user", "roles"],
      ["client", "add"],
      ["client", "rotate-secret"],
    ] as const
  ) {
    const help = await runTask(task, dir, [command, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^Usage: deno task ${task} ${command}\\b`), help.stdout);
  }
  const general = await runTask("user", dir, ["--help"]);
  assert.match(general.stdout, /user_id is 1 to 128 characters/);
  assert.match(general.stdout, /password\s+is 8 to 1024 characters/);
  const usage = [
    ["user", ["roles", "ada"]],
    ["user", ["show"]],
    ["user", ["add", "--bogus"]],
    ["keys", ["retire"]],
    ["client", ["add"]],
    ["user", ["frob"]],
  ] as const;
  for (const [task, args] of usage) {
    const result = await runTask(task, dir, [...args]);
    assert.equal(result.code, 2, `${task} ${args.join(" ")}: ${result.stderr}`);
    assert.match(
      result.stderr,
      // The first command in the fresh directory creates its .env and store, and says so first.
      new RegExp(`^(Created \\S+/\\.env .*\\n)?Error: [^\\n]+\\nUsage: deno task ${task} `),
    );
    assert.doesNotMatch(result.stderr, /"--|'--/);
  }
  for (const alg of ["FOO", "HS256"]) {
    const result = await runTask("keys", dir, ["rotate", "--alg", alg]);
    assert.equal(result.code, 5, `keys rotate --alg ${alg}: ${result.stderr}`);
  }
});
