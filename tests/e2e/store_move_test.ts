/**
 * Issue 20, moving between engines: an install that started on the Deno KV file exports
 * (`deno task store export`) and imports into PostgreSQL (`deno task store import`); then a
 * server on PostgreSQL logs the user in with the old password, refreshes a session that started
 * on KV, and publishes the same signing key. An import into a store that is not empty refuses.
 */
import assert from "node:assert/strict";
import { openPool } from "../../src/store/pg_client.ts";
import { quoteIdent } from "../../src/store/pg_migrations.ts";
import { inCi, testDatabaseUrl } from "../store/engines.ts";
import { runDeno, taskCommand } from "../helpers/server_process.ts";
import { dirWithUsers, getJson, loginOk, refreshOk, withServer } from "./support.ts";

const url = testDatabaseUrl();

async function store(dir: string, args: string[], env: Record<string, string>, stdin?: string) {
  const task = taskCommand("store");
  return await runDeno(dir, [...task.args, ...args], {
    env: { ...task.env, ...env },
    ...(stdin !== undefined ? { stdin } : {}),
  });
}

async function kids(server: { url: string }): Promise<string[]> {
  return (await getJson(`${server.url}/.well-known/jwks.json`)).body.keys.map((
    k: { kid: string },
  ) => k.kid);
}

Deno.test({
  name: "a KV install moves to PostgreSQL: same passwords, same sessions, same keys",
  ignore: !url && !inCi,
  fn: async () => {
    if (!url) {
      throw new Error("TEST_DATABASE_URL is unset, and CI is set: PostgreSQL must be tested");
    }
    const database = `auth_move_${Date.now().toString(36)}_${Deno.pid}`;
    const admin = openPool({ url, poolSize: 1 });
    await admin.unsafe(`CREATE DATABASE ${quoteIdent(database)}`);
    const target = new URL(url);
    target.pathname = `/${database}`;
    const kvEnv = { JWT_ALG: "EdDSA" };
    const pgEnv = { ...kvEnv, DATABASE_URL: target.href };
    try {
      await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }], kvEnv);
      const dir = scratch.path;
      const before = await withServer({ dir, env: kvEnv }, async (server) => ({
        pair: await loginOk(server, "ada"),
        kids: await kids(server),
      }));

      const exported = await store(dir, ["export"], kvEnv);
      assert.equal(exported.code, 0, exported.stderr);
      const kinds = exported.stdout.trim().split("\n").slice(1).map((l) => JSON.parse(l).kind);
      assert.deepEqual(new Set(kinds), new Set(["user", "key_set", "key_in_use", "session"]));

      const imported = await store(dir, ["import"], pgEnv, exported.stdout);
      assert.equal(imported.code, 0, imported.stderr);
      // ada and the admin the first start created.
      assert.match(
        imported.stderr,
        /Imported into PostgreSQL at .*: 2 users, 0 clients, 1 key set\(s\), 1 in-use marks, 1 live sessions/,
      );
      const again = await store(dir, ["import"], pgEnv, exported.stdout);
      assert.equal(again.code, 5, "a second import into a store that is not empty refuses");
      assert.match(again.stderr, /not empty/);

      await withServer({ dir, env: pgEnv }, async (server) => {
        assert.deepEqual(await kids(server), before.kids, "the same signing key");
        await loginOk(server, "ada"); // the password hash moved: no reset
        await refreshOk(server, before.pair.refresh_token); // the session moved
      });
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    }
  },
});
