/**
 * Adding a factor, and the checks of a signed-in session, in-process on Deno KV: an access token
 * alone (stolen: 30 minutes of it) cannot add a TOTP factor or a passkey; the password is needed,
 * and a current code too while TOTP is active. Codes checked at `/me/mfa/*` spend from the
 * session's own budget: wrong passwords sent from elsewhere do not lock the signed-in user out,
 * and a token still gets only a bounded number of guesses. A credential id that is not base64url
 * of at most 1,023 bytes is refused with 400 before it names a store key.
 */
import assert from "node:assert/strict";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import { enrolTotp } from "../helpers/mfa.ts";

const PASSWORD = "ada password 1";
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function answer(res: Response) {
  return { status: res.status, body: await res.json() };
}

async function ada(t: TestApp) {
  await addUser(t, "ada", PASSWORD, ["user"]);
  return (await login(t, "ada", PASSWORD)).token;
}

Deno.test("enrolment: TOTP starts only with the password; an access token alone adds nothing", async () => {
  using t = await makeApp();
  const token = await ada(t);
  const start = (body: unknown) => t.post("/me/mfa/totp", body, bearer(token));
  const bare = await answer(await start({}));
  assert.equal(bare.status, 400);
  assert.equal(bare.body.code, "validation_failed");
  const wrong = await answer(await start({ password: "not the password" }));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.code, "invalid_credentials");
  const status = await (await t.request("/me/mfa", { headers: bearer(token) })).json();
  assert.equal(status.totp, "none", "no pending secret for a token alone");
  const started = await answer(await start({ password: PASSWORD }));
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.match(started.body.secret, /^[A-Z2-7]{32}$/);
});

Deno.test("enrolment: wrong passwords at TOTP start spend the login limits (429 past them)", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "3/15m" });
  const token = await ada(t);
  for (let i = 0; i < 3; i++) {
    const res = await t.post("/me/mfa/totp", { password: "guess " + i }, bearer(token));
    assert.equal(res.status, 401);
  }
  const locked = await t.post("/me/mfa/totp", { password: PASSWORD }, bearer(token));
  assert.equal(locked.status, 429);
  assert.ok(locked.headers.get("Retry-After"));
});

Deno.test("enrolment: passkey registration options take the password, and a code while TOTP is active", async () => {
  using t = await makeApp();
  const token = await ada(t);
  const options = (body: unknown) =>
    t.post("/me/passkeys/registration/options", body, bearer(token));
  const bare = await answer(await options({}));
  assert.equal(bare.status, 400);
  assert.equal(bare.body.code, "validation_failed");
  const wrong = await answer(await options({ password: "not the password" }));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.code, "invalid_credentials");
  // No challenge was made for the token alone: a registration answers none.
  const registration = await answer(
    await t.post("/me/passkeys/registration", {
      response: { id: "3q2-7w", rawId: "3q2-7w", type: "public-key", response: {} },
    }, bearer(token)),
  );
  assert.equal(registration.status, 401);
  assert.equal(registration.body.code, "invalid_passkey");
  const ok = await answer(await options({ password: PASSWORD }));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(typeof ok.body.challenge, "string");

  // With TOTP active, the password alone is not enough: the factor itself is asked for.
  const { app } = await enrolTotp(t, token, PASSWORD);
  const noCode = await answer(await options({ password: PASSWORD }));
  assert.equal(noCode.status, 401);
  assert.equal(noCode.body.code, "invalid_code");
  const badCode = await answer(await options({ password: PASSWORD, code: "000000" }));
  assert.equal(badCode.status, 401);
  assert.equal(badCode.body.code, "invalid_code");
  t.clock.advance(30);
  const code = app.code(t.clock.ms);
  const noPassword = await answer(await options({ code }));
  assert.equal(noPassword.status, 400, "the code alone is not enough either");
  const withCode = await answer(await options({ password: PASSWORD, code }));
  assert.equal(withCode.status, 200, JSON.stringify(withCode.body));
  const replayed = await answer(await options({ password: PASSWORD, code }));
  assert.equal(replayed.body.code, "invalid_code", "the code was spent");
});

Deno.test("/me/mfa codes: wrong passwords from elsewhere do not lock the session out; the session's own guesses are bounded", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "3/15m" });
  const token = await ada(t);
  const { app } = await enrolTotp(t, token, PASSWORD);
  // An attacker's wrong passwords for ada, from other addresses, exhaust the account's budget.
  for (let i = 0; i < 4; i++) {
    await t.post("/login", { user_id: "ada", password: "wrong " + i }, {}, `198.51.100.${i + 1}`);
  }
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 429);
  t.clock.advance(30);
  const renewed = await t.post("/me/mfa/recovery-codes", { code: app.code(t.clock.ms) }, {
    ...bearer(token),
  });
  assert.equal(renewed.status, 200, await renewed.clone().text());

  // A stolen token guessing codes: three wrong ones, then 429 whatever it sends.
  for (let i = 0; i < 3; i++) {
    const res = await t.post("/me/mfa/recovery-codes", { code: "000000" }, bearer(token));
    assert.equal(res.status, 401);
  }
  t.clock.advance(30);
  const locked = await t.post("/me/mfa/recovery-codes", { code: app.code(t.clock.ms) }, {
    ...bearer(token),
  });
  assert.equal(locked.status, 429);
  assert.ok(locked.headers.get("Retry-After"));
});

Deno.test("credential ids: not base64url of at most 1,023 bytes is 400, never a store error", async () => {
  using t = await makeApp();
  const token = await ada(t);
  const big = "é".repeat(1024); // 2,048 bytes: over Deno KV's key limit
  for (const id of [big, "a".repeat(1365), "3q2+7w", "3q2-7w==", "a", "x.y"]) {
    const removal = await answer(
      await t.request(`/me/passkeys/${encodeURIComponent(id)}`, {
        method: "DELETE",
        headers: bearer(token),
      }),
    );
    assert.equal(removal.status, 400, `${id.slice(0, 8)}: ${JSON.stringify(removal.body)}`);
    assert.equal(removal.body.code, "validation_failed");
    const { challenge_id } = await (await t.post("/passkeys/authentication/options", {})).json();
    const signIn = await answer(
      await t.post("/passkeys/authentication", {
        challenge_id,
        response: { id, rawId: id, type: "public-key", response: {} },
      }),
    );
    assert.equal(signIn.status, 400, `${id.slice(0, 8)}: ${JSON.stringify(signIn.body)}`);
    assert.equal(signIn.body.code, "validation_failed");
  }
  // The longest id allowed (1,023 bytes) is only unknown: 404 and 401, as any unknown id.
  const longest = "A".repeat(1364);
  const unknown = await t.request(`/me/passkeys/${longest}`, {
    method: "DELETE",
    headers: bearer(token),
  });
  assert.equal(unknown.status, 404);
  const { challenge_id } = await (await t.post("/passkeys/authentication/options", {})).json();
  const refused = await answer(
    await t.post("/passkeys/authentication", {
      challenge_id,
      response: { id: longest, rawId: longest, type: "public-key", response: {} },
    }),
  );
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, "invalid_passkey");
  assert.ok(!t.logLines.some((l) => l.includes("store_failed")), "no store error logged");
});
