/**
 * Issue 23 item 10: properties no test protected. Refresh tokens: a token cannot be computed
 * without SECRET_KEY, and an access token's `sid` reveals nothing of its refresh token's family.
 * Every path that hands out a token re-checks the user (the grace answer too). A client without
 * the refresh_token grant cannot refresh; a client secret is compared at full strength. No
 * refresh token or device token reaches a log line. Device tokens need SECRET_KEY.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { base64url, decodeJwt } from "jose";
import { createDeviceTokens } from "../../src/users/device_tokens.ts";
import { addUser, login, makeApp } from "../helpers/app.ts";
import { basic, postForm } from "../helpers/oauth_form.ts";

const PASSWORD = "correct horse battery";

/** Runs `body` with crypto.getRandomValues returning zeros: the same family id every time. */
async function withFixedRandom<T>(body: () => Promise<T>): Promise<T> {
  const real = crypto.getRandomValues;
  crypto.getRandomValues = (<A extends ArrayBufferView | null>(array: A) => {
    if (array) new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(7);
    return array;
  }) as typeof crypto.getRandomValues;
  try {
    return await body();
  } finally {
    crypto.getRandomValues = real;
  }
}

Deno.test("refresh tokens depend on SECRET_KEY: same family, other key, other tokens", async () => {
  const tokens = async (secret: string) => {
    using t = await makeApp({ SECRET_KEY: secret });
    await addUser(t, "ada", PASSWORD);
    const first = await withFixedRandom(() => login(t, "ada", PASSWORD));
    const next = await (await t.post("/refresh", { refresh_token: first.refresh_token })).json();
    return [first.refresh_token, next.refresh_token];
  };
  const a = await tokens("a-first-secret-key-0123456789-abcdefghijkl");
  const b = await tokens("a-second-secret-key-0123456789-abcdefghijk");
  assert.equal(a[0]!.slice(0, 21), b[0]!.slice(0, 21), "same family id (fixed randomness)");
  assert.notEqual(a[0], b[0], "the first token needs the key");
  assert.notEqual(a[1], b[1], "a child needs the key");
});

Deno.test("an access token's sid reveals nothing of the refresh token's family", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const pair = await login(t, "ada", PASSWORD);
  const sid = String(decodeJwt(pair.token).sid).replaceAll("-", "");
  const family = base64url.decode(pair.refresh_token).slice(0, 16);
  const hex = [...family].map((b) => b.toString(16).padStart(2, "0")).join("");
  for (let i = 0; i + 8 <= hex.length; i += 4) {
    assert.ok(!sid.includes(hex.slice(i, i + 8)), "no 4 bytes of the family id in the sid");
  }
});

Deno.test("the grace answer re-checks the user: disabled or role removed, no token", async () => {
  for (const change of [{ disabled: true }, { roles: ["other"] }]) {
    using t = await makeApp({ REFRESH_GRACE_SECONDS: "30" });
    await addUser(t, "ada", PASSWORD, ["user", "other"]);
    const first = await login(t, "ada", PASSWORD, "user");
    const rotated = await t.post("/refresh", { refresh_token: first.refresh_token });
    assert.equal(rotated.status, 200);
    await t.services.users.update("ada", change);
    // The parent within the grace window: the grace branch, which must refuse the changed user.
    const res = await t.post("/refresh", { refresh_token: first.refresh_token });
    assert.equal(res.status, 401, JSON.stringify(change));
    assert.equal((await res.json()).code, "session_revoked");
  }
});

Deno.test("a client without the refresh_token grant cannot refresh", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const { secret } = await t.services.clients.add("signin-only", { grantTypes: ["password"] });
  const auth = { Authorization: basic("signin-only", secret) };
  const grant = await (await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
  }, auth)).json();
  const res = await postForm(t, "/oauth/token", {
    grant_type: "refresh_token",
    refresh_token: grant.refresh_token,
  }, auth);
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, "unauthorized_client");
});

Deno.test("a client secret is compared at full strength, not by a prefix of its hash", async () => {
  using t = await makeApp();
  const { secret } = await t.services.clients.add("reports");
  const target = createHash("sha256").update(secret).digest();
  // A wrong secret whose SHA-256 shares the first two bytes (about 65,536 tries).
  let near = "";
  for (let i = 0;; i++) {
    const candidate = `guess-${i}`;
    const hash = createHash("sha256").update(candidate).digest();
    if (hash[0] === target[0] && hash[1] === target[1]) {
      near = candidate;
      break;
    }
  }
  assert.equal(await t.services.clients.authenticate("reports", near), undefined);
  assert.ok(await t.services.clients.authenticate("reports", secret));
});

Deno.test("no refresh token or device token reaches a log line, grace and rejection included", async () => {
  using t = await makeApp({ REFRESH_GRACE_SECONDS: "30" });
  await addUser(t, "ada", PASSWORD);
  await addUser(t, "bob", PASSWORD);
  const first = await (await t.post("/login", { user_id: "ada", password: PASSWORD })).json();
  const second = await (await t.post("/refresh", { refresh_token: first.refresh_token })).json();
  const grace = await t.post("/refresh", { refresh_token: first.refresh_token });
  assert.equal(grace.status, 200);
  // ada's device token presented for bob: rejected (and logged as such, without the token).
  const wrongUser = await t.post("/login", {
    user_id: "bob",
    password: PASSWORD,
    device_token: first.device_token,
  });
  assert.equal(wrongUser.status, 200);
  const garbage = "dt1.not-a-real-token";
  await t.post("/login", { user_id: "bob", password: PASSWORD, device_token: garbage });
  assert.ok(t.logLines.some((line) => line.includes("device_token_rejected")));
  const log = t.logLines.join("\n");
  for (const secret of [first.refresh_token, second.refresh_token, first.device_token, garbage]) {
    assert.ok(!log.includes(secret), "a token reached the log");
    assert.ok(!log.includes(secret.slice(-16)), "part of a token reached the log");
  }
});

Deno.test("a device token cannot be minted without SECRET_KEY", () => {
  const options = { ttlSeconds: 60, now: () => 0 };
  const a = createDeviceTokens({ secret: "a".repeat(40), ...options });
  const b = createDeviceTokens({ secret: "b".repeat(40), ...options });
  const token = a.issue("ada", "$argon2id$fingerprint", undefined);
  assert.ok(!("problem" in a.check(token, "ada")));
  assert.ok("problem" in b.check(token, "ada"), "another key must not accept it");
});
