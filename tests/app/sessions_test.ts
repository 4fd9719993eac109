/**
 * Issue 11 in-process: a user's own sessions and password, logout by refresh token, and
 * revocations that cannot be half done or undone (session epoch, never-reused user ids, the
 * gate's memory of what it has seen revoked).
 */
import assert from "node:assert/strict";
import { StoreUnavailableError } from "../../src/errors.ts";
import { fakeStores, type Faults } from "../helpers/fake_stores.ts";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";

const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a brand new passphrase";
const bearer = (token: string, init: RequestInit = {}) => ({
  ...init,
  headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
});

function sidOf(token: string): string {
  return JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).sid;
}

async function status(t: TestApp, path: string, token: string): Promise<number> {
  const res = await t.request(path, bearer(token));
  await res.body?.cancel();
  return res.status;
}

/**
 * Holds the next read of session and user (or, with `"getSessionPause"`, of the session alone)
 * after it has read, until `release()`.
 */
function pauseNextRead(faults: Faults, which: "readPause" | "getSessionPause" = "readPause") {
  let release!: () => void;
  let paused!: () => void;
  const readPaused = new Promise<void>((resolve) => paused = resolve);
  faults[which] = () => {
    faults[which] = undefined; // only this one read
    paused();
    return new Promise<void>((resolve) => release = resolve);
  };
  return { readPaused, release: () => release() };
}

async function refreshCode(t: TestApp, refreshToken: string): Promise<string | number> {
  const res = await t.post("/refresh", { refresh_token: refreshToken });
  const body = await res.json();
  return res.status === 200 ? 200 : body.code;
}

Deno.test("GET /sessions lists the caller's own live sessions and marks the current one", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  await addUser(t, "bob", PASSWORD);
  const one = await login(t, "ada", PASSWORD);
  t.clock.advance(1);
  const two = await login(t, "ada", PASSWORD);
  await login(t, "bob", PASSWORD);
  const res = await t.request("/sessions", bearer(two.token));
  assert.equal(res.status, 200);
  const { sessions } = await res.json();
  assert.deepEqual(sessions.map((s: { sid: string }) => s.sid), [
    sidOf(one.token),
    sidOf(two.token),
  ]);
  assert.deepEqual(sessions.map((s: { current: boolean }) => s.current), [false, true]);
  for (const s of sessions) {
    assert.equal(s.role, "user");
    for (const field of ["created_at", "last_refreshed_at", "expires_at"]) {
      assert.ok(!Number.isNaN(Date.parse(s[field])), field);
    }
  }
  assert.equal((await t.request("/sessions")).status, 401);
});

Deno.test("DELETE /sessions/{sid}: own sessions only; 404 otherwise", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  await addUser(t, "bob", PASSWORD);
  const mine = await login(t, "ada", PASSWORD);
  const other = await login(t, "ada", PASSWORD);
  const bobs = await login(t, "bob", PASSWORD);
  const del = (sid: string) =>
    t.request(`/sessions/${sid}`, bearer(mine.token, { method: "DELETE" }));
  assert.equal((await del(sidOf(bobs.token))).status, 404, "another user's session");
  assert.equal((await del("no-such-session")).status, 404);
  assert.equal(await status(t, "/me", bobs.token), 200, "bob's session untouched");
  assert.equal((await del(sidOf(other.token))).status, 204);
  assert.equal(await status(t, "/me", other.token), 401);
  assert.equal(await refreshCode(t, other.refresh_token), "session_revoked");
  assert.equal((await del(sidOf(other.token))).status, 404, "already ended");
  assert.equal(await status(t, "/me", mine.token), 200);
});

Deno.test("POST /me/password: checks the current password, keeps this session, ends the others", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const caller = await login(t, "ada", PASSWORD);
  const other = await login(t, "ada", PASSWORD);
  const change = (current: string, next: string) =>
    t.post("/me/password", { current_password: current, new_password: next }, {
      Authorization: `Bearer ${caller.token}`,
    });
  const wrong = await change("not my password", NEW_PASSWORD);
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).code, "invalid_credentials");
  const short = await change(PASSWORD, "short");
  assert.equal(short.status, 400);
  await short.body?.cancel();
  assert.equal(await status(t, "/me", other.token), 200, "nothing changed yet");

  assert.equal((await change(PASSWORD, NEW_PASSWORD)).status, 204);
  assert.equal(await status(t, "/me", caller.token), 200, "the caller's session stays");
  assert.equal(await status(t, "/me", other.token), 401);
  assert.equal(await refreshCode(t, other.refresh_token), "session_revoked");
  const next = await t.post("/refresh", { refresh_token: caller.refresh_token });
  assert.equal(next.status, 200);
  const rotated = await next.json();
  assert.equal(await status(t, "/me", rotated.token), 200);
  assert.equal(await refreshCode(t, rotated.refresh_token), 200);
  await assert.rejects(login(t, "ada", PASSWORD));
  await login(t, "ada", NEW_PASSWORD);
  // A second change moves on again: the session kept the first time keeps only if it asks.
  const third = await login(t, "ada", NEW_PASSWORD);
  const again = await t.post("/me/password", {
    current_password: NEW_PASSWORD,
    new_password: PASSWORD,
  }, { Authorization: `Bearer ${third.token}` });
  assert.equal(again.status, 204);
  assert.equal(await status(t, "/me", rotated.token), 401);
  assert.equal(await status(t, "/me", third.token), 200);
});

Deno.test("POST /me/password keeps the caller's session across changes it never refreshed between", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const caller = await login(t, "ada", PASSWORD);
  const passwords = [PASSWORD, NEW_PASSWORD, "a third passphrase", "and a fourth one"];
  let other = caller;
  for (let i = 1; i < passwords.length; i++) {
    other = await login(t, "ada", passwords[i - 1]!); // a session at the epoch before change i
    t.clock.advance(1);
    const res = await t.post("/me/password", {
      current_password: passwords[i - 1],
      new_password: passwords[i],
    }, { Authorization: `Bearer ${caller.token}` });
    assert.equal(res.status, 204, `change ${i}`);
    t.clock.advance(2); // past the gate's memory: every answer below is a fresh read
    assert.equal(await status(t, "/me", caller.token), 200, `the caller stays after change ${i}`);
    assert.equal(await status(t, "/me", other.token), 401, `another session ends at change ${i}`);
    assert.equal(await refreshCode(t, other.refresh_token), "session_revoked");
  }
  const next = await t.post("/refresh", { refresh_token: caller.refresh_token });
  assert.equal(next.status, 200, "the caller's refresh token still works");
  const rotated = await next.json();
  assert.equal(await status(t, "/me", rotated.token), 200);
  // Rebound to the current epoch by that refresh: a change from another session now ends it.
  const fresh = await login(t, "ada", passwords.at(-1)!);
  const res = await t.post("/me/password", {
    current_password: passwords.at(-1),
    new_password: PASSWORD,
  }, { Authorization: `Bearer ${fresh.token}` });
  assert.equal(res.status, 204);
  assert.equal(await status(t, "/me", rotated.token), 401);
  assert.equal(await refreshCode(t, rotated.refresh_token), "session_revoked");
  assert.equal(await status(t, "/me", fresh.token), 200);
});

Deno.test("POST /me/password is subject to the login limits", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "2/15m" });
  await addUser(t, "ada", PASSWORD);
  const { token } = await login(t, "ada", PASSWORD);
  const guess = () =>
    t.post("/me/password", { current_password: "guess-guess", new_password: NEW_PASSWORD }, {
      Authorization: `Bearer ${token}`,
    });
  assert.equal((await guess()).status, 401);
  assert.equal((await guess()).status, 401);
  const locked = await guess();
  assert.equal(locked.status, 429);
  assert.ok(locked.headers.get("Retry-After"));
  // The same counter as /login: the account is locked there too.
  const res = await t.post("/login", { user_id: "ada", password: PASSWORD });
  assert.equal(res.status, 429);
});

Deno.test("POST /logout with {refresh_token} alone ends that session", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const pair = await login(t, "ada", PASSWORD);
  const rotated = await (await t.post("/refresh", { refresh_token: pair.refresh_token })).json();
  const res = await t.post("/logout", { refresh_token: rotated.refresh_token });
  assert.equal(res.status, 204);
  assert.equal(await status(t, "/me", rotated.token), 401);
  assert.equal(await refreshCode(t, rotated.refresh_token), "session_revoked");
  const unknown = await t.post("/logout", { refresh_token: "A".repeat(43) });
  assert.equal(unknown.status, 401);
  assert.equal((await unknown.json()).code, "invalid_refresh_token");
  const empty = await t.post("/logout", {});
  assert.equal(empty.status, 400);
  await empty.body?.cancel();
  const none = await t.request("/logout", { method: "POST" });
  assert.equal(none.status, 401, "no bearer, no body: the bearer challenge as before");
  await none.body?.cancel();
});

Deno.test("POST /logout?scope=global ends every session in one commit", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const a = await login(t, "ada", PASSWORD);
  const b = await login(t, "ada", PASSWORD);
  const res = await t.request("/logout?scope=global", bearer(a.token, { method: "POST" }));
  assert.equal(res.status, 204);
  for (const pair of [a, b]) {
    assert.equal(await status(t, "/me", pair.token), 401);
    assert.equal(await refreshCode(t, pair.refresh_token), "session_revoked");
  }
});

Deno.test("a password change interrupted right after its commit leaves no session usable", async () => {
  const faults: Faults = { mode: "ok" };
  let crashAfterCommit = false;
  using t = await makeApp({}, undefined, () => {
    const stores = fakeStores(faults);
    const updateUser = stores.users.updateUser.bind(stores.users);
    stores.users.updateUser = async (...args) => {
      const versionstamp = await updateUser(...args);
      // The process dies (SIGTERM, a store error, Ctrl-C) just after the commit.
      if (crashAfterCommit) throw new StoreUnavailableError("cut short after the commit");
      return versionstamp;
    };
    return stores;
  });
  await addUser(t, "ada", PASSWORD, ["user", "admin"]);
  const pairs = [await login(t, "ada", PASSWORD), await login(t, "ada", PASSWORD)];
  // Warm the gate's cache: a revocation must not wait for it to expire.
  for (const pair of pairs) assert.equal(await status(t, "/me", pair.token), 200);
  crashAfterCommit = true;
  await assert.rejects(t.services.users.update("ada", { password: NEW_PASSWORD }));
  crashAfterCommit = false;
  t.clock.advance(2); // past the gate's cache
  for (const pair of pairs) {
    assert.equal(await status(t, "/me", pair.token), 401);
    assert.equal(await refreshCode(t, pair.refresh_token), "session_revoked");
  }
  await login(t, "ada", NEW_PASSWORD);
});

Deno.test("deleting and re-creating a user id revives none of the old sessions", async () => {
  using t = await makeApp();
  await addUser(t, "admin", PASSWORD, ["user", "admin"]);
  await addUser(t, "ada", PASSWORD, ["user"]);
  const old = await login(t, "ada", PASSWORD);
  const oldRotated = await (await t.post("/refresh", { refresh_token: old.refresh_token })).json();
  await t.services.users.remove("ada");
  await addUser(t, "ada", PASSWORD, ["user"]); // same id, same password, same role
  t.clock.advance(2);
  assert.equal(await status(t, "/me", oldRotated.token), 401);
  assert.equal(await refreshCode(t, oldRotated.refresh_token), "session_revoked");
  assert.equal(await refreshCode(t, old.refresh_token), "session_revoked");
  const fresh = await login(t, "ada", PASSWORD);
  assert.equal(await status(t, "/me", fresh.token), 200);
  const listed = await (await t.request("/sessions", bearer(fresh.token))).json();
  assert.deepEqual(listed.sessions.map((s: { sid: string }) => s.sid), [sidOf(fresh.token)]);
});

Deno.test("the gate refuses a session revoked while its read was in flight, at once", async () => {
  const faults: Faults = { mode: "ok" };
  using t = await makeApp({}, undefined, () => fakeStores(faults));
  await addUser(t, "ada", PASSWORD);
  const { token } = await login(t, "ada", PASSWORD);
  const { readPaused, release } = pauseNextRead(faults);
  const inFlight = t.request("/me", bearer(token)); // reads "live", then waits
  await readPaused;
  await t.services.sessions.revoke(sidOf(token), "logout"); // commits, on this instance
  release();
  const res = await inFlight;
  assert.equal(res.status, 401, "the read predates the revocation: it decides nothing");
  await res.body?.cancel();
  assert.equal(await status(t, "/me", token), 401, "and nothing live was cached");
});

Deno.test("the gate refuses sessions of an older epoch even when the read was in flight", async () => {
  const faults: Faults = { mode: "ok" };
  using t = await makeApp({}, undefined, () => fakeStores(faults));
  await addUser(t, "ada", PASSWORD);
  const { token } = await login(t, "ada", PASSWORD);
  const { readPaused, release } = pauseNextRead(faults);
  const inFlight = t.request("/me", bearer(token));
  await readPaused;
  await t.services.users.update("ada", { disabled: true });
  release();
  const res = await inFlight;
  assert.equal(res.status, 401);
  await res.body?.cancel();
  await t.services.users.update("ada", { disabled: false });
  assert.equal(await status(t, "/me", token), 401, "re-enabling revives nothing");
});

Deno.test("a grace answer issues no token for a session revoked between its reads", async () => {
  const faults: Faults = { mode: "ok" };
  using t = await makeApp({ REFRESH_GRACE_SECONDS: "10" }, undefined, () => fakeStores(faults));
  await addUser(t, "ada", PASSWORD);
  const first = await login(t, "ada", PASSWORD);
  const rotated = await t.post("/refresh", { refresh_token: first.refresh_token });
  assert.equal(rotated.status, 200);
  const child = await rotated.json();
  // The parent again, inside the window: a grace answer, unless the session ends meanwhile.
  const { readPaused, release } = pauseNextRead(faults, "getSessionPause");
  const inFlight = t.post("/refresh", { refresh_token: first.refresh_token });
  await readPaused; // the refresh has read the session, still live
  const out = await t.post("/logout", { refresh_token: child.refresh_token });
  assert.equal(out.status, 204, "the logout is acknowledged first");
  release();
  const res = await inFlight;
  const body = await res.json();
  assert.equal(res.status, 401, "no access token minted after the acknowledged logout");
  assert.equal(body.code, "session_revoked");
  assert.equal(body.token, undefined);
});

Deno.test("a grace answer still works when nothing ends the session between its reads", async () => {
  const faults: Faults = { mode: "ok" };
  using t = await makeApp({ REFRESH_GRACE_SECONDS: "10" }, undefined, () => fakeStores(faults));
  await addUser(t, "ada", PASSWORD);
  const first = await login(t, "ada", PASSWORD);
  const child = await (await t.post("/refresh", { refresh_token: first.refresh_token })).json();
  const { readPaused, release } = pauseNextRead(faults, "getSessionPause");
  const inFlight = t.post("/refresh", { refresh_token: first.refresh_token });
  await readPaused;
  release();
  const res = await inFlight;
  assert.equal(res.status, 200);
  const again = await res.json();
  assert.equal(again.refresh_token, child.refresh_token, "the current token, not a fork");
  assert.equal(await status(t, "/me", again.token), 200);
});

Deno.test("MAX_SESSIONS_PER_USER: the login that ends the oldest session ends its tokens at once", async () => {
  using t = await makeApp({ MAX_SESSIONS_PER_USER: "2" });
  await addUser(t, "ada", PASSWORD);
  const oldest = await login(t, "ada", PASSWORD);
  assert.equal(await status(t, "/me", oldest.token), 200, "its access token, checked (cached)");
  t.clock.advance(1);
  const middle = await login(t, "ada", PASSWORD);
  t.clock.advance(1);
  const newest = await login(t, "ada", PASSWORD); // ends `oldest` in its own commit
  // The gate heard it: the cached answer for the oldest's access token is gone at once.
  assert.equal(await status(t, "/me", oldest.token), 401);
  assert.equal(await refreshCode(t, oldest.refresh_token), "session_revoked");
  assert.equal(await status(t, "/me", middle.token), 200);
  assert.equal(await status(t, "/me", newest.token), 200);
  const res = await t.request("/sessions", bearer(newest.token));
  const { sessions } = await res.json();
  assert.deepEqual(
    sessions.map((s: { sid: string }) => s.sid).sort(),
    [sidOf(middle.token), sidOf(newest.token)].sort(),
  );
  assert(
    t.logLines.some((line) => line.includes('"session_revoked"') && line.includes("session limit")),
  );
});
