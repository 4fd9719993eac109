/**
 * Issue 24: `GET /me`'s fast path (`http/me_fast_path.ts`) answers a repeat only while the route
 * itself would: a revoked session, an expired token, a key gone from the ring, another header
 * spelling, another method or path all fall through to Hono, at the instant Hono refuses.
 */
import assert from "node:assert/strict";
import type { createApp } from "../../src/app.ts";
import { type KeyRing, loadKeyRing } from "../../src/crypto/keys.ts";
import { addUser, login, makeApp, otherInstance, type TestApp } from "../helpers/app.ts";
import { bearer, served } from "../helpers/me_fast_path.ts";

const PASSWORD = "correct horse battery";

/** A token of `ada` whose `/me` the fast path now answers. */
async function polled(t: TestApp, roles = ["user"]): Promise<string> {
  await addUser(t, "ada", PASSWORD, roles);
  const { token } = await login(t, "ada", PASSWORD);
  await expectAnswer(t.app, token, false, 200);
  await expectAnswer(t.app, token, true, 200);
  return token;
}

/** `GET /me` with `token` is answered by the fast path or not, with `status`. */
async function expectAnswer(
  app: ReturnType<typeof createApp>,
  token: string,
  fast: boolean,
  status: number,
  scheme?: string,
): Promise<Record<string, unknown>> {
  const answer = await served(app, "/me", bearer(token, scheme));
  const body = await answer.res.json();
  assert.deepEqual([answer.fast, answer.res.status], [fast, status], JSON.stringify(body));
  return body;
}

Deno.test("POST /logout: the next /me falls through and is refused", async () => {
  using t = await makeApp();
  const token = await polled(t);
  const logout = await served(t.app, "/logout", { method: "POST", ...bearer(token) });
  assert.equal(logout.res.status, 204);
  await expectAnswer(t.app, token, false, 401);
  await expectAnswer(t.app, token, false, 401);
});

Deno.test("an admin disabling the user (PATCH /admin/users): the next /me is refused", async () => {
  using t = await makeApp();
  const token = await polled(t);
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  const { token: admin } = await login(t, "root", "root password 1");
  const disable = await served(t.app, "/admin/users/ada", {
    method: "PATCH",
    headers: { ...bearer(admin).headers, "Content-Type": "application/json" },
    body: JSON.stringify({ disabled: true }),
  });
  assert.equal(disable.res.status, 200);
  await expectAnswer(t.app, token, false, 401);
});

Deno.test("a password change ends the user's other sessions: their /me is refused at once", async () => {
  using t = await makeApp();
  const other = await polled(t);
  const { token: current } = await login(t, "ada", PASSWORD);
  const change = await served(t.app, "/me/password", {
    method: "POST",
    headers: { ...bearer(current).headers, "Content-Type": "application/json" },
    body: JSON.stringify({ current_password: PASSWORD, new_password: "a new long passphrase 42" }),
  });
  assert.equal(change.res.status, 204);
  await expectAnswer(t.app, other, false, 401);
  // The session that changed it stays (its user's epoch moved past the other one only).
  await expectAnswer(t.app, current, false, 200);
  await expectAnswer(t.app, current, true, 200);
});

Deno.test("a token at its exp falls through and is refused, the gate's entry still fresh", async () => {
  using t = await makeApp();
  const token = await polled(t);
  const ttl = t.config.tokenTtl;
  // Half a second before exp the gate's entry is stale: Hono answers and refreshes it.
  t.clock.advance(ttl - 0.5);
  await expectAnswer(t.app, token, false, 200);
  await expectAnswer(t.app, token, true, 200);
  t.clock.advance(0.5); // exp itself: the verifier's cache refuses from this millisecond
  await expectAnswer(t.app, token, false, 401);
});

Deno.test("a token whose key left the ring falls through and is refused", async () => {
  using t = await makeApp();
  // This instance's ring can be reloaded, as SIGHUP or key following does.
  let ring: KeyRing = t.keys();
  const { services, app } = otherInstance(t, () => ring);
  await services.users.add("ada", PASSWORD, ["user"]);
  const loginAnswer = await served(app, "/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: "ada", password: PASSWORD }),
  });
  const { token } = await loginAnswer.res.json();
  await expectAnswer(app, token, false, 200);
  await expectAnswer(app, token, true, 200);
  const newSecret = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
  // A new signing key, the old one kept for verification: still answered.
  ring = await loadKeyRing({
    ...t.config,
    secretKey: newSecret,
    previousSecretKeys: [t.config.secretKey],
  });
  await expectAnswer(app, token, true, 200);
  // The old key retired: refused at once, the gate's entry still fresh.
  ring = await loadKeyRing({ ...t.config, secretKey: newSecret, previousSecretKeys: [] });
  await expectAnswer(app, token, false, 401);
});

Deno.test("only the exact header the route answered is remembered", async () => {
  using t = await makeApp();
  const token = await polled(t);
  await addUser(t, "bob", PASSWORD);
  const { token: bobs } = await login(t, "bob", PASSWORD);
  // The same token spelled otherwise: Hono answers (it accepts these), the memo does not.
  for (const scheme of ["bearer ", "BEARER ", "Bearer  "]) {
    await expectAnswer(t.app, token, false, 200, scheme);
  }
  // Another token, a broken one, none: never ada's answer.
  const bobsAnswer = await expectAnswer(t.app, bobs, false, 200);
  assert.equal((bobsAnswer.claims as { sub: string }).sub, "bob");
  await expectAnswer(t.app, `${token.slice(0, -2)}AA`, false, 401);
  const none = await served(t.app, "/me");
  await none.res.body?.cancel();
  assert.deepEqual([none.fast, none.res.status], [false, 401]);
  // The header it answered still is.
  const body = await expectAnswer(t.app, token, true, 200);
  assert.equal((body.claims as { sub: string }).sub, "ada");
});

// A target Hono would normalize (`/a/../me`) is in tests/e2e/me_fast_path_test.ts: `new Request`
// normalizes it before the fast path could see it.
Deno.test("HEAD, POST, a query, a trailing slash, a sub-path: all Hono's", async () => {
  using t = await makeApp();
  const token = await polled(t);
  const cases: [string, RequestInit][] = [
    ["/me", { method: "HEAD", ...bearer(token) }],
    ["/me", { method: "POST", ...bearer(token) }],
    ["/me?x=1", bearer(token)],
    ["/me/", bearer(token)],
    ["/me/sessions", bearer(token)],
    ["/ME", bearer(token)],
  ];
  for (const [path, init] of cases) {
    const { fast, res } = await served(t.app, path, init);
    await res.body?.cancel();
    assert.equal(fast, false, `${init.method ?? "GET"} ${path}`);
  }
});

Deno.test("another instance's revocation: the fast path refuses once the gate's second is up", async () => {
  using a = await makeApp();
  await addUser(a, "ada", PASSWORD);
  const { token } = await login(a, "ada", PASSWORD);
  // Instance B: its own app, gate and memo, on A's store and clock.
  const { app: b } = otherInstance(a);
  await expectAnswer(b, token, false, 200);
  await expectAnswer(b, token, true, 200);
  assert.equal((await a.request("/logout", { method: "POST", ...bearer(token) })).status, 204);
  // B has not seen it yet: within the gate's second both of B's paths answer, as before.
  await expectAnswer(b, token, true, 200);
  a.clock.advance(1.001);
  await expectAnswer(b, token, false, 401);
  await expectAnswer(b, token, false, 401);
});

Deno.test("new roles: a repeat never answers the roles the body was built from", async () => {
  using t = await makeApp();
  const token = await polled(t, ["user", "editor"]);
  // A role added (one taken away would end the session): the session goes on.
  await t.services.users.update("ada", { roles: ["user", "editor", "auditor"] });
  // Another spelling goes through Hono first: the gate's entry is fresh again, with new roles.
  await expectAnswer(t.app, token, false, 200, "bearer ");
  const again = await expectAnswer(t.app, token, false, 200);
  assert.deepEqual(again.roles, ["user", "editor", "auditor"]);
  const repeat = await expectAnswer(t.app, token, true, 200);
  assert.deepEqual(repeat.roles, ["user", "editor", "auditor"]);
});
