import assert from "node:assert/strict";
import { addUser, login, makeApp, otherInstance } from "../helpers/app.ts";

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

Deno.test("GET /me answers the verified claims and the user's current roles", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery", ["user", "editor"]);
  const { token } = await login(t, "ada", "correct horse battery", "editor");
  const res = await t.request("/me", bearer(token));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.claims.sub, "ada");
  assert.equal(body.claims.role, "editor");
  assert.equal(body.claims.iss, "https://auth.test");
  assert.equal(body.claims.exp - body.claims.iat, 1800);
  assert.equal(typeof body.claims.sid, "string");
  assert.deepEqual(body.roles, ["user", "editor"]);
});

Deno.test("GET /me refuses with RFC 6750 challenges", async (t) => {
  using app = await makeApp();
  await t.step("no token: 401 with a bare Bearer challenge", async () => {
    const res = await app.request("/me");
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("WWW-Authenticate"), 'Bearer realm="auth"');
    assert.equal((await res.json()).code, "missing_token");
  });
  await t.step("garbage token: 401 invalid_token", async () => {
    const res = await app.request("/me", bearer("a.b.c"));
    assert.equal(res.status, 401);
    assert.match(res.headers.get("WWW-Authenticate") ?? "", /error="invalid_token"/);
    assert.equal((await res.json()).code, "invalid_token");
  });
});

Deno.test("POST /logout ends the session at once, even with the token cached", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery");
  const { token, refresh_token } = await login(t, "ada", "correct horse battery");
  assert.equal((await t.request("/me", bearer(token))).status, 200); // now cached
  const out = await t.request("/logout", { method: "POST", ...bearer(token) });
  assert.equal(out.status, 204);
  assert.equal((await t.request("/me", bearer(token))).status, 401);
  const refreshed = await t.post("/refresh", { refresh_token });
  assert.equal(refreshed.status, 401);
  assert.equal((await refreshed.json()).code, "session_revoked");
});

Deno.test("POST /logout?scope=global ends every session of the user, not others'", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery");
  await addUser(t, "bob", "another good password");
  const a1 = await login(t, "ada", "correct horse battery");
  const a2 = await login(t, "ada", "correct horse battery");
  const b = await login(t, "bob", "another good password");
  const bad = await t.request("/logout?scope=everything", { method: "POST", ...bearer(a1.token) });
  assert.equal(bad.status, 400);
  const out = await t.request("/logout?scope=global", { method: "POST", ...bearer(a1.token) });
  assert.equal(out.status, 204);
  assert.equal((await t.request("/me", bearer(a1.token))).status, 401);
  assert.equal((await t.request("/me", bearer(a2.token))).status, 401);
  assert.equal((await t.request("/me", bearer(b.token))).status, 200);
});

Deno.test("POST /refresh rotates; a spent token again is refresh_token_reused", async () => {
  using t = await makeApp({ REFRESH_GRACE_SECONDS: "0" });
  await addUser(t, "ada", "correct horse battery");
  const first = await login(t, "ada", "correct horse battery");
  const res = await t.post("/refresh", { refresh_token: first.refresh_token });
  assert.equal(res.status, 200);
  const second = await res.json();
  assert.equal(second.token_type, "Bearer");
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.equal((await t.request("/me", bearer(second.token))).status, 200);

  const reused = await t.post("/refresh", { refresh_token: first.refresh_token });
  assert.equal(reused.status, 401);
  assert.equal((await reused.json()).code, "refresh_token_reused");
  // The whole session is gone: the newest refresh token and the access token too.
  assert.equal((await t.post("/refresh", { refresh_token: second.refresh_token })).status, 401);
  assert.equal((await t.request("/me", bearer(second.token))).status, 401);
});

Deno.test("POST /refresh refuses bad input with JSON 4xx", async () => {
  using t = await makeApp();
  const cases: [unknown, number, string][] = [
    [{}, 400, "validation_failed"],
    [{ refresh_token: 42 }, 400, "validation_failed"],
    [{ refresh_token: "x".repeat(600) }, 400, "validation_failed"],
    [{ refresh_token: "not-a-token" }, 401, "invalid_refresh_token"],
    [{ refresh_token: "A".repeat(43) }, 401, "invalid_refresh_token"],
  ];
  for (const [body, status, code] of cases) {
    const res = await t.post("/refresh", body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal((await res.json()).code, code);
  }
});

Deno.test("a second instance on the same store sees a revocation within one second", async () => {
  using a = await makeApp();
  await addUser(a, "ada", "correct horse battery");
  const { token } = await login(a, "ada", "correct horse battery");
  // Instance B: its own app, caches and gate, on A's KV and clock.
  const { app: b } = otherInstance(a);
  const onB = () => b.request("/me", bearer(token), { remoteAddr: undefined });
  assert.equal((await onB()).status, 200); // B has now checked and cached the session
  assert.equal((await a.request("/logout", { method: "POST", ...bearer(token) })).status, 204);
  assert.equal((await a.request("/me", bearer(token))).status, 401); // A: at once
  a.clock.advance(1.001);
  assert.equal((await onB()).status, 401); // B: after its 1 s bound
});

Deno.test("disabling a user ends their tokens on this server at once", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery");
  const { token } = await login(t, "ada", "correct horse battery");
  assert.equal((await t.request("/me", bearer(token))).status, 200);
  await t.services.users.update("ada", { disabled: true });
  assert.equal((await t.request("/me", bearer(token))).status, 401);
});

Deno.test("a login racing a password change is refused, not left with a live session", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery");
  // Hold the session commit until the password change (and its revocation sweep) is done.
  const original = t.stores.sessions.createSession.bind(t.stores.sessions);
  t.stores.sessions.createSession = async (...args) => {
    await t.services.users.update("ada", { password: "a brand new passphrase" });
    return await original(...args);
  };
  const res = await t.post("/login", { user_id: "ada", password: "correct horse battery" });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "invalid_credentials");
  t.stores.sessions.createSession = original;
  const uid = (await t.stores.users.getUser("ada"))!.value.uid!;
  assert.deepEqual(await t.stores.sessions.listUserSessions(uid), []);
  await login(t, "ada", "a brand new passphrase");
});
