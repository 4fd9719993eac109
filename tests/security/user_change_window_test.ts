/**
 * The window between a change to a user and the revocation of its sessions (or another instance
 * changing the user mid-request): the user's versionstamp, checked in the same KV commit, is what
 * keeps a refresh or a login from going through on what was read before the change. The user is
 * changed directly in the store here, without the user service's revocation, to hold the window
 * open.
 */
import assert from "node:assert/strict";
import { ApiError } from "../../src/errors.ts";
import { userUid } from "../../src/users/user_store.ts";
import { addUser, login, makeApp } from "../helpers/app.ts";

const PASSWORD = "correct horse battery";

Deno.test("a refresh after the user was disabled, before the revocation, is refused", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const { refresh_token } = await login(t, "ada", PASSWORD);
  const read = await t.stores.users.getUser("ada");
  assert.ok(read);
  assert.ok(await t.stores.users.updateUser({ ...read.value, disabled: true }, read.versionstamp));

  const res = await t.post("/refresh", { refresh_token });
  assert.equal(res.status, 401, await res.clone().text());
  assert.equal((await res.json()).code, "session_revoked");
  // Refused for good: the refresh ended the session, so re-enabling the user does not revive it.
  const again = await t.stores.users.getUser("ada");
  assert.ok(
    again &&
      await t.stores.users.updateUser({ ...again.value, disabled: false }, again.versionstamp),
  );
  assert.equal((await t.post("/refresh", { refresh_token })).status, 401);
});

Deno.test("a login whose user changed after the password check stores no session", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const checked = await t.services.users.authenticate("ada", PASSWORD);
  // A password change commits between the check and the session's commit.
  const read = await t.stores.users.getUser("ada");
  assert.ok(read);
  const changed = { ...read.value, passwordHash: read.value.passwordHash + "x", updatedAt: 1 };
  assert.ok(await t.stores.users.updateUser(changed, read.versionstamp));

  await assert.rejects(
    t.services.sessions.start(checked, "user"),
    (err) => err instanceof ApiError && err.code === "invalid_credentials",
  );
  assert.deepEqual(await t.stores.sessions.listUserSessions(userUid(read.value)), [], "no session");
});

for (
  const [label, change] of [
    ["disabled", { disabled: true }],
    ["stripped of the token's role", { roles: ["other"] }],
  ] as const
) {
  Deno.test(`a bearer token is refused once its user is ${label}, before any revocation`, async () => {
    using t = await makeApp();
    await addUser(t, "ada", PASSWORD);
    const { token } = await login(t, "ada", PASSWORD);
    const me = () => t.request("/me", { headers: { Authorization: `Bearer ${token}` } });
    assert.equal((await me()).status, 200);

    const read = await t.stores.users.getUser("ada");
    assert.ok(read);
    assert.ok(await t.stores.users.updateUser({ ...read.value, ...change }, read.versionstamp));
    t.clock.advance(2); // past the session gate's 1 s memory of its last check
    const res = await me();
    assert.equal(res.status, 401, await res.clone().text());
    assert.equal((await res.json()).code, "invalid_token");
    // The gate refused it, not a revocation: the session itself is untouched.
    const [session] = await t.stores.sessions.listUserSessions(userUid(read.value));
    assert.ok(session);
    assert.equal(session.revokedAt, undefined);
  });
}
