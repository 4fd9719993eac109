/**
 * Issue 20, end to end: two server processes on one Deno KV file (several instances on one
 * machine, or a rolling restart's overlap) under mixed load, refresh chains hopping between the
 * two and a login loop on each, answer no 5xx: SQLite's transient "database is locked" is retried
 * inside the store, not turned into 503 `unavailable`.
 *
 * `MIXED_LOAD_SECONDS` lengthens the run (the issue measured 15 s); the suite's default is shorter
 * and still failed on 2.19.0's code (see the issue 20 KV notes).
 */
import assert from "node:assert/strict";
import { dirWithUsers, startServer } from "./support.ts";
import { runMixedLoad, serverErrors, total } from "./mixed_load.ts";
import {
  ENV as ENV_PERMISSION,
  needs,
  NET,
  READ,
  RUN_DENO,
  WRITE,
} from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO, ENV_PERMISSION);

// Read only where permitted: `deno test` as typed grants no env access (the test is then skipped).
const SECONDS = Number(
  (Deno.permissions.querySync({ name: "env", variable: "MIXED_LOAD_SECONDS" }).state === "granted"
    ? Deno.env.get("MIXED_LOAD_SECONDS")
    : undefined) ?? "6",
);

const ENV = {
  LOGIN_LIMIT_PER_CLIENT: "1000000/1m",
  LOGIN_LIMIT_PER_ACCOUNT: "1000000/1m",
  REFRESH_LIMIT_PER_CLIENT: "1000000/1m",
  LOG_LEVEL: "warn",
};

test("two processes on one KV file, mixed load: no 5xx", async () => {
  await using scratch = await dirWithUsers([
    { id: "ada", roles: ["user"] },
    { id: "bea", roles: ["user"] },
  ]);
  const first = await startServer({ dir: scratch.path, env: ENV });
  let second;
  try {
    second = await startServer({ dir: scratch.path, env: ENV });
    const result = await runMixedLoad({
      urls: [first.url, second.url],
      durationMs: SECONDS * 1000,
      chains: 8,
      loginUser: "ada",
      chainUser: "bea",
    });
    console.log(JSON.stringify(result));
    const failures = (first.stdout() + second.stdout()).split("\n")
      .filter((line) => line.includes('"store_failed"')).join("\n");
    assert.equal(result.transportErrors, 0);
    assert.ok(total(result.logins) > 0 && total(result.refreshes) > 0, JSON.stringify(result));
    assert.equal(serverErrors(result.logins), 0, `${JSON.stringify(result)}\n${failures}`);
    assert.equal(serverErrors(result.refreshes), 0, `${JSON.stringify(result)}\n${failures}`);
    // Nothing else refuses a refresh either: a chain's token is always its session's current one.
    assert.deepEqual(Object.keys(result.refreshes), ["200"], JSON.stringify(result));
  } finally {
    const statuses = await Promise.all([first.stop(), second?.stop()]);
    for (const status of statuses) if (status) assert.equal(status.code, 0);
  }
});
