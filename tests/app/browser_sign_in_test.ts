/**
 * Browser sign-in in-process: `/authorize`, the login page, single sign-on, the code exchange,
 * the ID token, `/userinfo`, discovery, RP-initiated logout, and the clients that use them. The
 * attacks are in tests/security/browser_attacks_test.ts; the same flows driven by openid-client
 * and by Chromium against a real server are in tests/e2e/.
 */
import assert from "node:assert/strict";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { accessTokenHash } from "../../src/oidc/id_token.ts";
import { oidcSubject } from "../../src/oidc/subject.ts";
import { userUid } from "../../src/users/user_store.ts";
import { addUser, makeApp, type TestApp } from "../helpers/app.ts";
import { fakeStores, type Faults } from "../helpers/fake_stores.ts";
import {
  addBrowserClients,
  authorize,
  authorizeConfirmed,
  CookieJar,
  formFields,
  pkce,
  POST_LOGOUT_URI,
  REDIRECT_URI,
  redirectParams,
  signInForCode,
  submitContinue,
  submitLogin,
  tokenRequest,
} from "../helpers/browser_flow.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

// Every test keeps its signing keys in a temporary directory.
const test = needs(READ, WRITE);

const PASSWORD = "correct horse battery";
const ISSUER = "https://auth.test";

async function setup(vars: Record<string, string> = { JWT_ALG: "ES256" }) {
  const t = await makeApp(vars, await Deno.makeTempDir());
  await addUser(t, "ada", PASSWORD, ["user", "admin"]);
  const { webSecret } = await addBrowserClients(t);
  return { t, web: { id: "web", secret: webSecret } };
}

function webParams(challenge: string, extra: Record<string, string> = {}) {
  return {
    response_type: "code",
    client_id: "web",
    redirect_uri: REDIRECT_URI,
    scope: "openid",
    state: "st-1",
    nonce: "n-1",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  };
}

test("code flow: form, code with state and iss, tokens, ID token, userinfo, refresh", async () => {
  const { t, web } = await setup();
  using _ = t;
  const jar = new CookieJar();
  const { verifier, challenge } = pkce();

  const page = await authorize(t, jar, webParams(challenge, { login_hint: "ada" }));
  assert.equal(page.status, 200);
  assert.match(page.headers.get("Content-Type")!, /^text\/html; charset=utf-8/);
  assert.equal(page.headers.get("Cache-Control"), "no-store");
  assert.match(page.headers.get("Content-Security-Policy")!, /frame-ancestors 'none'/);
  // One script: ours, by this answer's nonce (the passkey button); never inline code.
  const csp = page.headers.get("Content-Security-Policy")!;
  const nonce = /script-src 'nonce-([^']+)'; connect-src 'self';/.exec(csp)?.[1];
  assert.ok(nonce, csp);
  assert.doesNotMatch(csp, /unsafe-inline|script-src[^;]*'self'/);
  const html = await page.text();
  assert.deepEqual(
    [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)].map((m) => [m[1], m[2]]),
    [
      [` src="/authorize/passkey.js" nonce="${nonce}" defer`, ""],
    ],
  );
  assert.match(html, /<label for="user_id">/);
  assert.match(html, /<label for="password">/);
  assert.match(html, /autocomplete="username"/);
  assert.match(html, /autocomplete="current-password"/);
  assert.match(html, /value="ada"/, "login_hint fills the user name");
  assert.ok(jar.cookies.has("__Host-auth_csrf"));
  const csrfCookie = page.headers.getSetCookie().find((c) => c.startsWith("__Host-auth_csrf="))!;
  assert.match(csrfCookie, /; Path=\/; .*HttpOnly; SameSite=Strict; Secure$/);

  const res = await submitLogin(t, jar, html, "ada", PASSWORD);
  assert.equal(res.status, 303);
  const location = new URL(res.headers.get("Location")!);
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  const params = location.searchParams;
  assert.equal(params.get("state"), "st-1");
  assert.equal(params.get("iss"), ISSUER);
  const code = params.get("code")!;
  assert.match(code, /^[A-Za-z0-9_-]{43}$/, "256 random bits");
  const session = res.headers.getSetCookie().find((c) => c.startsWith("__Host-auth_session="))!;
  assert.match(session, /; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/);
  const device = res.headers.getSetCookie().find((c) => c.startsWith("__Host-auth_device="))!;
  assert.match(device, /^__Host-auth_device=dt1\..*HttpOnly; SameSite=Strict; Secure$/);

  const exchanged = await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, web);
  assert.equal(exchanged.status, 200);
  assert.equal(exchanged.headers.get("Cache-Control"), "no-store");
  const body = await exchanged.json();
  assert.deepEqual(Object.keys(body).sort(), [
    "access_token",
    "expires_in",
    "id_token",
    "refresh_token",
    "scope",
    "token_type",
  ]);
  assert.equal(body.scope, "openid user");
  const access = decodeJwt(body.access_token);
  assert.equal(access.sub, "ada");
  assert.equal(access.role, "user");
  assert.equal(typeof access.sid, "string");

  const jwks = await (await t.request("/.well-known/jwks.json")).json();
  const { payload, protectedHeader } = await jwtVerify(body.id_token, createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: "web",
    algorithms: ["RS256"],
    currentDate: new Date(t.clock.ms),
  });
  // Under ES256 the ID token is RS256 (Discovery 1.0 section 3), with a key of its own.
  assert.equal(protectedHeader.alg, "RS256");
  assert.equal(decodeProtectedHeader(body.access_token).alg, "ES256");
  assert.notEqual(protectedHeader.kid, decodeProtectedHeader(body.access_token).kid);
  assert.equal(protectedHeader.typ, "JWT");
  // sub: the user's stable subject, never the name (which a new user may take); the name is
  // preferred_username. The access token keeps the user id (above).
  const ada = await t.services.users.get("ada");
  assert.equal(payload.sub, oidcSubject(userUid(ada)));
  assert.equal(payload.sub, ada.uid);
  assert.equal(payload.preferred_username, "ada");
  assert.equal(payload.nonce, "n-1");
  assert.equal(payload.azp, "web");
  assert.deepEqual(payload.amr, ["pwd"]);
  assert.equal(payload.auth_time, Math.floor(t.clock.ms / 1000));
  assert.equal(payload.at_hash, accessTokenHash(body.access_token, "RS256"));
  assert.equal(typeof payload.sid, "string");
  assert.notEqual(payload.sid, access.sid, "the browser session's id, not the token session's");
  assert.equal(payload.exp! - payload.iat!, t.config.tokenTtl);

  for (const method of ["GET", "POST"]) {
    const info = await t.request("/userinfo", {
      method,
      headers: { Authorization: `Bearer ${body.access_token}` },
    });
    assert.equal(info.status, 200, method);
    assert.deepEqual(await info.json(), {
      sub: payload.sub,
      preferred_username: "ada",
      roles: ["user", "admin"],
    });
  }
  const noToken = await t.request("/userinfo");
  assert.equal(noToken.status, 401);
  assert.match(noToken.headers.get("WWW-Authenticate")!, /^Bearer/);

  // The refresh token is bound to the client: only with its credentials.
  const alone = await tokenRequest(t, {
    grant_type: "refresh_token",
    refresh_token: body.refresh_token,
  });
  assert.equal((await alone.json()).error, "invalid_grant");
  const refreshed = await tokenRequest(t, {
    grant_type: "refresh_token",
    refresh_token: body.refresh_token,
  }, web);
  assert.equal(refreshed.status, 200);
  assert.equal(decodeJwt((await refreshed.json()).access_token).sid, access.sid);
});

/** A sign-in of `userId` in a new browser: the ID token's claims and `/userinfo`'s answer. */
async function signInAs(t: TestApp, web: { id: string; secret: string }, userId: string) {
  const { verifier, challenge } = pkce();
  const code = await signInForCode(t, new CookieJar(), webParams(challenge), userId, PASSWORD);
  const exchanged = await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, web);
  assert.equal(exchanged.status, 200);
  const body = await exchanged.json();
  const idToken = decodeJwt(body.id_token);
  const info = await t.request("/userinfo", {
    headers: { Authorization: `Bearer ${body.access_token}` },
  });
  assert.equal(info.status, 200);
  return { accessToken: body.access_token as string, idToken, info: await info.json() };
}

test("sub never names another person: stable for a user, new for a user re-created under its name", async () => {
  // OpenID Connect Core 2 and 5.7: relying parties key accounts on (iss, sub), so a sub is never
  // reassigned. A user id is: carol removed and created again is another person.
  const { t, web } = await setup();
  using _ = t;
  await addUser(t, "carol", PASSWORD);
  const first = await signInAs(t, web, "carol");
  assert.equal(first.idToken.preferred_username, "carol");
  assert.equal(decodeJwt(first.accessToken).sub, "carol", "access tokens keep the user id");
  assert.deepEqual(first.info, {
    sub: first.idToken.sub,
    preferred_username: "carol",
    roles: ["user"],
  });
  // The same person: the same sub at every sign-in, across a password change and a role change.
  assert.equal((await signInAs(t, web, "carol")).idToken.sub, first.idToken.sub);
  await t.services.users.update("carol", { password: PASSWORD, roles: ["user", "admin"] });
  assert.equal((await signInAs(t, web, "carol")).idToken.sub, first.idToken.sub);

  await t.services.users.remove("carol");
  await addUser(t, "carol", PASSWORD);
  const other = await signInAs(t, web, "carol");
  assert.notEqual(other.idToken.sub, first.idToken.sub, "another person, another sub");
  assert.equal(other.idToken.preferred_username, "carol");
  assert.equal(other.info.sub, other.idToken.sub);
  // The removed carol's token answers for nobody, not for the new carol.
  const stale = await t.request("/userinfo", {
    headers: { Authorization: `Bearer ${first.accessToken}` },
  });
  assert.equal(stale.status, 401);
});

test("a user written before uids existed: a stable, ASCII sub that is not its name", async () => {
  const { t, web } = await setup();
  using _ = t;
  await addUser(t, "ünïcode", PASSWORD);
  // As an older version stored it: no uid (its sessions bind to `id:` + the user id).
  const { uid: _uid, sessionEpoch: _epoch, ...legacy } = await t.services.users.get("ünïcode");
  const stored = (await t.stores.users.getUser("ünïcode"))!;
  assert.ok(await t.stores.users.updateUser(legacy, stored.versionstamp));
  const first = await signInAs(t, web, "ünïcode");
  assert.match(String(first.idToken.sub), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(first.idToken.sub, oidcSubject("id:ünïcode"));
  assert.equal(first.info.sub, first.idToken.sub);
  // A password change writes the uid it had (`id:ünïcode`): the sub stays.
  await t.services.users.update("ünïcode", { password: PASSWORD });
  assert.equal((await t.services.users.get("ünïcode")).uid, "id:ünïcode");
  assert.equal((await signInAs(t, web, "ünïcode")).idToken.sub, first.idToken.sub);
  // Created again by this version: a random uid, another sub.
  await t.services.users.remove("ünïcode");
  await addUser(t, "ünïcode", PASSWORD);
  assert.notEqual((await signInAs(t, web, "ünïcode")).idToken.sub, first.idToken.sub);
});

test("single sign-on: the next authorize, for any client, skips the form", async () => {
  const { t } = await setup();
  using _ = t;
  const jar = new CookieJar();
  await signInForCode(t, jar, webParams(pkce().challenge), "ada", PASSWORD);

  const spa = pkce();
  // A public client: the "Continue as" page, no form (mustConfirm).
  const again = await authorizeConfirmed(t, jar, {
    response_type: "code",
    client_id: "spa",
    redirect_uri: "https://spa.example/cb",
    code_challenge: spa.challenge,
    code_challenge_method: "S256",
    state: "s2",
  });
  const params = redirectParams(again);
  assert.equal(params.get("state"), "s2");
  assert.equal(params.get("iss"), ISSUER);
  const exchanged = await tokenRequest(t, {
    grant_type: "authorization_code",
    code: params.get("code")!,
    redirect_uri: "https://spa.example/cb",
    code_verifier: spa.verifier,
    client_id: "spa",
  });
  assert.equal(exchanged.status, 200, "a public client: client_id and PKCE, no secret");
  const body = await exchanged.json();
  assert.equal(body.id_token, undefined, "no openid, no ID token");
  assert.equal(body.scope, "user");
  // The public client's refresh token needs its client_id.
  const refreshed = await tokenRequest(t, {
    grant_type: "refresh_token",
    refresh_token: body.refresh_token,
    client_id: "spa",
  });
  assert.equal(refreshed.status, 200);

  // prompt=none with a session: a code; prompt=login: the form again.
  const none = await authorize(t, jar, webParams(pkce().challenge, { prompt: "none" }));
  assert.equal(none.status, 302);
  assert.ok(redirectParams(none).get("code"));
  const forced = await authorize(t, jar, webParams(pkce().challenge, { prompt: "login" }));
  assert.equal(forced.status, 200);
  // max_age: within it, a code; past it, the form.
  t.clock.advance(120);
  assert.equal(
    (await authorize(t, jar, webParams(pkce().challenge, { max_age: "300" }))).status,
    302,
  );
  assert.equal(
    (await authorize(t, jar, webParams(pkce().challenge, { max_age: "60" }))).status,
    200,
  );
  // A role asked for in scope.
  const admin = await authorize(t, jar, webParams(pkce().challenge, { scope: "openid admin" }));
  assert.equal(admin.status, 302);
  const notGranted = await authorize(t, jar, webParams(pkce().challenge, { scope: "openid root" }));
  assert.equal(redirectParams(notGranted).get("error"), "invalid_scope");
});

test("prompt=none without a session: login_required, with state and iss", async () => {
  const { t } = await setup();
  using _ = t;
  const res = await authorize(t, new CookieJar(), webParams(pkce().challenge, { prompt: "none" }));
  assert.equal(res.status, 302);
  const params = redirectParams(res);
  assert.equal(params.get("error"), "login_required");
  assert.equal(params.get("state"), "st-1");
  assert.equal(params.get("iss"), ISSUER);
  assert.equal(params.get("code"), null);
});

async function assertSignedOut(t: TestApp, jar: CookieJar, why: string) {
  const res = await authorize(t, jar, webParams(pkce().challenge));
  assert.equal(res.status, 200, `${why}: the form again`);
}

test("the browser session ends: SESSION_MAX_AGE, password change, disable, epoch", async () => {
  const { t } = await setup({ JWT_ALG: "ES256", SESSION_MAX_AGE: "1h" });
  using _ = t;
  await addUser(t, "root", PASSWORD, ["admin"]); // so that ada may be disabled
  const signIn = async () => {
    const jar = new CookieJar();
    await signInForCode(t, jar, webParams(pkce().challenge), "ada", PASSWORD);
    assert.equal((await authorize(t, jar, webParams(pkce().challenge))).status, 302);
    return jar;
  };
  let jar = await signIn();
  t.clock.advance(3601);
  await assertSignedOut(t, jar, "SESSION_MAX_AGE");

  jar = await signIn();
  await t.services.users.update("ada", { password: "another good password" });
  await assertSignedOut(t, jar, "password change");
  await t.services.users.update("ada", { password: PASSWORD });

  jar = await signIn();
  await t.services.users.update("ada", { disabled: true });
  await assertSignedOut(t, jar, "disabled");
  await t.services.users.update("ada", { disabled: false });

  jar = await signIn();
  await t.services.users.update("ada", { endSessions: true });
  await assertSignedOut(t, jar, "session epoch");
});

test("a code is not exchanged once its browser session ended", async () => {
  const { t, web } = await setup();
  using _ = t;
  const jar = new CookieJar();
  const { verifier, challenge } = pkce();
  const code = await signInForCode(t, jar, webParams(challenge), "ada", PASSWORD);
  await t.services.users.update("ada", { endSessions: true });
  const res = await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, web);
  assert.equal((await res.json()).error, "invalid_grant");
});

test("login form: one generic message, announced; the same limits as /login", async () => {
  const { t } = await setup({
    JWT_ALG: "ES256",
    LOGIN_LIMIT_PER_ACCOUNT: "3/15m",
  });
  using _ = t;
  const jar = new CookieJar();
  const page = await (await authorize(t, jar, webParams(pkce().challenge))).text();
  const wrong = await submitLogin(t, jar, page, "ada", "wrong password");
  assert.equal(wrong.status, 401);
  const wrongHtml = await wrong.text();
  assert.match(wrongHtml, /role="alert"[^>]*>The user name or password is incorrect\./);
  assert.match(wrongHtml, /aria-invalid="true"/);
  const unknown = await submitLogin(t, jar, page, "nobody", "wrong password");
  assert.equal(unknown.status, 401);
  assert.match(await unknown.text(), /The user name or password is incorrect\./);
  assert.equal(unknown.headers.get("Location"), null);
  await submitLogin(t, jar, page, "ada", "wrong again");
  await submitLogin(t, jar, page, "ada", "and again");
  const limited = await submitLogin(t, jar, page, "ada", PASSWORD);
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get("Retry-After")) > 0);
  assert.match(await limited.text(), /Too many attempts/);
  // /login counts in the same budget.
  const json = await t.post("/login", { user_id: "ada", password: PASSWORD });
  assert.equal(json.status, 429);
  const empty = await submitLogin(t, jar, page, "", "");
  assert.equal(empty.status, 400);
});

test("OpenID discovery: a true document under an asymmetric JWT_ALG, beside RFC 8414", async () => {
  const { t } = await setup();
  using _ = t;
  const oidc = await (await t.request("/.well-known/openid-configuration")).json();
  assert.equal(oidc.issuer, ISSUER);
  assert.equal(oidc.authorization_endpoint, `${ISSUER}/authorize`);
  assert.equal(oidc.token_endpoint, `${ISSUER}/oauth/token`);
  assert.equal(oidc.userinfo_endpoint, `${ISSUER}/userinfo`);
  assert.equal(oidc.end_session_endpoint, `${ISSUER}/end-session`);
  assert.equal(oidc.jwks_uri, `${ISSUER}/.well-known/jwks.json`);
  assert.deepEqual(oidc.response_types_supported, ["code"]);
  assert.deepEqual(oidc.subject_types_supported, ["public"]);
  assert.deepEqual(oidc.id_token_signing_alg_values_supported, ["RS256"]);
  assert.deepEqual(oidc.code_challenge_methods_supported, ["S256"]);
  assert.equal(oidc.authorization_response_iss_parameter_supported, true);
  assert.equal(oidc.request_uri_parameter_supported, false);
  assert.ok(oidc.scopes_supported.includes("openid"));
  // Every endpoint it names is routed (none answers 404).
  for (const field of Object.keys(oidc).filter((k) => k.endsWith("_endpoint"))) {
    const path = new URL(oidc[field]).pathname;
    const res = await t.request(path, {
      method: path.startsWith("/oauth/") ? "POST" : "GET",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    assert.notEqual(res.status, 404, field);
    await res.body?.cancel();
  }
  const oauth = await (await t.request("/.well-known/oauth-authorization-server")).json();
  assert.equal(oauth.authorization_endpoint, `${ISSUER}/authorize`);
  assert.equal(oauth.userinfo_endpoint, undefined, "RFC 8414 names no OpenID endpoint");
  assert.equal(oauth.id_token_signing_alg_values_supported, undefined);
});

test("HS256: no ID tokens; openid refused, discovery 404; the code flow without it works", async () => {
  const { t, web } = await setup({});
  using _ = t;
  const discovery = await t.request("/.well-known/openid-configuration");
  assert.equal(discovery.status, 404);
  assert.match((await discovery.json()).error, /asymmetric JWT_ALG/);
  const jar = new CookieJar();
  const refused = await authorize(t, jar, webParams(pkce().challenge));
  assert.equal(refused.status, 302);
  assert.equal(redirectParams(refused).get("error"), "invalid_scope");
  const { verifier, challenge } = pkce();
  const code = await signInForCode(
    t,
    jar,
    webParams(challenge, { scope: "user" }),
    "ada",
    PASSWORD,
  );
  const res = await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, web);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).id_token, undefined);
});

test("end-session: a valid hint ends the session and goes to the registered URI with state", async () => {
  const { t, web } = await setup();
  using _ = t;
  const jar = new CookieJar();
  const { verifier, challenge } = pkce();
  const code = await signInForCode(t, jar, webParams(challenge), "ada", PASSWORD);
  const tokens = await (await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, web)).json();
  const query = new URLSearchParams({
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: POST_LOGOUT_URI,
    state: "bye",
  });
  const res = await t.request(`/end-session?${query}`, { headers: { Cookie: jar.header() } });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("Location"), `${POST_LOGOUT_URI}?state=bye`);
  assert.match(res.headers.getSetCookie().join("\n"), /__Host-auth_session=; .*Max-Age=0/);
  // The cookie the browser had no longer names a session.
  await assertSignedOut(t, jar, "after end-session");
});

test("end-session without a hint asks first (CSRF-protected form), then ends it", async () => {
  const { t } = await setup();
  using _ = t;
  const jar = new CookieJar();
  await signInForCode(t, jar, webParams(pkce().challenge), "ada", PASSWORD);
  const ask = await t.request("/end-session?client_id=web", { headers: { Cookie: jar.header() } });
  assert.equal(ask.status, 200);
  jar.take(ask);
  const html = await ask.text();
  assert.match(html, /Sign out of/);
  assert.equal((await authorize(t, jar, webParams(pkce().challenge))).status, 302, "still in");
  const { csrf_token } = formFields(
    html.replace(/name="request"[^>]*>/, "") +
      '<input name="request" value="">',
  );
  const post = (token: string) =>
    t.request("/end-session", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header() },
      body: new URLSearchParams({ confirm: "yes", csrf_token: token, client_id: "web" }).toString(),
    });
  const forged = await post("forged");
  assert.equal(forged.status, 200, "a wrong token asks again");
  await forged.body?.cancel();
  assert.equal((await authorize(t, jar, webParams(pkce().challenge))).status, 302, "still in");
  const done = await post(csrf_token);
  assert.equal(done.status, 200);
  assert.match(await done.text(), /You are signed out/);
  jar.take(done);
  await assertSignedOut(t, jar, "after confirming");
});

test("clients: redirect URIs checked at registration; public clients have no secret", async () => {
  const { t } = await setup();
  using _ = t;
  const login = await t.post("/login", { user_id: "ada", password: PASSWORD, role: "admin" });
  const admin = { Authorization: `Bearer ${(await login.json()).token}` };
  const add = (body: Record<string, unknown>) => t.post("/admin/clients", body, admin);
  const created = await add({
    client_id: "native",
    public: true,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: ["com.example.native:/cb", "http://127.0.0.1/cb", "http://[::1]/cb"],
    post_logout_redirect_uris: ["com.example.native:/bye"],
  });
  assert.equal(created.status, 201);
  const body = await created.json();
  assert.equal(body.client_secret, undefined);
  assert.equal(body.public, true);
  assert.deepEqual(body.redirect_uris, [
    "com.example.native:/cb",
    "http://127.0.0.1/cb",
    "http://[::1]/cb",
  ]);
  for (
    const [uris, why] of [
      [["http://app.example/cb"], "http off loopback"],
      [["https://app.example/cb#x"], "fragment"],
      [["https://user@app.example/cb"], "userinfo"],
      [["https://*.example/cb"], "wildcard"],
      [["https://APP.example/cb"], "not normal form"],
      [["javascript:alert(1)"], "script scheme"],
      [["myapp:/cb"], "private scheme without a dot"],
      [[], "no redirect URI"],
    ] as const
  ) {
    const res = await add({
      client_id: "bad",
      grant_types: ["authorization_code"],
      redirect_uris: uris,
    });
    assert.equal(res.status, 400, why);
    assert.equal((await res.json()).code, "validation_failed");
  }
  const publicCredentials = await add({
    client_id: "bad",
    public: true,
    grant_types: ["client_credentials"],
  });
  assert.equal(publicCredentials.status, 400, "a public client cannot hold client_credentials");
  await publicCredentials.body?.cancel();
  // A public client cannot authenticate with any secret, nor introspect.
  const introspect = await t.request("/oauth/introspect", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "token=x&client_id=native",
  });
  assert.equal(introspect.status, 401);
  await introspect.body?.cancel();
});

test("loopback redirect URIs match on any port (RFC 8252 7.3), nothing else does", async () => {
  const { t } = await setup();
  using _ = t;
  const params = (redirect_uri: string) => ({
    response_type: "code",
    client_id: "spa",
    redirect_uri,
    code_challenge: pkce().challenge,
    code_challenge_method: "S256",
  });
  const ok = await authorize(t, new CookieJar(), params("http://127.0.0.1:49152/cb"));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  const native = await authorize(t, new CookieJar(), params("com.example.app:/oauth"));
  assert.equal(native.status, 200);
  await native.body?.cancel();
  const otherPath = await authorize(t, new CookieJar(), params("http://127.0.0.1:49152/cb2"));
  assert.equal(otherPath.status, 400);
  await otherPath.body?.cancel();
});

test("a store outage: /authorize and its form answer a 503 page, the token endpoint 503", async () => {
  const faults: Faults = { mode: "ok" };
  const t = await makeApp({ JWT_ALG: "ES256" }, await Deno.makeTempDir(), () => fakeStores(faults));
  using _ = t;
  await addUser(t, "ada", PASSWORD, ["user"]);
  const { webSecret } = await addBrowserClients(t);
  const jar = new CookieJar();
  await signInForCode(t, jar, webParams(pkce().challenge), "ada", PASSWORD);
  const page = await (await authorize(t, jar, webParams(pkce().challenge, { prompt: "login" })))
    .text();
  faults.mode = "fail";
  for (
    const res of [
      await authorize(t, jar, webParams(pkce().challenge)),
      await submitLogin(t, jar, page, "ada", PASSWORD),
      await t.request("/end-session", { headers: { Cookie: jar.header() } }),
    ]
  ) {
    assert.equal(res.status, 503);
    assert.equal(
      res.headers.get("Location"),
      null,
      "never a redirect the client reads as a refusal",
    );
    assert.equal(res.headers.get("Retry-After"), "1");
    assert.match(await res.text(), /try again/i);
  }
  const token = await tokenRequest(t, {
    grant_type: "authorization_code",
    code: "A".repeat(43),
    redirect_uri: REDIRECT_URI,
  }, { id: "web", secret: webSecret });
  assert.equal(token.status, 503);
  assert.equal((await token.json()).error, "temporarily_unavailable");
});

/** A public (native) client's request from a loopback port of the caller's choosing. */
function nativeParams(challenge: string, extra: Record<string, string> = {}) {
  return {
    response_type: "code",
    client_id: "spa",
    redirect_uri: "http://127.0.0.1:49999/cb",
    scope: "admin",
    state: "n-st",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  };
}

test("a public client never gets a code silently: a Continue page, interaction_required", async () => {
  const { t } = await setup();
  using _ = t;
  const jar = new CookieJar();
  await signInForCode(t, jar, webParams(pkce().challenge), "ada", PASSWORD);
  // Any local program can name the native app, a port of its own and its own PKCE (RFC 8252
  // section 8.6): no code without the person, for the admin role least of all.
  const attacker = pkce();
  const page = await authorize(t, jar, nativeParams(attacker.challenge));
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("Location"), null);
  assert.match(page.headers.get("Content-Security-Policy")!, /frame-ancestors 'none'/);
  const html = await page.text();
  assert.match(html, /Continue to spa\?/);
  assert.match(html, /as <strong>ada<\/strong>/);
  assert.match(html, /with the role <strong>admin<\/strong>/);
  // Nothing has the focus: a stray Enter when the browser comes to the front confirms nothing.
  assert.doesNotMatch(html, /autofocus/);
  const none = await authorize(t, jar, nativeParams(pkce().challenge, { prompt: "none" }));
  assert.equal(none.status, 302);
  assert.equal(redirectParams(none).get("error"), "interaction_required");
  assert.equal(redirectParams(none).get("code"), null);
  assert.equal(redirectParams(none).get("state"), "n-st");

  // The confirmation: CSRF-checked, for the session it was shown for, Cancel is access_denied.
  const forged = await submitContinue(t, jar, html, "continue", { csrf_token: "forged" });
  assert.equal(forged.status, 403);
  await forged.body?.cancel();
  const otherSession = await submitContinue(t, jar, html, "continue", { session: "other" });
  assert.equal(otherSession.status, 200, "the login form, no code");
  assert.equal(otherSession.headers.get("Location"), null);
  assert.match(await otherSession.text(), /autocomplete="current-password"/);
  // A confirmation whose request asks for a new sign-in (prompt=login) gets the login form.
  const relogin = await submitContinue(t, jar, html, "continue", {
    request: `${formFields(html).request}&prompt=login`,
  });
  assert.equal(relogin.status, 200, "the login form, no code");
  assert.equal(relogin.headers.get("Location"), null);
  assert.match(await relogin.text(), /autocomplete="current-password"/);
  const cancel = await submitContinue(t, jar, html, "cancel");
  assert.equal(cancel.status, 303);
  assert.equal(redirectParams(cancel).get("error"), "access_denied");
  const confirmed = await submitContinue(t, jar, html);
  assert.equal(confirmed.status, 303);
  const code = redirectParams(confirmed).get("code")!;
  assert.equal(redirectParams(confirmed).get("state"), "n-st");
  const tokens = await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: "http://127.0.0.1:49999/cb",
    code_verifier: attacker.verifier,
    client_id: "spa",
  });
  assert.equal(tokens.status, 200);
  assert.equal(decodeJwt((await tokens.json()).access_token).role, "admin");
  // A confidential client keeps silent single sign-on.
  const web = await authorize(t, jar, webParams(pkce().challenge, { prompt: "none" }));
  assert.ok(redirectParams(web).get("code"));
  // A Continue page of a browser that signed out meanwhile shows the login form.
  const signedOut = new CookieJar();
  signedOut.cookies.set("__Host-auth_csrf", jar.cookies.get("__Host-auth_csrf")!);
  const late = await submitContinue(t, signedOut, html);
  assert.equal(late.status, 200);
  assert.equal(late.headers.get("Location"), null);
  await late.body?.cancel();
});

/** An ID token for `userId`, signed in through the form in a browser of its own. */
async function idTokenOf(t: TestApp, web: { id: string; secret: string }, userId: string) {
  const { verifier, challenge } = pkce();
  const jar = new CookieJar();
  const code = await signInForCode(t, jar, webParams(challenge), userId, PASSWORD);
  const res = await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, web);
  return { idToken: (await res.json()).id_token as string, jar };
}

test("id_token_hint: single sign-on only for the hinted user; a forged hint is refused", async () => {
  const { t, web } = await setup();
  using _ = t;
  await addUser(t, "carol", PASSWORD, ["user"]);
  const carol = await idTokenOf(t, web, "carol");
  const ada = await idTokenOf(t, web, "ada");
  const hinted = (idToken: string, extra: Record<string, string> = {}) =>
    authorize(t, ada.jar, webParams(pkce().challenge, { id_token_hint: idToken, ...extra }));

  // ada's browser, carol's hint: no code for ada (Core 3.1.2.1).
  const none = await hinted(carol.idToken, { prompt: "none" });
  assert.equal(none.status, 302);
  assert.equal(redirectParams(none).get("error"), "login_required");
  assert.equal(redirectParams(none).get("code"), null);
  const form = await hinted(carol.idToken);
  assert.equal(form.status, 200, "the login form");
  assert.match(await form.text(), /autocomplete="current-password"/);
  // ada's own hint, expired too: single sign-on.
  t.clock.advance(t.config.tokenTtl + 60);
  const own = await hinted(ada.idToken, { prompt: "none" });
  assert.ok(redirectParams(own).get("code"), "an expired hint of the signed-in user is fine");
  // A forged one (another signature) is refused to the client.
  const [header, payload] = carol.idToken.split(".");
  const forged = await hinted(`${header}.${payload}.${"A".repeat(342)}`, { prompt: "none" });
  assert.equal(redirectParams(forged).get("error"), "invalid_request");
  assert.match(redirectParams(forged).get("error_description")!, /id_token_hint/);
  const garbage = await hinted("not-a-jwt");
  assert.equal(redirectParams(garbage).get("error"), "invalid_request");
});

test("POST /authorize: the same parameters in a form, the same answers (Core 3.1.2.1)", async () => {
  const { t, web } = await setup();
  using _ = t;
  const jar = new CookieJar();
  const post = (params: Record<string, string>, type = "application/x-www-form-urlencoded") =>
    t.request("/authorize", {
      method: "POST",
      headers: { "Content-Type": type, Cookie: jar.header() },
      body: new URLSearchParams(params).toString(),
    });
  const { verifier, challenge } = pkce();
  const page = await post(webParams(challenge));
  assert.equal(page.status, 200);
  jar.take(page);
  const signedIn = await submitLogin(t, jar, await page.text(), "ada", PASSWORD);
  assert.equal(signedIn.status, 303);
  const code = redirectParams(signedIn).get("code")!;
  const tokens = await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, web);
  assert.equal(tokens.status, 200);
  const sso = await post(webParams(pkce().challenge, { prompt: "none", state: "p" }));
  assert.equal(sso.status, 302);
  assert.equal(redirectParams(sso).get("state"), "p");
  assert.ok(redirectParams(sso).get("code"));
  const unknown = await post({ ...webParams(challenge), client_id: "nobody" });
  assert.equal(unknown.status, 400);
  await unknown.body?.cancel();
  const json = await post(webParams(challenge), "application/json");
  assert.equal(json.status, 415);
  await json.body?.cancel();
  const big = await post({ ...webParams(challenge), state: "x".repeat(9000) });
  assert.equal(big.status, 413);
  assert.equal((await big.json()).code, "payload_too_large");
});

test("an ISSUER that is no URL: the browser pages answer a JSON 404 saying why, never a 500", async () => {
  const { t } = await setup({ JWT_ALG: "ES256", ISSUER: "your identity" });
  using _ = t;
  const discovery = await t.request("/.well-known/openid-configuration");
  assert.equal(discovery.status, 404);
  await discovery.body?.cancel();
  for (
    const [method, path] of [
      ["GET", `/authorize?${new URLSearchParams(webParams(pkce().challenge))}`],
      ["POST", "/authorize"],
      ["POST", "/authorize/login"],
      ["POST", "/authorize/continue"],
      ["GET", "/end-session"],
      ["GET", "/passkeys"],
    ] as const
  ) {
    const res = await t.request(path, {
      method,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      ...(method === "POST" ? { body: "a=b" } : {}),
    });
    assert.equal(res.status, 404, `${method} ${path}`);
    const body = await res.json();
    assert.equal(body.code, "not_found");
    assert.match(body.error, /browser sign-in needs an issuer that is an http\(s\) URL/);
  }
  // Tokens work as before.
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 200);
});
