/**
 * `DATABASE_URL` with several hosts (libpq's failover list) is refused at start, in one line that
 * says why and what to do instead; and the driver behaviour that is the reason is pinned here, so
 * that a driver upgrade that fixes it makes this test fail and the refusal gets revisited.
 *
 * @module
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { ConfigError } from "../../src/config/config_error.ts";
import { parseConfig } from "../../src/config/parse_config.ts";
import { databaseUrlProblem, MULTI_HOST_PROBLEM } from "../../src/store/database_url.ts";
import { needs, NET } from "../helpers/permissions.ts";

const SECRET_KEY = "k".repeat(20) + "0123456789abcdefghij";

Deno.test("a DATABASE_URL naming several hosts is refused, in every spelling the driver reads as several", () => {
  for (
    const url of [
      "postgres://h1:5432,h2:5432/auth?target_session_attrs=read-write",
      "postgresql://app:secret@h1,h2/auth",
      "postgres://app@h1%2Ch2/auth", // the driver percent-decodes the host before splitting it
      "postgres://[::1]:5432,[::2]:5432/auth",
    ]
  ) {
    assert.equal(databaseUrlProblem(url), MULTI_HOST_PROBLEM, url);
  }
  assert.match(MULTI_HOST_PROBLEM, /hot standby/);
  assert.match(MULTI_HOST_PROBLEM, /waits forever/);
  assert.match(MULTI_HOST_PROBLEM, /PgBouncer|virtual IP/);
});

Deno.test("one host, with or without a target_session_attrs that refuses a read-only server, is accepted", () => {
  assert.equal(databaseUrlProblem("postgres://app:p,w@db:5432/auth"), undefined); // a comma in a password
  assert.equal(databaseUrlProblem("postgres://db/auth?target_session_attrs=read-write"), undefined);
  assert.equal(databaseUrlProblem("postgres://db/auth?target_session_attrs=primary"), undefined);
  // `any` throws inside the driver; the read-only modes would send writes nowhere.
  for (const attrs of ["any", "read-only", "standby", "prefer-standby"]) {
    assert.match(
      databaseUrlProblem(`postgres://db/auth?target_session_attrs=${attrs}`)!,
      /target_session_attrs=.*read-write or primary/,
    );
  }
});

Deno.test("the start-up check names DATABASE_URL and never echoes the password", () => {
  assert.throws(
    () => parseConfig({ SECRET_KEY, DATABASE_URL: "postgres://app:hunter2@h1,h2/auth" }),
    (e: unknown) =>
      e instanceof ConfigError && /DATABASE_URL/.test(e.message) &&
      /several hosts/.test(e.message) && !e.message.includes("hunter2"),
  );
});

/** A loopback port nothing listens on (taken and released at once). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Does `sql`'s first query settle (either way) within `ms`? */
async function settlesWithin(sql: postgres.Sql, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = sql`select 1`.then(() => true, () => true);
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  const result = await Promise.race([settled, late]);
  clearTimeout(timer);
  return result;
}

needs(NET)({
  name:
    "why: with every listed host down, the driver's query never settles (porsager/postgres#1174); " +
    "when this fails, the driver was fixed: revisit the refusal",
  // The driver's reconnect loop outlives the test by design of the bug; the pools are ended.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const [a, b] = [closedPort(), closedPort()];
    const options = { connect_timeout: 1, max: 1, onnotice: () => {} };
    const one = postgres(`postgres://postgres@127.0.0.1:${a}/postgres`, options);
    const two = postgres(`postgres://postgres@127.0.0.1:${a},127.0.0.1:${b}/postgres`, options);
    try {
      assert.equal(await settlesWithin(one, 1_500), true, "one closed host: refused at once");
      assert.equal(
        await settlesWithin(two, 1_500),
        false,
        "two closed hosts: no answer past connect_timeout (1 s)",
      );
    } finally {
      await Promise.all([one.end({ timeout: 0 }), two.end({ timeout: 0 })]);
    }
  },
});
