/**
 * Issue 23 item 4: a refresh token's first 22 characters (its family id) name its session
 * forever; anything carrying them must not end the session. Reuse and revocation act only on a
 * token the server can prove it issued (its hash is on record, or its MAC verifies under the
 * key derived from SECRET_KEY), and /oauth/revoke checks the client (RFC 7009 section 2.1).
 */
import assert from "node:assert/strict";
import { base64url } from "jose";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import { basic, postForm } from "../helpers/oauth_form.ts";

const PASSWORD = "correct horse battery";

/** A token with the session's family id and a secret half the server never issued. */
function forged(refreshToken: string): string {
  const bytes = base64url.decode(refreshToken);
  bytes.set(crypto.getRandomValues(new Uint8Array(16)), 16);
  return base64url.encode(bytes);
}

async function alive(t: TestApp, refreshToken: string): Promise<string> {
  const res = await t.post("/refresh", { refresh_token: refreshToken });
  assert.equal(res.status, 200, "the session is still alive");
  return (await res.json()).refresh_token;
}

Deno.test("a forged token with a session's family id is invalid and ends nothing", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  let { refresh_token: token } = await login(t, "ada", PASSWORD);
  token = await alive(t, token); // rotated once: the family id now has a history
  const res = await t.post("/refresh", { refresh_token: forged(token) });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "invalid_refresh_token");
  const logout = await t.post("/logout", { refresh_token: forged(token) });
  assert.equal(logout.status, 401);
  assert.equal((await logout.json()).code, "invalid_refresh_token");
  assert.equal((await postForm(t, "/oauth/revoke", { token: forged(token) })).status, 200);
  await alive(t, token);
});

Deno.test("an older token the server issued is still reuse, and ends the session", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const first = (await login(t, "ada", PASSWORD)).refresh_token;
  const second = await alive(t, first);
  const third = await alive(t, second);
  await alive(t, third);
  // `first` is no hash on record any more (a great-grandparent): its MAC proves it.
  const reuse = await t.post("/refresh", { refresh_token: first });
  assert.equal(reuse.status, 401);
  assert.equal((await reuse.json()).code, "refresh_token_reused");
});

Deno.test("a spent token revokes at /logout; a forged one for it does not", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const first = (await login(t, "ada", PASSWORD)).refresh_token;
  const current = await alive(t, await alive(t, first));
  assert.equal((await t.post("/logout", { refresh_token: forged(first) })).status, 401);
  await alive(t, current).then(async (next) => {
    assert.equal((await t.post("/logout", { refresh_token: first })).status, 204);
    assert.equal((await t.post("/refresh", { refresh_token: next })).status, 401);
  });
});

Deno.test("/oauth/revoke ends a session only for the client it was issued to", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const webapp = await t.services.clients.add("webapp", {
    grantTypes: ["password", "refresh_token"],
  });
  const other = await t.services.clients.add("other", {
    grantTypes: ["password", "refresh_token"],
  });
  const webAuth = { Authorization: basic("webapp", webapp.secret) };
  const otherAuth = { Authorization: basic("other", other.secret) };
  const grant = await (await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
  }, webAuth)).json();
  const check = async (res: Response, status: number, error: string) => {
    const body = await res.json();
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.error, error);
  };
  for (const token of [grant.refresh_token, grant.access_token]) {
    await check(
      await postForm(t, "/oauth/revoke", { token }, otherAuth),
      400,
      "unauthorized_client",
    );
    await check(await postForm(t, "/oauth/revoke", { token }), 401, "invalid_client");
  }
  // /logout has no client: a client's refresh token is not its to end.
  assert.equal((await t.post("/logout", { refresh_token: grant.refresh_token })).status, 401);
  // A /login session is not a client's to end either.
  const own = await login(t, "ada", PASSWORD);
  await check(
    await postForm(t, "/oauth/revoke", { token: own.refresh_token }, otherAuth),
    400,
    "unauthorized_client",
  );
  await alive(t, own.refresh_token);
  // Nothing above ended the client's session; its own client does.
  const refresh = () =>
    postForm(t, "/oauth/token", {
      grant_type: "refresh_token",
      refresh_token: grant.refresh_token,
    }, webAuth);
  assert.equal(
    (await postForm(t, "/oauth/revoke", { token: grant.access_token }, webAuth)).status,
    200,
  );
  await check(await refresh(), 400, "invalid_grant");
});
