/**
 * Issue 23 item 5: no access token outlives its session's absolute end (SESSION_MAX_AGE), also
 * when SESSION_MAX_AGE is shorter than TOKEN_TTL: `exp` and `expires_in` are capped at it.
 */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { addUser, login, makeApp } from "../helpers/app.ts";
import { postForm } from "../helpers/oauth_form.ts";

const PASSWORD = "correct horse battery";

Deno.test("SESSION_MAX_AGE shorter than TOKEN_TTL: the first token ends with the session", async () => {
  using t = await makeApp({ SESSION_MAX_AGE: "10m", TOKEN_TTL: "30m" });
  await addUser(t, "ada", PASSWORD);
  const pair = await login(t, "ada", PASSWORD);
  const { iat, exp } = decodeJwt(pair.token);
  assert.equal(exp! - iat!, 600);
  assert.equal(pair.expires_in, 600);
  const grant = await (await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
  })).json();
  assert.equal(grant.expires_in, 600);
  assert.equal(decodeJwt(grant.access_token).exp! - decodeJwt(grant.access_token).iat!, 600);
});

Deno.test("a refresh near the session's end gets a token that ends with it", async () => {
  using t = await makeApp({ SESSION_MAX_AGE: "1h", TOKEN_TTL: "30m", REFRESH_TTL: "1d" });
  await addUser(t, "ada", PASSWORD);
  const first = await login(t, "ada", PASSWORD);
  const end = decodeJwt(first.token).iat! + 3600;
  t.clock.advance(50 * 60);
  const res = await t.post("/refresh", { refresh_token: first.refresh_token });
  assert.equal(res.status, 200);
  const next = await res.json();
  assert.equal(decodeJwt(next.token).exp, end);
  assert.equal(next.expires_in, 600);
  // The grace answer too.
  const grace = await (await t.post("/refresh", { refresh_token: first.refresh_token })).json();
  assert.equal(decodeJwt(grace.token).exp, end);
  assert.equal(grace.expires_in, 600);
  // Far from the end, the full TOKEN_TTL as before.
  const fresh = await login(t, "ada", PASSWORD);
  assert.equal(fresh.expires_in, 1800);
});
