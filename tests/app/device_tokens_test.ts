/**
 * OWASP device cookies at `/login` and the OAuth password grant: a device that signed in before
 * is judged by its own failure budget, so guesses from elsewhere cannot lock it out.
 */
import assert from "node:assert/strict";
import type { PasswordHasher } from "../../src/crypto/passwords.ts";
import { addUser, hasher, makeApp, type TestApp } from "../helpers/app.ts";

const PASSWORD = "correct horse battery";

/** The shared hasher, counting every password check (real or dummy). */
function spyHasher(): PasswordHasher & { checks: number } {
  const spy = {
    checks: 0,
    backend: hasher.backend,
    hash: (password: string) => hasher.hash(password),
    verify: (phc: string, password: string) => {
      spy.checks++;
      return hasher.verify(phc, password);
    },
    verifyDummy: (password: string) => {
      spy.checks++;
      return hasher.verifyDummy(password);
    },
    needsRehash: (phc: string) => hasher.needsRehash(phc),
    accepts: (phc: string) => hasher.accepts(phc),
  };
  return spy;
}

async function login(
  t: TestApp,
  client: string,
  body: { password: string; device_token?: string; user_id?: string },
) {
  const res = await t.post("/login", { user_id: "ada", ...body }, {}, client);
  return { status: res.status, body: await res.json() };
}

const metric = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);

Deno.test("device token: 40 guesses from 8 clients lock the account, not the device that signed in before", async () => {
  const spy = spyHasher();
  using t = await makeApp({}, undefined, undefined, spy); // defaults: 10/15m per account, 30/1m per client
  const accountLimit = t.config.loginLimitPerAccount.max;
  await addUser(t, "ada", PASSWORD);
  const first = await login(t, "192.0.2.10", { password: PASSWORD });
  assert.equal(first.status, 200);
  const deviceToken: string = first.body.device_token;
  assert.match(deviceToken, /^dt1\.[\w-]+\.[\w-]+$/);

  spy.checks = 0;
  const statuses = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const res = await t.post(
      "/login",
      { user_id: "ada", password: `guess number ${i}` },
      {},
      `198.51.100.${1 + (i % 8)}`,
    );
    await res.body?.cancel();
    return res.status;
  }));
  assert.ok(spy.checks <= accountLimit, `${spy.checks} of 40 guesses checked a password`);
  assert.equal(statuses.filter((s) => s === 401).length, spy.checks);
  assert.equal(statuses.filter((s) => s === 429).length, 40 - spy.checks);

  // The device that signed in before: its own budget, untouched by the guesses.
  const trusted = await login(t, "192.0.2.10", { password: PASSWORD, device_token: deviceToken });
  assert.equal(trusted.status, 200, JSON.stringify(trusted.body));
  assert.notEqual(trusted.body.device_token, deviceToken, "a fresh device token each login");
  // Even from another address: the token, not the address, is the device.
  const roaming = await login(t, "203.0.113.50", { password: PASSWORD, device_token: deviceToken });
  assert.equal(roaming.status, 200);

  // No device token: still locked, and no password is checked for it.
  const checks = spy.checks;
  const untrusted = await login(t, "192.0.2.99", { password: PASSWORD });
  assert.equal(untrusted.status, 429);
  assert.equal(untrusted.body.code, "too_many_attempts");
  assert.equal(spy.checks, checks, "a refusal checks no password");

  // A tampered token, or one for another user, is no device token: locked as well.
  const tampered = deviceToken.slice(0, -2) + (deviceToken.endsWith("A") ? "BB" : "AA");
  assert.equal(
    (await login(t, "192.0.2.10", { password: PASSWORD, device_token: tampered })).status,
    429,
  );
  await addUser(t, "bob", "another good password");
  const bobs =
    (await login(t, "192.0.2.11", { user_id: "bob", password: "another good password" })).body
      .device_token;
  assert.equal(
    (await login(t, "192.0.2.10", { password: PASSWORD, device_token: bobs })).status,
    429,
  );

  const metrics = await (await t.request("/metrics")).text();
  assert.ok(metric(metrics, /auth_login_lockouts_total\{limit="login_account"\} (\d+)/) >= 1);
  assert.ok(
    metric(metrics, /auth_rate_limited_total\{limit="login_account",source="memory"\} (\d+)/) >= 1,
  );
  assert.equal(metric(metrics, /auth_device_tokens_total\{outcome="accepted"\} (\d+)/), 2);
  assert.equal(metric(metrics, /auth_device_tokens_total\{outcome="invalid"\} (\d+)/), 1);
  assert.equal(metric(metrics, /auth_device_tokens_total\{outcome="other_user"\} (\d+)/), 1);
  const locked = t.logLines.filter((l) => l.includes('"login_locked"'));
  assert.ok(locked.length >= 1 && locked.every((l) => l.includes('"limit":"login_account"')));
  assert.ok(t.logLines.some((l) => l.includes('"device_token_rejected"')));
  assert.ok(!t.logLines.some((l) => l.includes(deviceToken.split(".")[2]!)), "no token in logs");
  assert.ok(!t.logLines.some((l) => l.includes("guess number")), "no password in logs");
});

Deno.test("device token: a stolen token used with wrong passwords is limited, then refused", async () => {
  const spy = spyHasher();
  using t = await makeApp({}, undefined, undefined, spy);
  const limit = t.config.loginLimitPerAccount.max;
  await addUser(t, "ada", PASSWORD);
  const mine: string = (await login(t, "192.0.2.10", { password: PASSWORD })).body.device_token;
  const stolen: string = (await login(t, "192.0.2.20", { password: PASSWORD })).body.device_token;

  spy.checks = 0;
  for (let i = 0; i < limit; i++) {
    const res = await login(t, `203.0.113.${i}`, { password: `guess ${i}`, device_token: stolen });
    assert.equal(res.status, 401, `guess ${i}`);
  }
  const refused = await login(t, "203.0.113.200", { password: "one more", device_token: stolen });
  assert.equal(refused.status, 429);
  // Refused even with the right password now: that device is locked out on its own.
  assert.equal(
    (await login(t, "203.0.113.201", { password: PASSWORD, device_token: stolen })).status,
    429,
  );
  assert.equal(spy.checks, limit, "only the device's budget was checked");
  // Its guesses did not touch the account's budget or the other device.
  assert.equal(
    (await login(t, "192.0.2.10", { password: PASSWORD, device_token: mine })).status,
    200,
  );
  assert.equal((await login(t, "192.0.2.30", { password: PASSWORD })).status, 200);
  const metrics = await (await t.request("/metrics")).text();
  assert.equal(metric(metrics, /auth_login_lockouts_total\{limit="login_device"\} (\d+)/), 1);
  assert.ok(t.logLines.some((l) => l.includes('"login_locked"') && l.includes("login_device")));
});

Deno.test("device token: a password change ends the user's device tokens", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "2/15m" });
  await addUser(t, "ada", PASSWORD);
  const token: string = (await login(t, "192.0.2.10", { password: PASSWORD })).body.device_token;
  for (let i = 0; i < 2; i++) await login(t, "198.51.100.1", { password: "wrong guess" });
  assert.equal(
    (await login(t, "192.0.2.10", { password: PASSWORD, device_token: token })).status,
    200,
  );
  await t.services.users.update("ada", { password: "a brand new password" });
  // The old token no longer vouches for the device: the locked account's budget applies.
  const after = await login(t, "192.0.2.10", {
    password: "a brand new password",
    device_token: token,
  });
  assert.equal(after.status, 429);
  const metrics = await (await t.request("/metrics")).text();
  assert.equal(metric(metrics, /auth_device_tokens_total\{outcome="password_changed"\} (\d+)/), 1);
});

Deno.test("device token: expires after DEVICE_TOKEN_TTL; a malformed one is 400 only when too long", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "1/15m", DEVICE_TOKEN_TTL: "1h" });
  await addUser(t, "ada", PASSWORD);
  const token: string = (await login(t, "192.0.2.10", { password: PASSWORD })).body.device_token;
  await login(t, "198.51.100.1", { password: "wrong guess" });
  assert.equal(
    (await login(t, "192.0.2.10", { password: PASSWORD, device_token: token })).status,
    200,
  );
  t.clock.advance(3600);
  await login(t, "198.51.100.1", { password: "wrong guess" });
  assert.equal(
    (await login(t, "192.0.2.10", { password: PASSWORD, device_token: token })).status,
    429,
  );
  const long = await login(t, "192.0.2.10", { password: PASSWORD, device_token: "x".repeat(513) });
  assert.equal(long.status, 400);
  assert.equal(long.body.code, "validation_failed");
  assert.equal(
    (await login(t, "192.0.2.10", { password: PASSWORD, device_token: "junk" })).status,
    429,
  );
});

Deno.test("device token: the OAuth password grant takes device_token and answers one", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "1/15m" });
  await addUser(t, "ada", PASSWORD);
  const form = (fields: Record<string, string>) =>
    t.request("/oauth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "password", username: "ada", ...fields }),
    });
  const first = await (await form({ password: PASSWORD })).json();
  assert.match(first.device_token, /^dt1\./);
  await login(t, "198.51.100.1", { password: "wrong guess" }); // locks the account
  assert.equal((await form({ password: PASSWORD })).status, 429); // locked for untrusted clients
  const trusted = await form({ password: PASSWORD, device_token: first.device_token });
  assert.equal(trusted.status, 200);
  assert.match((await trusted.json()).device_token, /^dt1\./);
});
