/**
 * Issue 20, moving between engines: an install that started on the Deno KV file exports
 * (`deno task store export`) and imports into PostgreSQL (`deno task store import`); then a
 * server on PostgreSQL logs the user in with the old password, refreshes a session that started
 * on KV, and publishes the same signing key. A user who enrolled TOTP on KV is still asked for
 * the second step on PostgreSQL (the password alone does not sign them in) and passes it with a
 * code from an authenticator app (npm:otpauth). Every user keeps its uid, so its OpenID Connect
 * `sub`. An import into a store that is not empty refuses.
 */
import assert from "node:assert/strict";
import { oidcSubject } from "../../src/oidc/subject.ts";
import { openPool } from "../../src/store/pg_client.ts";
import { quoteIdent } from "../../src/store/pg_migrations.ts";
import { inCi, PG_NEEDS, testDatabaseUrl } from "../store/engines.ts";
import { needs, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";
import { runDeno, taskCommand } from "../helpers/server_process.ts";
import { Authenticator } from "../helpers/mfa.ts";
import { type UserRecord, userUid } from "../../src/users/user_store.ts";
import {
  decodeJwt,
  dirWithUsers,
  getJson,
  loginOk,
  PASSWORD,
  postJson,
  refreshOk,
  withServer,
} from "./support.ts";

const url = testDatabaseUrl();
/** The database, the scratch directory, and the CLI and server processes. */
const test = needs(...PG_NEEDS, READ, WRITE, RUN_DENO);

async function store(dir: string, args: string[], env: Record<string, string>, stdin?: string) {
  const task = taskCommand("store");
  return await runDeno(dir, [...task.args, ...args], {
    env: { ...task.env, ...env },
    ...(stdin !== undefined ? { stdin } : {}),
  });
}

/** Enrols TOTP for `userId` over HTTP; the authenticator app holding the secret. */
async function enrolTotp(server: { url: string }, userId: string): Promise<Authenticator> {
  const auth = { Authorization: `Bearer ${(await loginOk(server, userId)).token}` };
  const started = await postJson(`${server.url}/me/mfa/totp`, { password: PASSWORD }, auth);
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const app = new Authenticator(started.body.otpauth_uri);
  const confirm = { code: app.code(Date.now()) };
  const confirmed = await postJson(`${server.url}/me/mfa/totp/confirm`, confirm, auth);
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  return app;
}

/** Each exported user's OpenID subject, by user id. */
function subjects(exported: string): Map<string, string> {
  const users = exported.trim().split("\n").slice(1).map((l) => JSON.parse(l))
    .filter((entry) => entry.kind === "user").map((entry) => entry.record as UserRecord);
  return new Map(users.map((user) => [user.id, oidcSubject(userUid(user))]));
}

async function kids(server: { url: string }): Promise<string[]> {
  return (await getJson(`${server.url}/.well-known/jwks.json`)).body.keys.map((
    k: { kid: string },
  ) => k.kid);
}

test({
  name:
    "a KV install moves to PostgreSQL: same passwords, same sessions, same keys, same second factors",
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
      await using scratch = await dirWithUsers(
        [{ id: "ada", roles: ["user"] }, { id: "eve", roles: ["user"] }],
        kvEnv,
      );
      const dir = scratch.path;
      const before = await withServer({ dir, env: kvEnv }, async (server) => ({
        pair: await loginOk(server, "ada"),
        kids: await kids(server),
        app: await enrolTotp(server, "eve"),
      }));

      const exported = await store(dir, ["export"], kvEnv);
      assert.equal(exported.code, 0, exported.stderr);
      const kinds = exported.stdout.trim().split("\n").slice(1).map((l) => JSON.parse(l).kind);
      assert.deepEqual(
        new Set(kinds),
        new Set(["user", "key_set", "key_in_use", "mfa", "session"]),
      );

      const imported = await store(dir, ["import"], pgEnv, exported.stdout);
      assert.equal(imported.code, 0, imported.stderr);
      // ada, eve and the admin the first start created; eve's factor; ada's and eve's sessions.
      assert.match(
        imported.stderr,
        new RegExp(
          // Two marks: the EdDSA key and the RS256 ID-token key, both signing.
          "Imported into PostgreSQL at .*: 3 users, 0 clients, 1 key set\\(s\\), 2 in-use marks, " +
            "1 user\\(s\\) with second factors, 0 passkey\\(s\\), 2 live sessions",
        ),
      );
      // Every user keeps its uid, so its OpenID subject (a relying party's key for it).
      const movedBack = await store(dir, ["export"], pgEnv);
      assert.equal(movedBack.code, 0, movedBack.stderr);
      assert.deepEqual(subjects(movedBack.stdout), subjects(exported.stdout));
      assert.equal(subjects(exported.stdout).size, 3);

      const again = await store(dir, ["import"], pgEnv, exported.stdout);
      assert.equal(again.code, 5, "a second import into a store that is not empty refuses");
      assert.match(again.stderr, /not empty/);

      await withServer({ dir, env: pgEnv }, async (server) => {
        assert.deepEqual(await kids(server), before.kids, "the same signing key");
        await loginOk(server, "ada"); // the password hash moved: no reset
        await refreshOk(server, before.pair.refresh_token); // the session moved
        // eve's factor moved: the password alone is not enough, the app's code is.
        const login = await postJson(`${server.url}/login`, { user_id: "eve", password: PASSWORD });
        assert.equal(login.status, 403, JSON.stringify(login.body));
        assert.equal(login.body.code, "mfa_required");
        assert.equal(login.body.token, undefined);
        // The next step's code (one step of drift is accepted); the confirm on KV spent this one.
        const code = before.app.code(Date.now() + 30_000);
        const passed = await postJson(`${server.url}/login/mfa`, {
          mfa_token: login.body.mfa_token,
          code,
        });
        assert.equal(passed.status, 200, JSON.stringify(passed.body));
        assert.deepEqual(decodeJwt(passed.body.token).payload.amr, ["pwd", "otp"]);
      });
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    }
  },
});
