/**
 * Issue 24 items 4 and 5: the store work of the hot endpoints, call by call. `POST /refresh` is
 * one read and one commit (the rotation): its per-client limit (`REFRESH_LIMIT_PER_CLIENT`) is
 * counted in this instance's memory and costs no store call, not even when it refuses.
 * `POST /login` spends its limits in one commit, reads the user, gives the account's attempt
 * back, reads the user's second factors, and stores the session: nothing else (pinned here, so
 * that a change to this list is a choice: docs/benchmarks.md says what could still share the
 * session's commit), also at `MAX_SESSIONS_PER_USER`, where the session's commit ends the
 * user's oldest session itself.
 */
import assert from "node:assert/strict";
import type { Stores } from "../../src/store/stores.ts";
import { addUser, login, makeApp } from "../helpers/app.ts";

/** `store` with every method call recorded in `calls` as `name.method`. */
function counted<T extends object>(name: string, store: T, calls: string[]): T {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(`${name}.${String(prop)}`);
        return value.apply(target, args);
      };
    },
  });
}

async function countingApp(vars: Record<string, string> = {}) {
  const calls: string[] = [];
  const t = await makeApp(vars, undefined, (stores: Stores): Stores => ({
    ...stores,
    users: counted("users", stores.users, calls),
    sessions: counted("sessions", stores.sessions, calls),
    counters: counted("counters", stores.counters, calls),
    clients: counted("clients", stores.clients, calls),
    mfa: counted("mfa", stores.mfa, calls),
  }));
  return { t, calls };
}

Deno.test("POST /refresh: one read and one commit, then one commit; the per-client limit costs no store call", async () => {
  const { t, calls } = await countingApp({ REFRESH_LIMIT_PER_CLIENT: "2/1m" });
  using _ = t;
  await addUser(t, "ada", "correct horse battery");
  let refreshToken = (await login(t, "ada", "correct horse battery")).refresh_token;
  // The first refresh reads the session; the next commits on the record this instance rotated.
  for (const expected of [["sessions.getSession"], []]) {
    calls.length = 0;
    const res = await t.post("/refresh", { refresh_token: refreshToken });
    assert.equal(res.status, 200);
    refreshToken = (await res.json()).refresh_token;
    assert.deepEqual(calls, [...expected, "sessions.commitRotation"]);
  }
  // Over the limit: refused from memory, before the session is even read.
  calls.length = 0;
  const refused = await t.post("/refresh", { refresh_token: refreshToken });
  assert.equal(refused.status, 429);
  assert.deepEqual(calls, []);
});

Deno.test("POST /login: the limits, the user, the give-back, the second factors, the session", async () => {
  const { t, calls } = await countingApp();
  using _ = t;
  await addUser(t, "ada", "correct horse battery");
  await login(t, "ada", "correct horse battery"); // the first login of a user may differ
  calls.length = 0;
  await login(t, "ada", "correct horse battery");
  assert.deepEqual(calls, [
    "counters.take",
    "users.getUser",
    "counters.giveBack",
    "mfa.getFactors",
    "sessions.createSession",
  ]);
});

Deno.test("POST /login at the session cap: the same calls; the session commit ends the oldest", async () => {
  const { t, calls } = await countingApp({ MAX_SESSIONS_PER_USER: "2" });
  using _ = t;
  await addUser(t, "ada", "correct horse battery");
  for (let i = 0; i < 2; i++) await login(t, "ada", "correct horse battery");
  calls.length = 0;
  await login(t, "ada", "correct horse battery"); // at the cap: ends the oldest
  // No listing, no reading of every session, no revocation commit, no second try.
  assert.deepEqual(calls, [
    "counters.take",
    "users.getUser",
    "counters.giveBack",
    "mfa.getFactors",
    "sessions.createSession",
  ]);
  assert(t.logLines.some((line) => line.includes("session limit")));
});
