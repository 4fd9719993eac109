/**
 * Issue 24, end to end: the values of the variables the table (src/config/variables.ts) marks
 * secret never reach the server's log, its start-up lines, a configuration error or a CLI's
 * notes, whatever the run does with them (a first-run `.env`, a bootstrap admin, `/metrics`, a
 * refused login, an override, a store that cannot be reached).
 */
import assert from "node:assert/strict";
import { type Variable, VARIABLES } from "../../src/config/variables.ts";
import { freePort } from "../helpers/server_process.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";
import { loginOk, postJson, runServerToExit, runTask, scratchDir, withServer } from "./support.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

/** Marks every sample, so that any piece of one found in the output shows. */
const MARK = "Qx9SecretSample";

/** A value of each secret variable a healthy server on Deno KV runs with. */
const SAMPLES: Record<string, string> = {
  PREVIOUS_SECRET_KEYS: `${MARK}-previous-0123456789abcdef`,
  BOOTSTRAP_PASSWORD: `${MARK}-bootstrap-password`,
  METRICS_TOKEN: `${MARK}-metrics-token-0123456789`,
};

/** Checked apart: the run that writes `.env` makes its own; a reachable PostgreSQL is not needed. */
const APART = ["SECRET_KEY", "DATABASE_URL"];

/** Every secret value this run knows of, to look for in all it printed. */
function assertNoSecret(output: string, secrets: readonly string[], what: string): void {
  assert.ok(!output.includes(MARK), `${what} shows a secret sample:\n${output}`);
  for (const secret of secrets) {
    assert.ok(!output.includes(secret), `${what} shows a secret value:\n${output}`);
  }
}

test("every secret of the table is in this test", () => {
  const secrets = (VARIABLES as readonly Variable[]).filter((v) => v.secret).map((v) => v.name);
  assert.deepEqual([...Object.keys(SAMPLES), ...APART].sort(), secrets.sort());
});

test("secret values never reach the log, the start-up lines or the CLI's notes", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  let secretKey = "";
  await withServer({ dir, env: { ...SAMPLES, LOG_LEVEL: "debug" } }, async (server) => {
    secretKey = Deno.readTextFileSync(`${dir}/.env`).match(/^SECRET_KEY=(.+)$/m)?.[1] ?? "";
    assert.ok(secretKey.length >= 32, "a first run wrote .env with a fresh SECRET_KEY");
    await loginOk(server, "admin", SAMPLES.BOOTSTRAP_PASSWORD);
    const refused = await postJson(`${server.url}/login`, {
      user_id: "admin",
      password: `${SAMPLES.BOOTSTRAP_PASSWORD}-wrong`,
    });
    assert.equal(refused.status, 401);
    const metrics = await fetch(`${server.url}/metrics`, {
      headers: { Authorization: `Bearer ${SAMPLES.METRICS_TOKEN}` },
    });
    assert.equal(metrics.status, 200);
    await metrics.body?.cancel();
    const wrongToken = await fetch(`${server.url}/metrics`, {
      headers: { Authorization: `Bearer ${SAMPLES.METRICS_TOKEN}-wrong` },
    });
    await wrongToken.body?.cancel();
    assert.notEqual(wrongToken.status, 200);
    // Let the log flush what the requests wrote.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.match(server.stdout(), /"login/, "the JSON log was read");
    assertNoSecret(server.stdout() + server.stderr(), [secretKey], "the server");
  });

  // A CLI run whose environment overrides a secret shared with it: one note naming it, no value.
  const other = `${SAMPLES.PREVIOUS_SECRET_KEYS}-other`;
  const cli = await runTask("user", dir, ["list"], {
    env: { PREVIOUS_SECRET_KEYS: other, SECRET_KEY: "" },
  });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stderr, /^Note: PREVIOUS_SECRET_KEYS from the environment overrides \.env/m);
  assertNoSecret(cli.stdout + cli.stderr, [secretKey, other], "the CLI");
});

test("a store that cannot be reached: one line, without the password of DATABASE_URL", async () => {
  await using scratch = await scratchDir();
  const password = `${MARK}-db-password`;
  const secretKey = `${MARK}-secret-key-0123456789abcdef`;
  const { code, stdout, stderr } = await runServerToExit(scratch.path, {
    SECRET_KEY: secretKey,
    DATABASE_URL: `postgres://app:${password}@127.0.0.1:${freePort()}/auth`,
  });
  assert.equal(code, 1, stderr);
  assert.ok(stderr.trim().length > 0, "it says why");
  assertNoSecret(stdout + stderr, [password, secretKey], "the failed start");
});

test("a refused secret: one configuration line that names it, without its value", async () => {
  await using scratch = await scratchDir();
  const { code, stdout, stderr } = await runServerToExit(scratch.path, {
    SECRET_KEY: `${MARK}aaaa`,
    METRICS_TOKEN: SAMPLES.METRICS_TOKEN!,
  });
  assert.equal(code, 1);
  assert.match(stderr, /^Configuration error: SECRET_KEY must be at least 32 bytes$/m);
  assertNoSecret(stdout + stderr, [], "the refusal");
});
