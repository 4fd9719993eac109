/**
 * Issue 21 item 3, "logout ends it": one sign-in at the login page, one logout
 * (`src/browser/sign_out.ts`). RP-initiated logout ends the browser session and every token
 * session it issued; `POST /logout` of such a token session ends the browser session and its
 * siblings; `/oauth/revoke` ends the one token session only; and a token session never outlives
 * the browser session it came from. A `/login` session of the same user is never touched.
 */
import assert from "node:assert/strict";
import {
  createAuthorizationCodes,
  InvalidCodeError,
} from "../../src/browser/authorization_codes.ts";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import {
  addBrowserClients,
  authorize,
  authorizeConfirmed,
  CookieJar,
  pkce,
  REDIRECT_URI,
  redirectParams,
  signInForCode,
  tokenRequest,
} from "../helpers/browser_flow.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";
import { StoreUnavailableError } from "../../src/errors.ts";

// Every test keeps its signing keys in a temporary directory.
const test = needs(READ, WRITE);

const PASSWORD = "correct horse battery";
const SPA_URI = "https://spa.example/cb";

interface AppTokens {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly id_token?: string;
}

/**
 * A person signed in once on the login page, and two applications holding token sessions from
 * that sign-in (the confidential `web` by the form, the public `spa` by single sign-on, confirmed
 * on the "Continue as" page), plus a
 * `/login` session of the same user.
 */
async function signedIn(vars: Record<string, string> = {}) {
  const t = await makeApp({ JWT_ALG: "ES256", ...vars }, await Deno.makeTempDir());
  await addUser(t, "ada", PASSWORD, ["user"]);
  const web = { id: "web", secret: (await addBrowserClients(t)).webSecret };
  const jar = new CookieJar();
  const webPkce = pkce();
  const webCode = await signInForCode(
    t,
    jar,
    {
      response_type: "code",
      client_id: "web",
      redirect_uri: REDIRECT_URI,
      scope: "openid",
      code_challenge: webPkce.challenge,
      code_challenge_method: "S256",
    },
    "ada",
    PASSWORD,
  );
  const webTokens = await exchange(t, {
    code: webCode,
    redirect_uri: REDIRECT_URI,
    code_verifier: webPkce.verifier,
  }, web);
  const spa = await spaTokens(t, jar);
  const direct = await login(t, "ada", PASSWORD);
  return { t, web, jar, webTokens, spa, direct };
}

async function exchange(
  t: TestApp,
  form: Record<string, string>,
  client?: { id: string; secret: string },
): Promise<AppTokens> {
  const res = await tokenRequest(t, { grant_type: "authorization_code", ...form }, client);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

/** The public client signs in by single sign-on (confirmed, no form) and exchanges its code. */
async function spaTokens(t: TestApp, jar: CookieJar): Promise<AppTokens> {
  const { verifier, challenge } = pkce();
  const res = await authorizeConfirmed(t, jar, {
    response_type: "code",
    client_id: "spa",
    redirect_uri: SPA_URI,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return await exchange(t, {
    code: redirectParams(res).get("code")!,
    redirect_uri: SPA_URI,
    code_verifier: verifier,
    client_id: "spa",
  });
}

async function webRefreshes(t: TestApp, tokens: AppTokens, web: { id: string; secret: string }) {
  const res = await tokenRequest(t, {
    grant_type: "refresh_token",
    refresh_token: tokens.refresh_token,
  }, web);
  await res.body?.cancel();
  return res.status === 200;
}

async function spaRefreshes(t: TestApp, tokens: AppTokens) {
  const res = await tokenRequest(t, {
    grant_type: "refresh_token",
    refresh_token: tokens.refresh_token,
    client_id: "spa",
  });
  await res.body?.cancel();
  return res.status === 200;
}

async function bearerStatus(t: TestApp, path: string, token: string): Promise<number> {
  const res = await t.request(path, { headers: { Authorization: `Bearer ${token}` } });
  await res.body?.cancel();
  return res.status;
}

async function stillSignedIn(t: TestApp, jar: CookieJar): Promise<boolean> {
  const res = await authorize(t, jar, {
    response_type: "code",
    client_id: "web",
    redirect_uri: REDIRECT_URI,
    code_challenge: pkce().challenge,
    code_challenge_method: "S256",
  });
  await res.body?.cancel();
  return res.status === 302;
}

async function directSessionLives(t: TestApp, direct: { token: string }) {
  assert.equal(await bearerStatus(t, "/me", direct.token), 200, "the /login session lives on");
}

test("end-session ends the sign-in: the token sessions it issued to every application", async () => {
  const { t, web, jar, webTokens, spa, direct } = await signedIn();
  using _ = t;
  const res = await t.request(
    `/end-session?${new URLSearchParams({ id_token_hint: webTokens.id_token! })}`,
    { headers: { Cookie: jar.header() } },
  );
  assert.equal(res.status, 200);
  await res.body?.cancel();
  jar.take(res);
  assert.equal(await stillSignedIn(t, jar), false, "the form again");
  assert.equal(await bearerStatus(t, "/userinfo", webTokens.access_token), 401);
  assert.equal(await bearerStatus(t, "/me", spa.access_token), 401);
  assert.equal(await webRefreshes(t, webTokens, web), false, "web's refresh token is dead");
  assert.equal(await spaRefreshes(t, spa), false, "so is the single sign-on client's");
  await directSessionLives(t, direct);
});

test("POST /logout with a code-flow access token ends its sign-in: browser session and siblings", async () => {
  const { t, web, jar, webTokens, spa, direct } = await signedIn();
  using _ = t;
  const res = await t.request("/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${spa.access_token}` },
  });
  assert.equal(res.status, 204);
  assert.equal(await stillSignedIn(t, jar), false, "the next authorize shows the form");
  assert.equal(await spaRefreshes(t, spa), false);
  assert.equal(await webRefreshes(t, webTokens, web), false, "the sibling's session ended too");
  assert.equal(await bearerStatus(t, "/userinfo", webTokens.access_token), 401);
  await directSessionLives(t, direct);
});

test("POST /logout with a client's refresh token is refused and ends nothing; a /login one has no sign-in", async () => {
  const { t, web, jar, webTokens, spa, direct } = await signedIn();
  using _ = t;
  // A code-flow session belongs to its client (RFC 7009 section 2.1): only that client, at
  // /oauth/revoke, may end it by its refresh token.
  const refused = await t.post("/logout", { refresh_token: webTokens.refresh_token });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).code, "invalid_refresh_token");
  assert.equal(await stillSignedIn(t, jar), true);
  assert.equal(await webRefreshes(t, webTokens, web), true);
  const other = await login(t, "ada", PASSWORD);
  assert.equal((await t.post("/logout", { refresh_token: other.refresh_token })).status, 204);
  assert.equal(await stillSignedIn(t, jar), true, "a /login session's logout ends no sign-in");
  assert.equal(await spaRefreshes(t, spa), true);
  await directSessionLives(t, direct);
});

test("/oauth/revoke ends that token session only: single sign-on and the others go on", async () => {
  const { t, web, jar, webTokens, spa, direct } = await signedIn();
  using _ = t;
  const res = await t.request("/oauth/revoke", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: `Basic ${btoa(`${web.id}:${web.secret}`)}`,
    },
    body: new URLSearchParams({ token: webTokens.refresh_token }).toString(),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(await webRefreshes(t, webTokens, web), false, "revoked");
  assert.equal(await stillSignedIn(t, jar), true, "the browser stays signed in");
  assert.equal(await spaRefreshes(t, spa), true, "the other application too");
  await directSessionLives(t, direct);
});

test("a token session from a code ends no later than its browser session (SESSION_MAX_AGE)", async () => {
  const { t, jar } = await signedIn({ SESSION_MAX_AGE: "1h", REFRESH_TTL: "2h" });
  using _ = t;
  t.clock.advance(30 * 60);
  // Issued half-way through the sign-in's hour: on its own it would live until 1h30.
  const late = await spaTokens(t, jar);
  t.clock.advance(29 * 60);
  assert.equal(await bearerStatus(t, "/me", late.access_token), 200);
  t.clock.advance(2 * 60);
  assert.equal(await stillSignedIn(t, jar), false, "the browser session has ended");
  assert.equal(await spaRefreshes(t, late), false, "and so has the session it issued");
});

test("a logout that lands while a code is exchanged: the exchange does not outlive it", async () => {
  const t = await makeApp({ JWT_ALG: "ES256" }, await Deno.makeTempDir());
  using _ = t;
  await addUser(t, "ada", PASSWORD, ["user"]);
  await addBrowserClients(t);
  const jar = new CookieJar();
  const { verifier, challenge } = pkce();
  const code = await signInForCode(
    t,
    jar,
    {
      response_type: "code",
      client_id: "spa",
      redirect_uri: SPA_URI,
      code_challenge: challenge,
      code_challenge_method: "S256",
    },
    "ada",
    PASSWORD,
  );
  const live = await t.services.browserSessions.current(jar.cookies.get("__Host-auth_session"));
  assert.ok(live);
  // The logout runs whole after the exchange checked the browser session and before its token
  // session is stored: it finds no token session to revoke.
  let issued: string | undefined;
  const codes = createAuthorizationCodes({
    store: t.services.stores.authorizationCodes,
    browserSessions: t.services.stores.browserSessions,
    users: t.services.stores.users,
    sessions: {
      start: async (...args) => {
        await t.services.signOut.endSignIn(
          { userUid: live.session.userUid, browserSessionKey: live.session.key },
          "logout",
        );
        const pair = await t.services.sessions.start(...args);
        issued = pair.token;
        return pair;
      },
      revoke: t.services.sessions.revoke,
    },
    now: t.services.now,
  });
  const client = await t.services.clients.lookup("spa");
  assert.ok(client);
  await assert.rejects(
    codes.redeem({ code, client, redirectUri: SPA_URI, codeVerifier: verifier }),
    (err: unknown) =>
      err instanceof InvalidCodeError && /browser session has ended/.test(err.message),
  );
  assert.ok(issued);
  assert.equal(await bearerStatus(t, "/me", issued), 401, "the session it started is revoked");
});

/** Makes the session store's next `listUserSessions` fail, as a store outage would. */
function failNextListing(t: TestApp): void {
  const store = t.stores.sessions;
  const real = store.listUserSessions.bind(store);
  let fail = true;
  store.listUserSessions = (...args) => {
    if (!fail) return real(...args);
    fail = false;
    return Promise.reject(new StoreUnavailableError("listing failed (simulated)"));
  };
}

test("an end-session that fails partway can be retried, and the retry ends every token session", async () => {
  const { t, web, jar, webTokens, spa } = await signedIn();
  using _ = t;
  failNextListing(t);
  const url = `/end-session?${new URLSearchParams({ id_token_hint: webTokens.id_token! })}`;
  const first = await t.request(url, { headers: { Cookie: jar.header() } });
  assert.equal(first.status, 503);
  await first.body?.cancel();
  // Nothing was deleted before the failure: the sign-in is still there to end.
  assert.equal(await stillSignedIn(t, jar), true);
  const retry = await t.request(url, { headers: { Cookie: jar.header() } });
  assert.equal(retry.status, 200);
  await retry.body?.cancel();
  jar.take(retry);
  assert.equal(await stillSignedIn(t, jar), false);
  assert.equal(await webRefreshes(t, webTokens, web), false);
  assert.equal(await bearerStatus(t, "/me", spa.access_token), 401);
});

/** Signs in again on the form (`prompt=login`) in the same browser; the spa's new tokens. */
async function signInAgain(t: TestApp, jar: CookieJar, userId: string): Promise<AppTokens> {
  const p = pkce();
  const code = await signInForCode(
    t,
    jar,
    {
      response_type: "code",
      client_id: "spa",
      redirect_uri: SPA_URI,
      code_challenge: p.challenge,
      code_challenge_method: "S256",
      prompt: "login",
    },
    userId,
    PASSWORD,
  );
  return await exchange(t, {
    code,
    redirect_uri: SPA_URI,
    code_verifier: p.verifier,
    client_id: "spa",
  });
}

test("the same user signing in again (prompt=login, max_age) keeps the other applications", async () => {
  const { t, web, jar, webTokens, spa } = await signedIn();
  using _ = t;
  const before = jar.cookies.get("__Host-auth_session");
  t.clock.advance(60);
  const again = await signInAgain(t, jar, "ada");
  // Re-authentication, not a logout (OpenID Connect Core 3.1.2.1).
  assert.equal(await webRefreshes(t, webTokens, web), true, "the other application lives on");
  assert.equal(await bearerStatus(t, "/me", spa.access_token), 200);
  assert.equal(await bearerStatus(t, "/me", again.access_token), 200);
  // A new cookie value (no fixation); the old one signs nobody in.
  const after = jar.cookies.get("__Host-auth_session");
  assert.ok(after && before && after !== before);
  const old = new CookieJar();
  old.cookies.set("__Host-auth_session", before);
  assert.equal(await stillSignedIn(t, old), false, "the replaced cookie is dead");
  assert.equal(await stillSignedIn(t, jar), true);
  // The new authentication's auth_time in the next ID token; the sign-in's sid is kept.
  const p = pkce();
  const sso = await authorize(t, jar, {
    response_type: "code",
    client_id: "web",
    redirect_uri: REDIRECT_URI,
    scope: "openid",
    code_challenge: p.challenge,
    code_challenge_method: "S256",
  });
  const next = await exchange(t, {
    code: redirectParams(sso).get("code")!,
    redirect_uri: REDIRECT_URI,
    code_verifier: p.verifier,
  }, web);
  const claims = (token: string) =>
    JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
  assert.equal(claims(next.id_token!).auth_time, Math.floor(t.clock.ms / 1000));
  assert.equal(claims(next.id_token!).sid, claims(webTokens.id_token!).sid);
  // One logout still ends all of it: the sessions issued before and after the re-authentication.
  const ended = await t.request(`/end-session?id_token_hint=${next.id_token}`, {
    headers: { Cookie: jar.header() },
  });
  assert.equal(ended.status, 200);
  await ended.body?.cancel();
  assert.equal(await webRefreshes(t, webTokens, web), false);
  assert.equal(await bearerStatus(t, "/me", spa.access_token), 401);
  assert.equal(await bearerStatus(t, "/me", again.access_token), 401);
  assert.equal(await bearerStatus(t, "/me", next.access_token), 401);
});

test("a tab whose form predates another tab's re-authentication continues the line, ending nothing", async () => {
  const { t, web, jar, webTokens, spa } = await signedIn();
  using _ = t;
  // Two tabs hold the same cookies; tab A signs in again first, then tab B, whose cookie is the
  // one A's sign-in replaced.
  const staleTab = new CookieJar();
  for (const [name, value] of jar.cookies) staleTab.cookies.set(name, value);
  const tabA = await signInAgain(t, jar, "ada");
  const tabB = await signInAgain(t, staleTab, "ada");
  assert.equal(await webRefreshes(t, webTokens, web), true, "the first application lives on");
  assert.equal(await bearerStatus(t, "/me", spa.access_token), 200);
  assert.equal(await bearerStatus(t, "/me", tabA.access_token), 200, "and tab A's");
  assert.equal(await bearerStatus(t, "/me", tabB.access_token), 200);
  assert.equal(await stillSignedIn(t, staleTab), true);
  // One logout from the latest cookie still ends the whole line.
  const out = await t.request("/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${tabB.access_token}` },
  });
  assert.equal(out.status, 204);
  assert.equal(await webRefreshes(t, webTokens, web), false);
  assert.equal(await bearerStatus(t, "/me", spa.access_token), 401);
  assert.equal(await bearerStatus(t, "/me", tabA.access_token), 401);
  assert.equal(await stillSignedIn(t, jar), false);
  assert.equal(await stillSignedIn(t, staleTab), false);
});

test("two re-authentications of one browser at once make one line, and one logout ends it all", async () => {
  const { t, web, jar, webTokens } = await signedIn();
  using _ = t;
  const user = await t.services.users.get("ada");
  const first = (await t.services.browserSessions.stored(jar.cookies.get("__Host-auth_session")))!;
  // Both read the first session before either marked it replaced (two tabs at once).
  const [a, b] = await Promise.all([
    t.services.browserSessions.start(user, ["pwd"], first),
    t.services.browserSessions.start(user, ["pwd"], first),
  ]);
  const keys = [a.session.key, b.session.key];
  const marked = (await t.stores.browserSessions.getBrowserSession(first.value.key))!.value;
  assert.ok(marked.successor !== undefined && keys.includes(marked.successor));
  const later = marked.successor === a.session.key ? b : a;
  const earlier = later === a ? b : a;
  const stored = async (key: string) =>
    (await t.stores.browserSessions.getBrowserSession(key))?.value;
  assert.equal((await stored(earlier.session.key))?.successor, later.session.key);
  assert.deepEqual(
    (await stored(later.session.key))?.predecessors?.map((p) => p.key),
    [first.value.key, earlier.session.key],
    "the later one continues the earlier, not the first (as stored, what a logout reads)",
  );
  // A logout through the latest (the cookie the browser kept when its answer came last) ends
  // every session of the sign-in, and what the first one issued.
  await t.services.signOut.endSignIn(
    { userUid: later.session.userUid, browserSessionKey: later.session.key },
    "end-session",
  );
  for (const key of [first.value.key, ...keys]) assert.equal(await stored(key), undefined);
  assert.equal(await webRefreshes(t, webTokens, web), false);
});

test("POST /logout of a token session from before a re-authentication ends the whole sign-in", async () => {
  const { t, web, jar, webTokens, spa } = await signedIn();
  using _ = t;
  const again = await signInAgain(t, jar, "ada");
  const out = await t.request("/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${spa.access_token}` },
  });
  assert.equal(out.status, 204);
  assert.equal(await webRefreshes(t, webTokens, web), false);
  assert.equal(await bearerStatus(t, "/me", again.access_token), 401, "the later one too");
  assert.equal(await stillSignedIn(t, jar), false, "and the browser session it continued");
});

test("another user signing in in the same browser ends the first one's token sessions", async () => {
  const { t, web, jar, webTokens, spa } = await signedIn();
  using _ = t;
  await addUser(t, "carol", PASSWORD, ["user"]);
  const again = await signInAgain(t, jar, "carol");
  // The first sign-in's applications are signed out: a later logout could no longer reach them.
  assert.equal(await webRefreshes(t, webTokens, web), false);
  assert.equal(await bearerStatus(t, "/me", spa.access_token), 401);
  assert.equal(await bearerStatus(t, "/me", again.access_token), 200);
  assert.equal(await stillSignedIn(t, jar), true);
});
