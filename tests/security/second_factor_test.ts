/**
 * The second factor through the JSON API, in-process: enrolment, the `mfa_token` step, replay,
 * guessing, expiry, forgery, recovery codes, `amr`, removal, the limits, step-up for /admin.
 * Codes come from npm:otpauth reading the server's otpauth URI (an authenticator app), not from
 * our TOTP module.
 */
import assert from "node:assert/strict";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import {
  addBrowserClients,
  authorize,
  CookieJar,
  pkce,
  REDIRECT_URI,
  submitLogin,
} from "../helpers/browser_flow.ts";
import { claimsOf, enrolTotp } from "../helpers/mfa.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";
import type { PasskeyRecord } from "../../src/passkeys/passkey_store.ts";
import { userUid } from "../../src/users/user_store.ts";

// The browser sign-in setup keeps its signing keys in a temporary directory.
const testWithFiles = needs(READ, WRITE);

const PASSWORD = "ada password 1";
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function enrolledAda(t: TestApp) {
  await addUser(t, "ada", PASSWORD, ["user"]);
  const first = await login(t, "ada", PASSWORD);
  const enrolled = await enrolTotp(t, first.token, PASSWORD);
  return { ...enrolled, token: first.token };
}

/** `POST /login` for ada: must answer 403 `mfa_required`; its token. */
async function challenge(t: TestApp, client?: string): Promise<string> {
  const res = await t.post("/login", { user_id: "ada", password: PASSWORD }, {}, client);
  const body = await res.json();
  assert.equal(res.status, 403, JSON.stringify(body));
  assert.equal(body.code, "mfa_required");
  assert.deepEqual(body.methods, ["totp", "recovery_code"]);
  assert.equal(body.token, undefined);
  assert.match(body.mfa_token, /^[A-Za-z0-9_-]{43}$/);
  return body.mfa_token;
}

Deno.test("mfa: enrol, then password + code signs in with amr [pwd, otp]; refresh keeps it", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD, ["user"]);
  const first = await login(t, "ada", PASSWORD);
  assert.deepEqual(claimsOf(first.token).amr, ["pwd"]);
  const auth = bearer(first.token);
  assert.deepEqual(await (await t.request("/me/mfa", { headers: auth })).json(), {
    totp: "none",
    recovery_codes_left: 0,
  });

  // A pending enrolment changes nothing at login; a wrong first code is refused.
  const started = await (await t.post("/me/mfa/totp", { password: PASSWORD }, auth)).json();
  assert.match(started.secret, /^[A-Z2-7]{32}$/);
  assert.ok(started.otpauth_uri.startsWith("otpauth://totp/auth.test:ada?secret="));
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 200);
  const wrong = await t.post("/me/mfa/totp/confirm", { code: "000000" }, auth);
  assert.equal(wrong.status, 400);
  assert.equal((await wrong.json()).code, "invalid_enrolment_code");
  // A second start replaces the pending secret: the first one's codes no longer confirm.
  const { app, recoveryCodes } = await enrolTotp(t, first.token, PASSWORD);
  assert.equal(recoveryCodes.length, 10);
  assert.equal(new Set(recoveryCodes).size, 10);
  assert.deepEqual(await (await t.request("/me/mfa", { headers: auth })).json(), {
    totp: "active",
    recovery_codes_left: 10,
  });
  assert.equal((await t.post("/me/mfa/totp", { password: PASSWORD }, auth)).status, 409);

  // The code used to confirm is spent: the same step never passes again (RFC 6238 5.2).
  let token = await challenge(t);
  const replay = await t.post("/login/mfa", { mfa_token: token, code: app.code(t.clock.ms) });
  assert.equal(replay.status, 401);
  assert.equal((await replay.json()).code, "invalid_code");

  t.clock.advance(30);
  const code = app.code(t.clock.ms);
  const ok = await t.post("/login/mfa", { mfa_token: token, code });
  const pair = await ok.json();
  assert.equal(ok.status, 200, JSON.stringify(pair));
  assert.deepEqual(Object.keys(pair).sort(), [
    "device_token",
    "expires_in",
    "refresh_token",
    "token",
    "token_type",
  ]);
  assert.deepEqual(claimsOf(pair.token).amr, ["pwd", "otp"]);
  assert.equal((await t.request("/me", { headers: bearer(pair.token) })).status, 200);
  const refreshed = await (await t.post("/refresh", { refresh_token: pair.refresh_token })).json();
  assert.deepEqual(claimsOf(refreshed.token).amr, ["pwd", "otp"]);

  // The mfa_token passed once; the code, now spent, fails on a fresh challenge too.
  const again = await t.post("/login/mfa", { mfa_token: token, code });
  assert.equal((await again.json()).code, "invalid_mfa_token");
  token = await challenge(t);
  assert.equal(
    (await (await t.post("/login/mfa", { mfa_token: token, code })).json()).code,
    "invalid_code",
  );
});

Deno.test("mfa: a recovery code signs in once; a new set kills the old one", async () => {
  using t = await makeApp();
  const { app, recoveryCodes, token: userToken } = await enrolledAda(t);
  const [first, second] = recoveryCodes as [string, string];
  let token = await challenge(t);
  // Case, spaces and dashes do not matter.
  const loose = first.toUpperCase().replaceAll("-", " ");
  const ok = await t.post("/login/mfa", { mfa_token: token, recovery_code: loose });
  assert.equal(ok.status, 200);
  assert.deepEqual(claimsOf((await ok.json()).token).amr, ["pwd", "otp"]);
  token = await challenge(t);
  const reused = await t.post("/login/mfa", { mfa_token: token, recovery_code: first });
  assert.equal((await reused.json()).code, "invalid_code");

  t.clock.advance(30);
  const renewed = await t.post(
    "/me/mfa/recovery-codes",
    { code: app.code(t.clock.ms) },
    bearer(userToken),
  );
  assert.equal(renewed.status, 200);
  const fresh = (await renewed.json()).recovery_codes as string[];
  assert.equal(fresh.length, 10);
  const old = await t.post("/login/mfa", { mfa_token: token, recovery_code: second });
  assert.equal((await old.json()).code, "invalid_code");
  assert.equal(
    (await t.post("/login/mfa", { mfa_token: token, recovery_code: fresh[0] })).status,
    200,
  );
  // Both, or neither, of code and recovery_code: 400.
  for (const body of [{ mfa_token: token }, { mfa_token: token, code: "1", recovery_code: "x" }]) {
    const res = await t.post("/login/mfa", body);
    assert.equal(res.status, 400);
    assert.equal((await res.json()).code, "validation_failed");
  }
});

Deno.test("mfa: the fifth wrong code ends the mfa_token; the sixth guess is refused, right or not", async () => {
  using t = await makeApp();
  const { app } = await enrolledAda(t);
  t.clock.advance(30);
  const token = await challenge(t);
  for (let i = 0; i < 5; i++) {
    const res = await t.post("/login/mfa", { mfa_token: token, code: "000000" });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).code, "invalid_code", `guess ${i + 1}`);
  }
  const sixth = await t.post("/login/mfa", { mfa_token: token, code: app.code(t.clock.ms) });
  assert.equal(sixth.status, 401);
  assert.equal((await sixth.json()).code, "invalid_mfa_token");
  assert.equal(t.services.metrics.mfaChallenges.constructor.name, "Counter");
  const metrics = await (await t.request("/metrics")).text();
  assert.match(metrics, /auth_mfa_challenges_total\{outcome="failed",method="none"\} 4/);
  assert.match(metrics, /auth_mfa_challenges_total\{outcome="exhausted",method="none"\} 1/);
});

Deno.test("mfa: an expired, forged or malformed mfa_token is refused", async () => {
  using t = await makeApp();
  const { app } = await enrolledAda(t);
  const token = await challenge(t);
  t.clock.advance(5 * 60);
  const expired = await t.post("/login/mfa", { mfa_token: token, code: app.code(t.clock.ms) });
  assert.equal(expired.status, 401);
  assert.equal((await expired.json()).code, "invalid_mfa_token");
  const forged = "A".repeat(43);
  for (const mfaToken of [forged, token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"), "x"]) {
    const res = await t.post("/login/mfa", { mfa_token: mfaToken, code: app.code(t.clock.ms) });
    assert.equal(res.status, 401, mfaToken);
    assert.equal((await res.json()).code, "invalid_mfa_token");
  }
  // One second before its end, a token still works.
  const live = await challenge(t);
  t.clock.advance(5 * 60 - 1);
  const ok = await t.post("/login/mfa", { mfa_token: live, code: app.code(t.clock.ms) });
  assert.equal(ok.status, 200);
});

Deno.test("mfa: a change to the user between password and code ends the login", async () => {
  using t = await makeApp();
  const { app } = await enrolledAda(t);
  t.clock.advance(30);
  const token = await challenge(t);
  await t.services.users.update("ada", { roles: ["user", "editor"] });
  const res = await t.post("/login/mfa", { mfa_token: token, code: app.code(t.clock.ms) });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "invalid_mfa_token");
});

Deno.test("mfa: two presenters of one code at once: exactly one passes", async () => {
  using t = await makeApp();
  const { app } = await enrolledAda(t);
  t.clock.advance(30);
  const [a, b] = [await challenge(t), await challenge(t)];
  const code = app.code(t.clock.ms);
  const answers = await Promise.all([
    t.post("/login/mfa", { mfa_token: a, code }),
    t.post("/login/mfa", { mfa_token: b, code }),
  ]);
  assert.deepEqual(answers.map((r) => r.status).sort(), [200, 401]);
  // And one mfa_token presented twice at once with two valid codes (this step and the next).
  t.clock.advance(60);
  const c = await challenge(t);
  const both = await Promise.all([
    t.post("/login/mfa", { mfa_token: c, code: app.code(t.clock.ms) }),
    t.post("/login/mfa", { mfa_token: c, code: app.code(t.clock.ms + 30_000) }),
  ]);
  assert.deepEqual(both.map((r) => r.status).sort(), [200, 401]);
});

Deno.test("mfa: wrong codes spend the account's failure budget (429 past it)", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "3/15m" });
  const { app } = await enrolledAda(t);
  t.clock.advance(30);
  const token = await challenge(t);
  for (let i = 0; i < 3; i++) {
    assert.equal((await t.post("/login/mfa", { mfa_token: token, code: "000000" })).status, 401);
  }
  const locked = await t.post("/login/mfa", { mfa_token: token, code: app.code(t.clock.ms) });
  assert.equal(locked.status, 429);
  assert.ok(locked.headers.get("Retry-After"));
  // The password too: the same budget.
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 429);
});

Deno.test("mfa: a right code gives the budget back (logins with codes never lock out)", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "2/15m" });
  const { app } = await enrolledAda(t);
  for (let i = 0; i < 4; i++) {
    t.clock.advance(30);
    const token = await challenge(t);
    const res = await t.post("/login/mfa", { mfa_token: token, code: app.code(t.clock.ms) });
    assert.equal(res.status, 200, `login ${i + 1}`);
  }
});

/** A fresh client address for each request (the per-client limit stays out of the way). */
let nextClient = 0;
const freshClient = () => `198.51.100.${(nextClient++ % 250) + 1}`;

/**
 * Guesses ada's code as an attacker who knows her password: logins (with `deviceToken` if
 * given), five wrong codes each, until a 429. How many codes were checked.
 */
async function guessCodes(t: TestApp, wrongCode: string, deviceToken?: string) {
  let checked = 0;
  const withDevice = deviceToken === undefined ? {} : { device_token: deviceToken };
  for (;;) {
    const res = await t.post(
      "/login",
      { user_id: "ada", password: PASSWORD, ...withDevice },
      {},
      freshClient(),
    );
    const body = await res.json();
    if (res.status === 429) return checked;
    assert.equal(res.status, 403, JSON.stringify(body));
    for (let k = 0; k < 5; k++) {
      const step = { mfa_token: body.mfa_token, code: wrongCode };
      const guess = await t.post("/login/mfa", step, {}, freshClient());
      const answer = await guess.json();
      if (guess.status === 429) return checked;
      assert.equal(answer.code, "invalid_code", JSON.stringify(answer));
      checked++;
    }
  }
}

/** ada's password and a code: the 200 answer (with its device token). */
async function fullLogin(t: TestApp, app: { code(at: number): string }, deviceToken?: string) {
  t.clock.advance(30); // a step no earlier login used
  const withDevice = deviceToken === undefined ? {} : { device_token: deviceToken };
  const first = await t.post("/login", { user_id: "ada", password: PASSWORD, ...withDevice });
  const { mfa_token } = await first.json();
  assert.equal(first.status, 403);
  const res = await t.post("/login/mfa", { mfa_token, code: app.code(t.clock.ms) });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body as { token: string; device_token: string };
}

const metric = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);

Deno.test("mfa: device tokens minted with the password before TOTP buy no code guesses", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "3/15m" });
  const limit = t.config.loginLimitPerAccount.max;
  await addUser(t, "ada", PASSWORD, ["user"]);
  // An attacker who knows the password while ada has no second factor mints device tokens.
  const minted: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await t.post("/login", { user_id: "ada", password: PASSWORD }, {}, freshClient());
    assert.equal(res.status, 200);
    minted.push((await res.json()).device_token);
  }
  // ada enrols TOTP (keeping her password). The code that confirmed it is spent: always wrong.
  const { app } = await enrolTotp(t, (await login(t, "ada", PASSWORD)).token, PASSWORD);
  const spentCode = app.code(t.clock.ms);

  let checked = await guessCodes(t, spentCode);
  assert.equal(checked, limit, "the account's budget");
  for (const deviceToken of minted) checked += await guessCodes(t, spentCode, deviceToken);
  // Bounded per account, not per token minted (it was limit * 5 with four tokens).
  assert.equal(checked, limit);
  const metrics = await (await t.request("/metrics")).text();
  assert.equal(metric(metrics, /auth_device_tokens_total\{outcome="factors_changed"\} (\d+)/), 4);
  assert.equal(metric(metrics, /auth_device_tokens_total\{outcome="accepted"\} (\d+)/), 0);
  assert.ok(t.logLines.some((l) => l.includes('"outcome":"factors_changed"')));
});

Deno.test("mfa: a device token from password and code keeps its device out of the account's lock; a new factor ends it", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "3/15m" });
  const limit = t.config.loginLimitPerAccount.max;
  const { app } = await enrolledAda(t);
  const mine = (await fullLogin(t, app)).device_token;

  // An attacker with the password spends the account's budget on codes: locked for others.
  const wrong = app.code(t.clock.ms); // spent by the login above
  assert.equal(await guessCodes(t, wrong), limit);
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 429);
  // ada's device: its own budget, for the password and the code.
  const again = await fullLogin(t, app, mine);
  assert.notEqual(again.device_token, mine);
  // Stolen, that token is one device's budget, as a stolen device token always was.
  assert.equal(await guessCodes(t, app.code(t.clock.ms), again.device_token), limit);

  // ada replaces her factor (the account's budget has refilled): every device token before it
  // stops counting, even one issued after a full login under the old factor.
  t.clock.advance(15 * 60);
  const fresh = await fullLogin(t, app);
  t.clock.advance(30);
  const del = await t.request("/me/mfa/totp", {
    method: "DELETE",
    headers: { ...bearer(fresh.token), "Content-Type": "application/json" },
    body: JSON.stringify({ code: app.code(t.clock.ms) }),
  });
  assert.equal(del.status, 204);
  const replaced = await enrolTotp(t, (await login(t, "ada", PASSWORD)).token, PASSWORD);
  assert.equal(await guessCodes(t, replaced.app.code(t.clock.ms)), limit);
  const old = await t.post("/login", {
    user_id: "ada",
    password: PASSWORD,
    device_token: fresh.device_token,
  });
  assert.equal(old.status, 429);
});

Deno.test("mfa: removal with a code or a recovery code, never the password alone; then the password alone signs in", async () => {
  using t = await makeApp();
  const { app, token } = await enrolledAda(t);
  const auth = bearer(token);
  const del = (body: unknown) =>
    t.request("/me/mfa/totp", {
      method: "DELETE",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const wrong = await del({ code: "000000" });
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).code, "invalid_code");
  // The password is no proof here: a stolen access token and a phished password must not take
  // the factor away (then sign in with the password alone).
  const byPassword = await del({ password: PASSWORD });
  assert.equal(byPassword.status, 400);
  assert.equal((await byPassword.json()).code, "validation_failed");
  assert.equal((await del({})).status, 400);
  assert.equal((await del({ recovery_code: "aaaa-bbbb-cccc-dddd" })).status, 401);
  t.clock.advance(30);
  assert.equal((await del({ code: app.code(t.clock.ms) })).status, 204);
  assert.equal((await del({ code: app.code(t.clock.ms) })).status, 404);
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 200);

  // A lost authenticator: an unused recovery code removes it, once.
  const again = await enrolTotp(t, token, PASSWORD);
  const recovery = again.recoveryCodes[0]!;
  assert.equal((await del({ recovery_code: recovery })).status, 204);
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 200);
  await enrolTotp(t, token, PASSWORD);
  assert.equal((await del({ recovery_code: recovery })).status, 401, "the old set died with it");
});

Deno.test("mfa: an admin removes a user's factors; ADMIN_REQUIRE_MFA puts /admin behind a second factor", async () => {
  using t = await makeApp({ ADMIN_REQUIRE_MFA: "true" });
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  const { app } = await enrolledAda(t);
  const rootPwd = (await login(t, "root", "root password 1")).token;
  const refused = await t.request("/admin/users", { headers: bearer(rootPwd) });
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).code, "mfa_required");
  assert.match(refused.headers.get("WWW-Authenticate")!, /insufficient_user_authentication/);
  // Not an admin concern: /me takes any signed-in user.
  assert.equal((await t.request("/me", { headers: bearer(rootPwd) })).status, 200);

  const rootApp = (await enrolTotp(t, rootPwd, "root password 1")).app;
  t.clock.advance(30);
  const res = await t.post("/login", { user_id: "root", password: "root password 1" });
  const { mfa_token } = await res.json();
  const pair = await (await t.post("/login/mfa", { mfa_token, code: rootApp.code(t.clock.ms) }))
    .json();
  const admin = bearer(pair.token);
  assert.equal((await t.request("/admin/users", { headers: admin })).status, 200);

  const reset = await t.request("/admin/users/ada/mfa", { method: "DELETE", headers: admin });
  assert.equal(reset.status, 204);
  assert.equal(
    (await t.request("/admin/users/ada/mfa", { method: "DELETE", headers: admin })).status,
    404,
  );
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 200);
  assert.ok(app);
  assert.ok(
    t.logLines.some((l) => l.includes('"event":"mfa_reset"') && l.includes('"by":"admin"')),
  );
});

Deno.test("mfa: ADMIN_REQUIRE_MFA is off by default", async () => {
  using t = await makeApp();
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  const token = (await login(t, "root", "root password 1")).token;
  assert.equal((await t.request("/admin/users", { headers: bearer(token) })).status, 200);
});

Deno.test("mfa: the OAuth password grant answers mfa_required; the session is the client's", async () => {
  using t = await makeApp();
  const { app } = await enrolledAda(t);
  t.clock.advance(30);
  const grant = await t.request("/oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username: "ada", password: PASSWORD }),
  });
  const body = await grant.json();
  assert.equal(grant.status, 403, JSON.stringify(body));
  assert.equal(body.error, "mfa_required");
  assert.equal(typeof body.error_description, "string");
  assert.deepEqual(body.methods, ["totp", "recovery_code"]);
  const done = await t.post("/login/mfa", {
    mfa_token: body.mfa_token,
    code: app.code(t.clock.ms),
  });
  assert.equal(done.status, 200);
  assert.deepEqual(claimsOf((await done.json()).token).amr, ["pwd", "otp"]);
});

Deno.test("mfa: secrets are sealed at rest; logs never hold a secret, code or mfa_token", async () => {
  using t = await makeApp();
  const { app, secret, recoveryCodes } = await enrolledAda(t);
  t.clock.advance(30);
  const token = await challenge(t);
  const code = app.code(t.clock.ms);
  await t.post("/login/mfa", { mfa_token: token, code: "000000" });
  assert.equal((await t.post("/login/mfa", { mfa_token: token, code })).status, 200);
  const dump: string[] = [];
  for await (const entry of t.kv.list({ prefix: [] })) dump.push(JSON.stringify(entry.value));
  const stored = dump.join("\n");
  assert.ok(stored.includes("sealed"), "the factor record is there");
  const raw = new Uint8Array(
    (secret.match(/.{8}/g) ?? []).length ? base32Bytes(secret) : [],
  );
  for (const needle of [secret, secret.toLowerCase(), btoa(String.fromCharCode(...raw))]) {
    assert.ok(!stored.includes(needle), "the secret is not stored in the clear");
  }
  for (const rc of recoveryCodes) assert.ok(!stored.includes(rc));
  assert.ok(!stored.includes(token));
  const logs = t.logLines.join("\n");
  for (const needle of [secret, code, token, ...recoveryCodes, "000000"]) {
    assert.ok(!logs.includes(needle), `the log holds no ${needle.length}-character secret`);
  }
  assert.ok(logs.includes('"event":"mfa_enrolled"'));
  assert.ok(logs.includes('"outcome":"passed"'));
});

function base32Bytes(text: string): number[] {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  return (bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2));
}

// The login page's second step: tests/security/login_page_second_factor_test.ts.

testWithFiles(
  "mfa: confirming TOTP ends every older session, token and browser (SSO), but the caller's",
  async () => {
    using t = await makeApp({ JWT_ALG: "ES256" }, await Deno.makeTempDir());
    await addUser(t, "ada", PASSWORD, ["user"]);
    await addBrowserClients(t);
    const params = {
      response_type: "code",
      client_id: "web",
      redirect_uri: REDIRECT_URI,
      state: "st-1",
      code_challenge: pkce().challenge,
      code_challenge_method: "S256",
    };
    // Before the factor: a browser signed in (single sign-on) and a second token session.
    const jar = new CookieJar();
    const page = await authorize(t, jar, params);
    const signedIn = await submitLogin(t, jar, await page.text(), "ada", PASSWORD);
    assert.equal(signedIn.status, 303, await signedIn.clone().text());
    const silent = await authorize(t, jar, { ...params, prompt: "none" });
    assert.equal(silent.status, 302);
    assert.ok(new URL(silent.headers.get("Location")!).searchParams.get("code"), "SSO works");
    const stolen = await login(t, "ada", PASSWORD);
    const mine = await login(t, "ada", PASSWORD);

    const enrolled = await enrolTotp(t, mine.token, PASSWORD);

    // The enrolling session goes on; the older ones proved the password alone and are over.
    t.clock.advance(2);
    assert.equal((await t.request("/me", { headers: bearer(mine.token) })).status, 200);
    assert.equal((await t.post("/refresh", { refresh_token: mine.refresh_token })).status, 200);
    assert.equal((await t.post("/refresh", { refresh_token: stolen.refresh_token })).status, 401);
    const removal = await t.request("/me/mfa/totp", {
      method: "DELETE",
      headers: { ...bearer(stolen.token), "Content-Type": "application/json" },
      body: JSON.stringify({ recovery_code: enrolled.recoveryCodes[0] }),
    });
    assert.equal(removal.status, 401, "an older session cannot remove the new factor");
    const again = await authorize(t, jar, { ...params, prompt: "none" });
    assert.equal(again.status, 302);
    const after = new URL(again.headers.get("Location")!).searchParams;
    assert.equal(after.get("code"), null, "no code from the older browser session");
    assert.equal(after.get("error"), "login_required");
  },
);

Deno.test("mfa: an admin's reset removes every factor, passkeys too (also a user with passkeys alone)", async () => {
  using t = await makeApp();
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  await addUser(t, "bob", PASSWORD, ["user"]);
  await enrolledAda(t);
  const admin = bearer((await login(t, "root", "root password 1")).token);
  const uidOf = async (id: string) => userUid((await t.stores.users.getUser(id))!.value);
  const passkey = (id: string, owner: string, uid: string): PasskeyRecord => ({
    id,
    userId: owner,
    userUid: uid,
    publicKey: "AAAA",
    counter: 0,
    transports: [],
    backedUp: false,
    createdAt: t.clock.ms,
  });
  const ada = await uidOf("ada");
  const bob = await uidOf("bob");
  assert.ok(await t.stores.passkeys.createPasskey(passkey("ada-1", "ada", ada)));
  assert.ok(await t.stores.passkeys.createPasskey(passkey("ada-2", "ada", ada)));
  assert.ok(await t.stores.passkeys.createPasskey(passkey("bob-1", "bob", bob)));

  const reset = (id: string) =>
    t.request(`/admin/users/${id}/mfa`, { method: "DELETE", headers: admin });
  assert.equal((await reset("ada")).status, 204);
  assert.deepEqual(await t.stores.passkeys.listPasskeys(ada), []);
  assert.equal(await t.stores.passkeys.getPasskey("ada-1"), undefined);
  // A user whose only factor is a passkey has a factor to reset.
  assert.equal((await reset("bob")).status, 204);
  assert.deepEqual(await t.stores.passkeys.listPasskeys(bob), []);
  assert.equal((await reset("bob")).status, 404);
});
