/**
 * The login page's second step, in-process: after the right password a user with TOTP gets the
 * code form (never a session, a device token or a code yet), the step lives in an HttpOnly
 * cookie bound to the browser's CSRF cookie, and the code (or a recovery code) finishes with
 * `amr ["pwd", "otp"]` on the browser session, the code's tokens and the ID token. Attacks: a
 * wrong code, a replayed code, the second form without the first, an expired step, a step
 * carried to another browser (or to `POST /login/mfa`), a missing CSRF token, a sixth guess.
 * Codes come from npm:otpauth (an authenticator app), not from our TOTP module.
 */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { createMfaLogin } from "../../src/mfa/mfa_login.ts";
import { userUid } from "../../src/users/user_store.ts";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import {
  addBrowserClients,
  authorize,
  CookieJar,
  formFields,
  pkce,
  REDIRECT_URI,
  redirectParams,
  submitLogin,
  submitStep,
  tokenRequest,
} from "../helpers/browser_flow.ts";
import { enrolTotp } from "../helpers/mfa.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

// Every test keeps its signing keys in a temporary directory.
const test = needs(READ, WRITE);

const PASSWORD = "ada password 1";
const STEP_COOKIE = "__Host-auth_mfa";

async function setup() {
  const t = await makeApp({ JWT_ALG: "ES256" }, await Deno.makeTempDir());
  await addUser(t, "ada", PASSWORD, ["user"]);
  const first = await login(t, "ada", PASSWORD);
  const enrolled = await enrolTotp(t, first.token, PASSWORD);
  const { webSecret } = await addBrowserClients(t);
  // The confirming code's step is spent: the next code is a step later.
  t.clock.advance(30);
  return { t, ...enrolled, web: { id: "web", secret: webSecret } };
}

function params(challenge: string, extra: Record<string, string> = {}) {
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

/** A browser at the second step: its jar (holding the step cookie) and the step page. */
async function atSecondStep(t: TestApp, challenge = pkce().challenge, jar = new CookieJar()) {
  const page = await authorize(t, jar, params(challenge));
  assert.equal(page.status, 200);
  const res = await submitLogin(t, jar, await page.text(), "ada", PASSWORD);
  const html = await res.text();
  assert.equal(res.status, 200, html);
  return { jar, html, res };
}

/** The login form came back (the step is over) with `message`, and no code. */
async function assertLoginFormAgain(res: Response, message: RegExp) {
  const html = await res.text();
  assert.equal(res.status, 401, html);
  assert.equal(res.headers.get("Location"), null);
  assert.match(html, /autocomplete="current-password"/);
  assert.match(html, message);
}

test("login page: password, then the code: amr [pwd, otp] on the session, tokens, ID token", async () => {
  const { t, app, web } = await setup();
  using _ = t;
  const { verifier, challenge } = pkce();
  const { jar, html, res } = await atSecondStep(t, challenge);

  // The step page: the code input as authenticator apps and keyboards expect it; nothing else
  // happened yet: no code, no browser session, no device token.
  assert.match(html, /<label for="code">/);
  assert.match(html, /<input id="code" name="code" [^>]*inputmode="numeric"/);
  assert.match(html, /<input id="code" name="code" [^>]*autocomplete="one-time-code"/);
  assert.match(html, /<label for="recovery_code">/);
  assert.doesNotMatch(html, /id="passkey-form"/, "ada has no passkey");
  assert.equal(res.headers.get("Location"), null);
  assert.ok(!jar.cookies.has("__Host-auth_session"));
  assert.ok(!jar.cookies.has("__Host-auth_device"));
  const step = res.headers.getSetCookie().find((c) => c.startsWith(`${STEP_COOKIE}=`));
  assert.match(
    step ?? "",
    /^__Host-auth_mfa=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=300; HttpOnly; SameSite=Strict; Secure$/,
  );
  assert.doesNotMatch(
    html,
    new RegExp(jar.cookies.get(STEP_COOKIE)!),
    "the step is not in the page",
  );

  const done = await submitStep(t, jar, html, { code: app.code(t.clock.ms) });
  assert.equal(done.status, 303, await done.clone().text());
  const code = redirectParams(done).get("code")!;
  assert.ok(code);
  assert.ok(jar.cookies.has("__Host-auth_session"));
  assert.ok(jar.cookies.has("__Host-auth_device"));
  assert.ok(!jar.cookies.has(STEP_COOKIE), "the step cookie is cleared");

  const tokens = await (await tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, web)).json();
  assert.deepEqual(decodeJwt(tokens.access_token).amr, ["pwd", "otp"]);
  assert.deepEqual(decodeJwt(tokens.id_token).amr, ["pwd", "otp"]);

  // Single sign-on carries the session's amr to the next client's code.
  const again = pkce();
  const silent = await authorize(t, jar, params(again.challenge, { prompt: "none" }));
  assert.equal(silent.status, 302);
  const second = await (await tokenRequest(t, {
    grant_type: "authorization_code",
    code: redirectParams(silent).get("code")!,
    redirect_uri: REDIRECT_URI,
    code_verifier: again.verifier,
  }, web)).json();
  assert.deepEqual(decodeJwt(second.access_token).amr, ["pwd", "otp"]);
});

test("login page: the device cookie of a sign-in with the code keeps the browser out of the account's lock", async () => {
  const { t, app } = await setup();
  using _ = t;
  const { jar, html } = await atSecondStep(t);
  assert.equal((await submitStep(t, jar, html, { code: app.code(t.clock.ms) })).status, 303);
  assert.ok(jar.cookies.has("__Host-auth_device"));

  // Someone with the password spends the account's whole budget on wrong codes.
  const spent = app.code(t.clock.ms);
  for (let locked = false; !locked;) {
    const first = await t.post("/login", { user_id: "ada", password: PASSWORD });
    if (first.status === 429) break;
    const { mfa_token } = await first.json();
    const guess = await t.post("/login/mfa", { mfa_token, code: spent });
    locked = guess.status === 429;
  }
  const strangerJar = new CookieJar();
  const stranger = await authorize(t, strangerJar, params(pkce().challenge));
  const refused = await submitLogin(t, strangerJar, await stranger.text(), "ada", PASSWORD);
  assert.equal(refused.status, 429);

  // ada's browser: its device cookie's own budget, so the code form, and the code signs in.
  t.clock.advance(30);
  const page = await authorize(t, jar, params(pkce().challenge, { prompt: "login" }));
  const step = await submitLogin(t, jar, await page.text(), "ada", PASSWORD);
  const stepHtml = await step.text();
  assert.equal(step.status, 200, stepHtml);
  assert.match(stepHtml, /<input id="code" name="code"/);
  assert.equal((await submitStep(t, jar, stepHtml, { code: app.code(t.clock.ms) })).status, 303);
});

test("login page: a wrong code shows the step again; a replayed code is refused", async () => {
  const { t, app } = await setup();
  using _ = t;
  const { jar, html } = await atSecondStep(t);
  const wrong = await submitStep(t, jar, html, { code: app.code(t.clock.ms - 120_000) });
  const again = await wrong.text();
  assert.equal(wrong.status, 401, again);
  assert.match(again, /role="alert"[^>]*>The code is incorrect or was already used\./);
  assert.match(again, /autocomplete="one-time-code"/);
  assert.equal(wrong.headers.get("Location"), null);

  const used = app.code(t.clock.ms);
  assert.equal((await submitStep(t, jar, again, { code: used })).status, 303);

  // The same code, in a second sign-in within its 30 seconds: never accepted again.
  const other = await atSecondStep(t);
  const replay = await submitStep(t, other.jar, other.html, { code: used });
  assert.equal(replay.status, 401);
  assert.match(await replay.text(), /incorrect or was already used/);
  t.clock.advance(30);
  const next = await submitStep(t, other.jar, other.html, { code: app.code(t.clock.ms) });
  assert.equal(next.status, 303);
});

test("login page: a recovery code signs in once", async () => {
  const { t, recoveryCodes } = await setup();
  using _ = t;
  const first = await atSecondStep(t);
  const ok = await submitStep(t, first.jar, first.html, { recovery_code: recoveryCodes[0]! });
  assert.equal(ok.status, 303, await ok.clone().text());
  const second = await atSecondStep(t);
  const spent = await submitStep(t, second.jar, second.html, { recovery_code: recoveryCodes[0]! });
  assert.equal(spent.status, 401);
  assert.match(await spent.text(), /incorrect or was already used/);
});

test("login page: the second form without the first, or after 5 minutes, is the login form", async () => {
  const { t, app } = await setup();
  using _ = t;
  // A browser that never passed the password step (its own CSRF cookie and token).
  const jar = new CookieJar();
  const page = await (await authorize(t, jar, params(pkce().challenge))).text();
  const without = await submitStep(t, jar, page, { code: app.code(t.clock.ms) });
  await assertLoginFormAgain(without, /took too long or was interrupted/);
  assert.ok(!jar.cookies.has("__Host-auth_session"));

  // A step 4:59 old still passes; one 5:00 old is gone.
  const late = await atSecondStep(t);
  t.clock.advance(299);
  const inTime = await submitStep(t, late.jar, late.html, { code: app.code(t.clock.ms) });
  assert.equal(inTime.status, 303);
  t.clock.advance(30);
  const expired = await atSecondStep(t);
  t.clock.advance(300);
  const after = await submitStep(t, expired.jar, expired.html, { code: app.code(t.clock.ms) });
  await assertLoginFormAgain(after, /took too long or was interrupted/);
  assert.ok(!expired.jar.cookies.has(STEP_COOKIE), "the dead step's cookie is cleared");
});

test("login page: a step carried to another browser, or to POST /login/mfa, does not pass", async () => {
  const { t, app } = await setup();
  using _ = t;
  const victim = await atSecondStep(t);
  const stolen = victim.jar.cookies.get(STEP_COOKIE)!;

  // The thief's browser: its own CSRF cookie and form, the victim's step cookie.
  const thief = new CookieJar();
  const page = await (await authorize(t, thief, params(pkce().challenge))).text();
  thief.cookies.set(STEP_COOKIE, stolen);
  const carried = await submitStep(t, thief, page, { code: app.code(t.clock.ms) });
  await assertLoginFormAgain(carried, /took too long or was interrupted/);
  // The JSON API does not take a login page's step either.
  const json = await t.post("/login/mfa", { mfa_token: stolen, code: app.code(t.clock.ms) });
  assert.equal(json.status, 401);
  assert.equal((await json.json()).code, "invalid_mfa_token");
  // Nor does the page take the JSON API's mfa_token.
  const res = await t.post("/login", { user_id: "ada", password: PASSWORD });
  const { mfa_token } = await res.json();
  thief.cookies.set(STEP_COOKIE, mfa_token);
  const planted = await submitStep(t, thief, page, { code: app.code(t.clock.ms) });
  await assertLoginFormAgain(planted, /took too long or was interrupted/);

  // None of that spent the victim's step or the code.
  const done = await submitStep(t, victim.jar, victim.html, { code: app.code(t.clock.ms) });
  assert.equal(done.status, 303, await done.clone().text());
});

test("login page: the second form needs its CSRF token", async () => {
  const { t, app } = await setup();
  using _ = t;
  const { jar, html } = await atSecondStep(t);
  for (const csrf_token of ["", formFields(html).csrf_token.slice(1) + "A"]) {
    const res = await submitStep(t, jar, html, { code: app.code(t.clock.ms), csrf_token });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("Location"), null);
    await res.body?.cancel();
  }
  assert.equal((await submitStep(t, jar, html, { code: app.code(t.clock.ms) })).status, 303);
});

test("login page: the fifth wrong code ends the step; wrong codes spend the account's budget", async () => {
  const { t, app } = await setup();
  using _ = t;
  const { jar, html } = await atSecondStep(t);
  const wrong = app.code(t.clock.ms - 300_000);
  for (let i = 0; i < 5; i++) {
    const res = await submitStep(t, jar, html, { code: wrong });
    assert.equal(res.status, 401);
    assert.match(await res.text(), /one-time-code/, `guess ${i + 1}: the step form`);
  }
  const sixth = await submitStep(t, jar, html, { code: app.code(t.clock.ms) });
  await assertLoginFormAgain(sixth, /took too long or was interrupted/);
  // Five more in a second step: ten wrong codes are the account's 10, then even the right
  // password is refused (429), as after ten wrong passwords.
  const more = await atSecondStep(t);
  for (let i = 0; i < 5; i++) {
    assert.equal((await submitStep(t, more.jar, more.html, { code: wrong })).status, 401);
  }
  const page = await authorize(t, more.jar, params(pkce().challenge));
  const locked = await submitLogin(t, more.jar, await page.text(), "ada", PASSWORD);
  assert.equal(locked.status, 429);
  assert.ok(locked.headers.get("Retry-After"));
  await locked.body?.cancel();
});

test("second step: a passkey of another user is refused, counted as a wrong factor", async () => {
  const { t } = await setup();
  using _ = t;
  const found = (await t.stores.users.getUser("ada"))!;
  const ada = { ...found.value, versionstamp: found.versionstamp };
  const events: Record<string, unknown>[] = [];
  /** The second step, with a passkey service whose every sign-in is the user of `uid`. */
  const secondStep = (uid: string) =>
    createMfaLogin({
      mfa: t.services.mfa,
      store: t.stores.mfa,
      userStore: t.stores.users,
      steps: () => t.services.login.steps,
      now: t.clock.now,
      onEvent: (event) => events.push(event),
      passkeys: {
        authenticate: () => Promise.resolve({ userId: "bob", userUid: uid, amr: ["hwk", "user"] }),
      },
    });
  const budget = { bucket: "login_account" as const, subject: "ada" };
  const presented = {
    passkey: { challengeId: "c", response: {} as never },
    client: "192.0.2.1",
    browser: "b",
  };
  const bobs = secondStep("bob-uid");
  const step = await bobs.challenge(ada, "user", undefined, budget, "192.0.2.1", "b");
  await assert.rejects(
    bobs.pass({ ...presented, mfaToken: step!.mfa_token }),
    (err: { code?: string }) => err.code === "invalid_passkey",
  );
  assert.equal(events.at(-1)?.outcome, "failed");
  const passed = await secondStep(userUid(ada)).pass({ ...presented, mfaToken: step!.mfa_token });
  assert.deepEqual(passed.amr, ["pwd", "hwk", "user"]);
  assert.equal(passed.user.id, "ada");
});

test("passkey sign-in spends the client's login limit: the JSON route and the login page", async () => {
  const t = await makeApp(
    { JWT_ALG: "ES256", LOGIN_LIMIT_PER_CLIENT: "3/1m" },
    await Deno.makeTempDir(),
  );
  using _ = t;
  await addBrowserClients(t);
  const response = { id: "AAAA", rawId: "AAAA", type: "public-key", response: {} };
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await t.post("/passkeys/authentication", { challenge_id: "nope", response });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses, [401, 401, 401, 429]);

  // The page, from another address (its own budget).
  const jar = new CookieJar();
  const page = await (await authorize(t, jar, params(pkce().challenge))).text();
  const pageStatuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await t.request("/authorize/passkey", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header() },
      body: new URLSearchParams({
        ...formFields(page),
        passkey_challenge_id: "nope",
        passkey_response: JSON.stringify(response),
      }).toString(),
    }, "192.0.2.7");
    pageStatuses.push(res.status);
    const html = await res.text();
    assert.equal(res.headers.get("Location"), null);
    assert.match(html, /autocomplete="current-password"/, "the login form again");
  }
  assert.deepEqual(pageStatuses, [401, 401, 401, 429]);
});

test("passkey pages under an ISSUER path prefix: every path they use is under it", async () => {
  const t = await makeApp(
    { JWT_ALG: "ES256", ISSUER: "https://example.com/auth" },
    await Deno.makeTempDir(),
  );
  using _ = t;
  await addBrowserClients(t);
  const page = await (await t.request("/passkeys")).text();
  assert.match(page, /<html lang="en" data-base="\/auth">/);
  assert.match(page, /<script src="\/auth\/passkeys\/page\.js" defer><\/script>/);
  const script = await (await t.request("/passkeys/page.js")).text();
  assert.match(script, /fetch\(base \+ path,/);
  assert.doesNotMatch(script, /fetch\("\//, "no absolute path");

  const login = await (await authorize(t, new CookieJar(), params(pkce().challenge))).text();
  assert.match(login, /action="\/auth\/authorize\/passkey" id="passkey-form"/);
  assert.match(login, /data-options="\/auth\/passkeys\/authentication\/options"/);
  assert.match(login, /<script src="\/auth\/authorize\/passkey\.js" nonce="[^"]+" defer>/);
});
