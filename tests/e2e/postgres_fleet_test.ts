/**
 * Issue 20, end to end: three real server processes on one PostgreSQL database (a fresh
 * database on `TEST_DATABASE_URL`'s server, dropped after). A refresh token spent on one and
 * replayed on another after the grace window ends the session on every instance, and so does one
 * an instance remembers rotating after another instance moved the chain on; `keys rotate`
 * reaches all three with no signal; `kill -9` of the whole fleet loses no user and no live
 * session; with `DATABASE_URL` set no KV file is created, by the server or the CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openPool } from "../../src/store/pg_client.ts";
import { quoteIdent } from "../../src/store/pg_migrations.ts";
import { inCi, PG_NEEDS, testDatabaseUrl } from "../store/engines.ts";
import { lacking, needs, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";
import {
  assertError,
  dirWithUsers,
  getJson,
  loginOk,
  PASSWORD,
  postJson,
  refresh,
  refreshOk,
  type RunningServer,
  runTask,
  startServer,
  waitFor,
} from "./support.ts";

const NEEDED = [...PG_NEEDS, READ, WRITE, RUN_DENO];
/** The fleet's `MAX_SESSIONS_PER_USER`. */
const CAP = 10;
const test = needs(...NEEDED);
const url = testDatabaseUrl();
if (!url && !inCi && lacking(NEEDED).length === 0) {
  console.log("PostgreSQL fleet test skipped: TEST_DATABASE_URL is unset");
}

async function jwksKids(server: { url: string }): Promise<string[]> {
  const answer = await getJson(`${server.url}/.well-known/jwks.json`);
  return answer.body.keys.map((k: { kid: string }) => k.kid).sort();
}

/** The `store_failed` lines a server logged: what a 5xx was, when a step fails. */
function storeFailures(server: RunningServer): string {
  return (server.stdout() + server.stderr()).split("\n")
    .filter((line) => line.includes('"store_failed"')).join("\n");
}

test({
  name: "three instances on one PostgreSQL database behave as one server",
  ignore: !url && !inCi,
  fn: async (t) => {
    if (!url) {
      throw new Error("TEST_DATABASE_URL is unset, and CI is set: PostgreSQL must be tested");
    }
    const database = `auth_e2e_${Date.now().toString(36)}_${Deno.pid}`;
    const admin = openPool({ url, poolSize: 1 });
    await admin.unsafe(`CREATE DATABASE ${quoteIdent(database)}`);
    const target = new URL(url);
    target.pathname = `/${database}`;
    const env = {
      DATABASE_URL: target.href,
      DATABASE_POOL_SIZE: "4",
      JWT_ALG: "EdDSA",
      REFRESH_GRACE_SECONDS: "1",
      LOGIN_LIMIT_PER_CLIENT: "1000/1m",
      LOGIN_LIMIT_PER_ACCOUNT: "1000/1m",
      // The load step refreshes far faster than a client would: the per-address limit is not
      // what it tests.
      REFRESH_LIMIT_PER_CLIENT: "100000/1m",
      // Low enough that the load step's logins of one user pass it even on a loaded machine (28
      // in 5 s at a load average of 6 on 2 cores), so that logins across the three instances
      // end bob's oldest sessions as they go (issue 24: one store commit each, no 503 busy).
      // ada holds at most 10 live sessions until the last step: her 8 chains are never ended.
      MAX_SESSIONS_PER_USER: String(CAP),
    };
    const fleet: RunningServer[] = [];
    try {
      await using scratch = await dirWithUsers([
        { id: "ada", roles: ["user"] },
        { id: "bob", roles: ["user"] },
      ], env);
      const dir = scratch.path;
      const startFleet = async () => {
        fleet.length = 0;
        for (let i = 0; i < 3; i++) fleet.push(await startServer({ dir, env }));
      };
      await startFleet();
      const [a, b, c] = fleet as [RunningServer, RunningServer, RunningServer];

      await t.step(
        "no KV file: the CLI and the servers keep everything in PostgreSQL",
        async () => {
          await assert.rejects(() => Deno.stat(join(dir, "data", "auth.kv")), Deno.errors.NotFound);
          assert.match(a.stdout(), /"event":"store_opened","engine":"PostgreSQL at /);
          assert.doesNotMatch(a.stdout() + a.stderr(), /hunter|password=/);
        },
      );

      await t.step(
        "a spent token replayed on another instance ends the session everywhere",
        async () => {
          const first = await loginOk(a, "ada");
          const second = await refreshOk(b, first.refresh_token);
          await new Promise((r) => setTimeout(r, 1200)); // past REFRESH_GRACE_SECONDS
          assertError(await refresh(c, first.refresh_token), 401, "refresh_token_reused");
          for (const server of fleet) {
            assertError(await refresh(server, second.refresh_token), 401);
          }
        },
      );

      await t.step(
        "mixed load hopping between all three for 5 s: no 5xx, no chain broken, logins past the cap",
        async () => {
          const chains = await Promise.all(
            Array.from(
              { length: 8 },
              async (_, i) => (await loginOk(fleet[i % 3]!, "ada")).refresh_token,
            ),
          );
          const statuses: number[] = [];
          /** The body of every 5xx login, for the failure message. */
          const failed: string[] = [];
          let loggedIn = 0;
          const until = Date.now() + 5000;
          const hop = async (chain: number) => {
            let token = chains[chain]!;
            for (let i = chain; Date.now() < until; i++) {
              const answer = await refresh(fleet[i % 3]!, token);
              statuses.push(answer.status);
              assert.equal(answer.status, 200, JSON.stringify(answer.body));
              token = answer.body.refresh_token;
            }
          };
          const logins = async (server: RunningServer) => {
            while (Date.now() < until) {
              // Another user: ada's login loop would push her chains' sessions out under the
              // per-user session cap (MAX_SESSIONS_PER_USER), which is not what this step tests.
              const answer = await postJson(`${server.url}/login`, {
                user_id: "bob",
                password: PASSWORD,
              });
              statuses.push(answer.status);
              if (answer.status >= 500) failed.push(JSON.stringify(answer.body));
              if (answer.status === 200) loggedIn++;
            }
          };
          await Promise.all([
            ...chains.map((_, i) => hop(i)),
            ...fleet.map(logins),
          ]);
          const failures = statuses.filter((status) => status >= 500);
          assert.deepEqual(
            failures,
            [],
            `${failures.length} of ${statuses.length} answers were 5xx: ${failed.join(", ")}\n` +
              fleet.map((server) => storeFailures(server)).join("\n"),
          );
          assert(statuses.length > 50, `only ${statuses.length} answers`);
          assert(loggedIn > CAP, `only ${loggedIn} logins of bob: the cap was not the path`);
          // Across the three instances, no user ever holds more than the cap.
          const db = openPool({ url: target.href, poolSize: 1 });
          try {
            const rows = await db<{ live: number }[]>`
              SELECT count(*)::int AS live FROM sessions
              WHERE NOT revoked AND expires_at > ${Date.now()} GROUP BY user_uid`;
            assert(rows.every((row) => row.live <= CAP), JSON.stringify(rows));
          } finally {
            await db.end({ timeout: 5 });
          }
        },
      );

      await t.step(
        "a chain refreshed twice on one instance, then elsewhere: the remembered rotation never judges",
        async () => {
          // Instance a rotates the chain twice (the second commits on what a remembers, without a
          // read); b moves it on; a then sees b's token and must read, not call it a replay.
          const first = await loginOk(a, "ada");
          const second = await refreshOk(a, first.refresh_token);
          const third = await refreshOk(a, second.refresh_token);
          const fourth = await refreshOk(b, third.refresh_token);
          const fifth = await refreshOk(a, fourth.refresh_token);
          // The token a remembered last, presented to a after b and a moved on, past the grace
          // window: a replay, which ends the session on every instance.
          await new Promise((r) => setTimeout(r, 1200)); // past REFRESH_GRACE_SECONDS
          assertError(await refresh(a, third.refresh_token), 401, "refresh_token_reused");
          for (const server of fleet) assertError(await refresh(server, fifth.refresh_token), 401);
        },
      );

      await t.step("keys rotate reaches all three with no signal", async () => {
        const before = await jwksKids(a);
        const rotated = await runTask("keys", dir, ["rotate"], { env });
        assert.equal(rotated.code, 0, rotated.stderr);
        for (const server of fleet) {
          await waitFor(
            "the new key on every instance",
            // The EdDSA key and the RS256 ID-token key rotated with it.
            async () => (await jwksKids(server)).length === before.length + 2,
            5000,
          );
        }
        assert.deepEqual(await jwksKids(b), await jwksKids(c));
      });

      await t.step(
        "connections killed under the fleet: 503 with Retry-After at worst, then it recovers",
        async () => {
          let token = (await loginOk(a, "ada")).refresh_token;
          await admin`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = ${database} AND pid <> pg_backend_pid()`;
          for (const server of fleet) {
            const answer = await refresh(server, token);
            if (answer.status === 200) {
              token = answer.body.refresh_token;
              continue;
            }
            assertError(answer, 503, "unavailable");
            assert.ok(answer.headers.get("retry-after"), "Retry-After");
          }
          for (const server of fleet) {
            await waitFor(
              "the pool reconnected",
              async () => (await getJson(`${server.url}/readyz`)).status === 200,
              5000,
            );
          }
          await refreshOk(c, token);
        },
      );

      const live = await loginOk(b, "ada");
      await t.step("kill -9 of the whole fleet loses no user and no live session", async () => {
        for (const server of fleet) await server.stop("SIGKILL");
        await startFleet();
        const renewed = await refreshOk(fleet[2]!, live.refresh_token);
        await refreshOk(fleet[0]!, renewed.refresh_token);
        await loginOk(fleet[1]!, "ada");
        await assert.rejects(() => Deno.stat(join(dir, "data", "auth.kv")), Deno.errors.NotFound);
      });
    } finally {
      for (const server of fleet) await server.stop("SIGKILL").catch(() => {});
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    }
  },
});
