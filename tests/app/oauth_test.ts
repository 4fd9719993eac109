/**
 * The OAuth endpoints in-process: every grant, every RFC 6749 section 5.2 error with its exact
 * shape, revocation, introspection, the metadata, `/admin/clients`, and `requireAuth`'s scopes
 * and introspection mode. The same flows with a real client library against a real server
 * process are in tests/e2e/oauth_test.ts.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { SignJWT } from "jose";
import { requireAuth } from "../../src/middleware/require_auth.ts";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import { fakeStores, type Faults } from "../helpers/fake_stores.ts";

const PASSWORD = "correct horse battery";
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replaceAll("%20", "+");
  return `Basic ${btoa(`${enc(id)}:${enc(secret)}`)}`;
}

function postForm(
  t: TestApp,
  path: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
  client?: string,
) {
  return t.request(path, {
    method: "POST",
    headers: { ...FORM, ...headers },
    body: new URLSearchParams(params).toString(),
  }, client);
}

/** Asserts an RFC 6749 section 5.2 error: status, code, and exactly the two members. */
async function assertOAuthError(res: Response, status: number, error: string) {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error, error);
  assert.equal(typeof body.error_description, "string");
  assert.deepEqual(Object.keys(body).sort(), ["error", "error_description"]);
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  assert.match(res.headers.get("Content-Type") ?? "", /^application\/json/);
  return body;
}

async function setup(vars: Record<string, string> = {}) {
  const t = await makeApp(vars);
  await addUser(t, "ada", PASSWORD, ["user", "admin"]);
  const reports = await t.services.clients.add("reports", { scopes: ["orders:read", "stats"] });
  const webapp = await t.services.clients.add("webapp", {
    grantTypes: ["password", "refresh_token"],
  });
  return { t, reportsSecret: reports.secret, webappSecret: webapp.secret };
}

Deno.test("password grant: form in, RFC 6749 5.1 answer out; scope picks the role", async () => {
  const { t } = await setup();
  using _ = t;
  const res = await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  assert.equal(res.headers.get("Pragma"), "no-cache");
  const body = await res.json();
  assert.deepEqual(Object.keys(body).sort(), [
    "access_token",
    "device_token", // an extra parameter (RFC 6749 5.1): the same device token /login gives
    "expires_in",
    "refresh_token",
    "scope",
    "token_type",
  ]);
  assert.match(body.device_token, /^dt1\./);
  assert.equal(body.token_type, "Bearer");
  assert.equal(body.expires_in, t.config.tokenTtl);
  assert.equal(body.scope, "user");
  const me = await t.request("/me", { headers: { Authorization: `Bearer ${body.access_token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).claims.role, "user");

  const admin = await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
    scope: "admin",
  });
  assert.equal((await admin.json()).scope, "admin");
});

Deno.test("password grant: errors are invalid_grant, invalid_scope, invalid_request", async () => {
  const { t } = await setup();
  using _ = t;
  const grant = (extra: Record<string, string>) =>
    postForm(t, "/oauth/token", { grant_type: "password", username: "ada", ...extra });
  const wrong = await assertOAuthError(
    await grant({ password: "wrong password" }),
    400,
    "invalid_grant",
  );
  assert.equal(wrong.error_description, "invalid credentials");
  await assertOAuthError(
    await postForm(t, "/oauth/token", {
      grant_type: "password",
      username: "nobody",
      password: PASSWORD,
    }),
    400,
    "invalid_grant",
  );
  await assertOAuthError(await grant({ password: PASSWORD, scope: "root" }), 400, "invalid_scope");
  await assertOAuthError(
    await grant({ password: PASSWORD, scope: "user admin" }),
    400,
    "invalid_scope",
  );
  const missing = await assertOAuthError(
    await postForm(t, "/oauth/token", { grant_type: "password", password: PASSWORD }),
    400,
    "invalid_request",
  );
  assert.equal(missing.error_description, "username is required");
  await assertOAuthError(await grant({}), 400, "invalid_request");
  await assertOAuthError(
    await postForm(t, "/oauth/token", { username: "ada", password: PASSWORD }),
    400,
    "invalid_request",
  );
  await assertOAuthError(
    await postForm(t, "/oauth/token", { grant_type: "implicit", code: "x" }),
    400,
    "unsupported_grant_type",
  );
  // The code grant needs a registered client (tests/app/browser_sign_in_test.ts has the rest).
  await assertOAuthError(
    await postForm(t, "/oauth/token", { grant_type: "authorization_code", code: "x" }),
    401,
    "invalid_client",
  );
  // JSON is not OAuth; a repeated parameter is refused (RFC 6749 section 3.2).
  await assertOAuthError(
    await t.post("/oauth/token", { grant_type: "password", username: "ada", password: PASSWORD }),
    400,
    "invalid_request",
  );
  const repeated = await t.request("/oauth/token", {
    method: "POST",
    headers: FORM,
    body: `grant_type=password&username=ada&username=eve&password=${encodeURIComponent(PASSWORD)}`,
  });
  await assertOAuthError(repeated, 400, "invalid_request");
  // Body limit: still the OAuth shape, never 5xx.
  const huge = await postForm(t, "/oauth/token", {
    grant_type: "password",
    junk: "x".repeat(20_000),
  });
  // 413, as the JSON API answers, in RFC 6749's shape (review N1).
  const tooLarge = await assertOAuthError(huge, 413, "invalid_request");
  assert.match(tooLarge.error_description, /at most 16384 bytes/);
});

Deno.test("password grant shares /login's limits (one counter, not a copy)", async () => {
  const { t } = await setup({
    LOGIN_LIMIT_PER_ACCOUNT: "2/15m",
    LOGIN_LIMIT_PER_CLIENT: "1000/1m",
  });
  using _ = t;
  for (let i = 0; i < 2; i++) {
    assert.equal(
      (await t.post("/login", { user_id: "ada", password: "wrong password" })).status,
      401,
    );
  }
  const res = await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
  });
  await assertOAuthError(res, 429, "too_many_attempts");
  assert.ok(Number(res.headers.get("Retry-After")) > 0);
});

Deno.test("refresh_token grant shares /refresh's per-client limit and its refusal metrics", async () => {
  const { t } = await setup({ REFRESH_LIMIT_PER_CLIENT: "2/1m", METRICS_TOKEN: "metrics-token-1" });
  using _ = t;
  const unknown = "A".repeat(43);
  assert.equal((await t.post("/refresh", { refresh_token: unknown })).status, 401);
  const refused = await postForm(t, "/oauth/token", {
    grant_type: "refresh_token",
    refresh_token: unknown,
  });
  await assertOAuthError(refused, 400, "invalid_grant");
  // Two refreshes from this address so far, one per door: the third is over the one limit.
  const limited = await postForm(t, "/oauth/token", {
    grant_type: "refresh_token",
    refresh_token: unknown,
  });
  await assertOAuthError(limited, 429, "too_many_attempts");
  assert.ok(Number(limited.headers.get("Retry-After")) > 0);
  assert.equal((await t.post("/refresh", { refresh_token: unknown })).status, 429);
  const metrics = await (await t.request("/metrics", {
    headers: { Authorization: "Bearer metrics-token-1" },
  })).text();
  assert.match(metrics, /auth_refreshes_total\{outcome="invalid_refresh_token"\} 2/);
  assert.match(metrics, /auth_rate_limited_total\{limit="refresh_client",source="memory"\} 2/);
});

Deno.test("client auth: basic and post; invalid_client 401, Basic challenge only after Basic", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const cc = { grant_type: "client_credentials" };
  const viaBasic = await postForm(t, "/oauth/token", cc, {
    Authorization: basic("reports", reportsSecret),
  });
  assert.equal(viaBasic.status, 200);
  const viaPost = await postForm(t, "/oauth/token", {
    ...cc,
    client_id: "reports",
    client_secret: reportsSecret,
  });
  assert.equal(viaPost.status, 200);

  const badBasic = await postForm(t, "/oauth/token", cc, {
    Authorization: basic("reports", "wrong"),
  });
  await assertOAuthError(badBasic, 401, "invalid_client");
  assert.match(badBasic.headers.get("WWW-Authenticate") ?? "", /^Basic /);
  const unknownBasic = await postForm(t, "/oauth/token", cc, {
    Authorization: basic("nobody", reportsSecret),
  });
  await assertOAuthError(unknownBasic, 401, "invalid_client");
  const badPost = await postForm(t, "/oauth/token", {
    ...cc,
    client_id: "reports",
    client_secret: "wrong",
  });
  await assertOAuthError(badPost, 401, "invalid_client");
  assert.equal(badPost.headers.get("WWW-Authenticate"), null);
  // A registered (confidential) client must prove its secret; no client at all cannot do cc.
  await assertOAuthError(
    await postForm(t, "/oauth/token", { ...cc, client_id: "reports" }),
    401,
    "invalid_client",
  );
  await assertOAuthError(await postForm(t, "/oauth/token", cc), 401, "invalid_client");
  // Two methods at once is invalid_request (RFC 6749 section 2.3).
  await assertOAuthError(
    await postForm(t, "/oauth/token", { ...cc, client_secret: reportsSecret }, {
      Authorization: basic("reports", reportsSecret),
    }),
    400,
    "invalid_request",
  );
  const garbage = await postForm(t, "/oauth/token", cc, { Authorization: "Basic !!!" });
  await assertOAuthError(garbage, 401, "invalid_client");
});

Deno.test("client_credentials: sub and client_id name the client, scope within its own, no refresh", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const auth = { Authorization: basic("reports", reportsSecret) };
  const res = await postForm(t, "/oauth/token", {
    grant_type: "client_credentials",
    scope: "orders:read",
  }, auth);
  const body = await res.json();
  assert.equal(res.status, 200);
  assert.equal(body.refresh_token, undefined);
  assert.equal(body.scope, "orders:read");
  const introspected = await (await postForm(t, "/oauth/introspect", {
    token: body.access_token,
  }, auth)).json();
  assert.equal(introspected.active, true);
  assert.equal(introspected.sub, "reports");
  assert.equal(introspected.client_id, "reports");
  assert.equal(introspected.scope, "orders:read");
  assert.equal(introspected.sid, undefined);

  const all = await (await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, auth))
    .json();
  assert.equal(all.scope, "orders:read stats");
  await assertOAuthError(
    await postForm(
      t,
      "/oauth/token",
      { grant_type: "client_credentials", scope: "orders:write" },
      auth,
    ),
    400,
    "invalid_scope",
  );
  // A service-account token is no user's: the server's own routes refuse it.
  const me = await t.request("/me", { headers: { Authorization: `Bearer ${body.access_token}` } });
  assert.equal(me.status, 401);
});

Deno.test("unauthorized_client: a client uses only the grant types it was given", async () => {
  const { t, reportsSecret, webappSecret } = await setup();
  using _ = t;
  await assertOAuthError(
    await postForm(t, "/oauth/token", {
      grant_type: "password",
      username: "ada",
      password: PASSWORD,
    }, {
      Authorization: basic("reports", reportsSecret),
    }),
    400,
    "unauthorized_client",
  );
  await assertOAuthError(
    await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, {
      Authorization: basic("webapp", webappSecret),
    }),
    400,
    "unauthorized_client",
  );
  const ok = await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
  }, { Authorization: basic("webapp", webappSecret) });
  assert.equal(ok.status, 200);
});

Deno.test("refresh_token grant: rotation, and reuse ends the session as /refresh does", async () => {
  const { t } = await setup();
  using _ = t;
  const first = await login(t, "ada", PASSWORD);
  const res = await postForm(t, "/oauth/token", {
    grant_type: "refresh_token",
    refresh_token: first.refresh_token,
  });
  const rotated = await res.json();
  assert.equal(res.status, 200);
  assert.notEqual(rotated.refresh_token, first.refresh_token);
  assert.equal(rotated.scope, "user");
  t.clock.advance(t.config.refreshGraceSeconds + 1);
  const reused = await assertOAuthError(
    await postForm(t, "/oauth/token", {
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
    }),
    400,
    "invalid_grant",
  );
  assert.match(reused.error_description, /already used/);
  const me = await t.request("/me", {
    headers: { Authorization: `Bearer ${rotated.access_token}` },
  });
  assert.equal(me.status, 401, "reuse revoked the session");
  await assertOAuthError(
    await postForm(t, "/oauth/token", { grant_type: "refresh_token", refresh_token: "garbage" }),
    400,
    "invalid_grant",
  );
  await assertOAuthError(
    await postForm(t, "/oauth/token", { grant_type: "refresh_token" }),
    400,
    "invalid_request",
  );
});

Deno.test("refresh_token grant: inside the grace window the parent converges on the current token", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const first = await login(t, "ada", PASSWORD);
  const grant = { grant_type: "refresh_token", refresh_token: first.refresh_token };
  const [a, b] = await Promise.all([
    postForm(t, "/oauth/token", grant),
    postForm(t, "/oauth/token", grant),
  ]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const [bodyA, bodyB] = [await a.json(), await b.json()];
  assert.equal(bodyA.refresh_token, bodyB.refresh_token, "one refresh token, nothing forked");
  // The same token also works through /refresh: one session service behind both doors.
  const next = await t.post("/refresh", { refresh_token: bodyA.refresh_token });
  assert.equal(next.status, 200);
  const introspected = await postForm(t, "/oauth/introspect", { token: bodyB.access_token }, {
    Authorization: basic("reports", reportsSecret),
  });
  assert.equal((await introspected.json()).active, true);
});

Deno.test("revoke (RFC 7009): refresh or access token ends the session; unknown is 200", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const viaRefresh = await login(t, "ada", PASSWORD);
  const r1 = await postForm(t, "/oauth/revoke", { token: viaRefresh.refresh_token });
  assert.equal(r1.status, 200);
  assert.equal(r1.headers.get("Cache-Control"), "no-store");
  const me1 = await t.request("/me", { headers: { Authorization: `Bearer ${viaRefresh.token}` } });
  assert.equal(me1.status, 401);

  const viaAccess = await login(t, "ada", PASSWORD);
  // RFC 7009 section 2.1: a /login session is no client's to end (issue 23).
  await assertOAuthError(
    await postForm(t, "/oauth/revoke", {
      token: viaAccess.token,
      token_type_hint: "access_token",
    }, { Authorization: basic("reports", reportsSecret) }),
    400,
    "unauthorized_client",
  );
  const r2 = await postForm(t, "/oauth/revoke", {
    token: viaAccess.token,
    token_type_hint: "access_token",
  });
  assert.equal(r2.status, 200);
  const refreshed = await t.post("/refresh", { refresh_token: viaAccess.refresh_token });
  assert.equal(refreshed.status, 401, "its refresh token died with the session");

  assert.equal((await postForm(t, "/oauth/revoke", { token: "no-such-token" })).status, 200);
  await assertOAuthError(await postForm(t, "/oauth/revoke", {}), 400, "invalid_request");
  await assertOAuthError(
    await postForm(t, "/oauth/revoke", { token: "x" }, { Authorization: basic("reports", "bad") }),
    401,
    "invalid_client",
  );
});

Deno.test("introspect (RFC 7662): client-authenticated; inactive for expired, revoked, garbage, foreign", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const auth = { Authorization: basic("reports", reportsSecret) };
  const pair = await login(t, "ada", PASSWORD);
  await assertOAuthError(
    await postForm(t, "/oauth/introspect", { token: pair.token }),
    401,
    "invalid_client",
  );
  const live = await postForm(t, "/oauth/introspect", { token: pair.token }, auth);
  assert.equal(live.headers.get("Cache-Control"), "no-store");
  const claims = await live.json();
  assert.equal(claims.active, true);
  assert.equal(claims.sub, "ada");
  assert.equal(claims.username, "ada");
  assert.equal(claims.role, "user");
  assert.equal(claims.token_type, "Bearer");
  assert.equal(typeof claims.exp, "number");

  const inactive = async (token: string) => {
    const res = await postForm(t, "/oauth/introspect", { token }, auth);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { active: false });
  };
  await inactive("garbage");
  // Another issuer's token, signed with our very key: still not ours.
  const ring = t.keys();
  const foreign = await new SignJWT({ sub: "ada", role: "user", sid: "x" })
    .setProtectedHeader({ alg: ring.signing.alg, typ: "JWT", kid: ring.signing.kid })
    .setIssuer("https://elsewhere.test").setIssuedAt(t.clock.ms / 1000)
    .setExpirationTime(t.clock.ms / 1000 + 600).sign(ring.signing.key);
  await inactive(foreign);
  // A refresh token is not an access token: resources never introspect those.
  await inactive(pair.refresh_token);

  await postForm(t, "/logout", {}, {}); // no bearer: no effect
  const other = await login(t, "ada", PASSWORD);
  await t.request("/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${other.token}` },
  });
  await inactive(other.token);

  t.clock.advance(t.config.tokenTtl + 1);
  await inactive(pair.token);
});

Deno.test("a removed client's token introspects inactive; rotate-secret kills the old secret", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const auth = { Authorization: basic("reports", reportsSecret) };
  const token =
    (await (await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, auth))
      .json()).access_token;
  const rotated = await t.services.clients.rotateSecret("reports");
  await assertOAuthError(
    await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, auth),
    401,
    "invalid_client",
  );
  const newAuth = { Authorization: basic("reports", rotated.secret) };
  // Rotation is the answer to a leaked secret: what it minted is over too (review C4).
  const rotatedAway = await (await postForm(t, "/oauth/introspect", { token }, newAuth)).json();
  assert.deepEqual(rotatedAway, { active: false });
  const fresh =
    (await (await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, newAuth))
      .json()).access_token;
  const live = await (await postForm(t, "/oauth/introspect", { token: fresh }, newAuth)).json();
  assert.equal(live.active, true);
  assert.equal(live.client_gen, undefined, "the generation is not shown");
  const webapp = await t.services.clients.add("auditor");
  await t.services.clients.remove("reports");
  const gone = await postForm(t, "/oauth/introspect", { token: fresh }, {
    Authorization: basic("auditor", webapp.secret),
  });
  assert.deepEqual(await gone.json(), { active: false });
});

Deno.test("metadata (RFC 8414) names only what works; no OpenID document under HS256", async () => {
  const { t } = await setup();
  using _ = t;
  const res = await t.request("/.well-known/oauth-authorization-server");
  assert.equal(res.status, 200);
  const meta = await res.json();
  const base = t.config.issuer;
  assert.equal(meta.issuer, base);
  assert.equal(meta.token_endpoint, `${base}/oauth/token`);
  assert.equal(meta.revocation_endpoint, `${base}/oauth/revoke`);
  assert.equal(meta.introspection_endpoint, `${base}/oauth/introspect`);
  assert.equal(meta.jwks_uri, `${base}/.well-known/jwks.json`);
  assert.equal(meta.authorization_endpoint, `${base}/authorize`);
  assert.deepEqual(meta.grant_types_supported, [
    "authorization_code",
    "password",
    "refresh_token",
    "client_credentials",
  ]);
  assert.deepEqual(meta.response_types_supported, ["code"]);
  assert.deepEqual(meta.code_challenge_methods_supported, ["S256"]);
  // Clients with scopes exist, yet none are listed: the document reads no store (review S4).
  assert.equal(meta.scopes_supported, undefined);
  assert.deepEqual(meta.introspection_endpoint_auth_methods_supported, [
    "client_secret_basic",
    "client_secret_post",
  ]);
  assert.equal(meta.userinfo_endpoint, undefined, "an OpenID endpoint, not RFC 8414's");
  // Every endpoint it names answers a POST in the OAuth error shape, not 404 or JSON errors.
  for (const field of ["token_endpoint", "revocation_endpoint", "introspection_endpoint"]) {
    const path = new URL(meta[field]).pathname;
    const answer = await postForm(t, path, {});
    const body = await answer.json();
    assert.ok(
      ["invalid_request", "invalid_client"].includes(body.error),
      `${field}: ${body.error}`,
    );
  }
  // Under HS256 no ID token can be signed: no OpenID provider document (docs/browser-sign-in.md).
  const oidc = await t.request("/.well-known/openid-configuration");
  assert.equal(oidc.status, 404);
  assert.equal((await oidc.json()).code, "not_found");
});

Deno.test("/admin/clients: create (secret once), list, rotate, remove; admins only", async () => {
  const { t } = await setup();
  using _ = t;
  const admin = await login(t, "ada", PASSWORD, "admin");
  const user = await login(t, "ada", PASSWORD, "user");
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  assert.equal((await t.request("/admin/clients", { headers: as(user.token) })).status, 403);
  const created = await t.post("/admin/clients", {
    client_id: "billing",
    scopes: ["invoices:write"],
  }, as(admin.token));
  assert.equal(created.status, 201);
  const body = await created.json();
  assert.equal(body.client_id, "billing");
  assert.deepEqual(body.grant_types, ["client_credentials"]);
  assert.match(body.client_secret, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(
    (await t.post("/admin/clients", { client_id: "billing" }, as(admin.token))).status,
    409,
  );
  assert.equal(
    (await t.post("/admin/clients", { client_id: "bad id" }, as(admin.token))).status,
    400,
  );
  const listed = await (await t.request("/admin/clients", { headers: as(admin.token) })).json();
  assert.deepEqual(listed.clients.map((c: { client_id: string }) => c.client_id).sort(), [
    "billing",
    "reports",
    "webapp",
  ]);
  assert.ok(!JSON.stringify(listed).includes(body.client_secret));
  assert.ok(!JSON.stringify(listed).includes("secret"), "no secret or hash is listed");
  const rotated = await t.post("/admin/clients/billing/secret", {}, as(admin.token));
  assert.equal(rotated.status, 200);
  const fresh = (await rotated.json()).client_secret;
  assert.notEqual(fresh, body.client_secret);
  const cc = await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, {
    Authorization: basic("billing", fresh),
  });
  assert.equal(cc.status, 200);
  const removed = await t.request("/admin/clients/billing", {
    method: "DELETE",
    headers: as(admin.token),
  });
  assert.equal(removed.status, 204);
  const again = await t.request("/admin/clients/billing", {
    method: "DELETE",
    headers: as(admin.token),
  });
  assert.equal(again.status, 404);
});

Deno.test("requireAuth scopes: 403 insufficient_scope (RFC 6750) when a scope is missing", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const token = (await (await postForm(t, "/oauth/token", {
    grant_type: "client_credentials",
    scope: "stats",
  }, { Authorization: basic("reports", reportsSecret) })).json()).access_token;
  const service = new Hono();
  const options = { issuer: t.config.issuer, keyRing: t.keys, now: t.clock.now };
  service.get("/stats", requireAuth({ ...options, scopes: ["stats"] }), (c) => c.text("ok"));
  service.get("/orders", requireAuth({ ...options, scopes: ["orders:read"] }), (c) => c.text("ok"));
  const ok = await service.request("/stats", { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  const refused = await service.request("/orders", {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).code, "insufficient_scope");
  const challenge = refused.headers.get("WWW-Authenticate") ?? "";
  assert.match(challenge, /^Bearer realm="auth", error="insufficient_scope"/);
  assert.match(challenge, /scope="orders:read"$/);
  // A user's token has no scope claim: refused the same way.
  const pair = await login(t, "ada", PASSWORD);
  const user = await service.request("/stats", {
    headers: { Authorization: `Bearer ${pair.token}` },
  });
  assert.equal(user.status, 403);
  assert.throws(() => requireAuth({ ...options, scopes: ["has space"] }), TypeError);
});

Deno.test("requireAuth introspection mode: sees a revocation after its short cache; 503 when down", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  let calls = 0;
  let down = false;
  const service = new Hono();
  service.get(
    "/orders",
    requireAuth({
      issuer: t.config.issuer,
      keyRing: t.keys,
      now: t.clock.now,
      introspection: {
        url: `${t.config.issuer}/oauth/introspect`,
        clientId: "reports",
        clientSecret: reportsSecret,
        cacheMs: 2_000,
        fetch: (url, init) => {
          calls++;
          if (down) return Promise.reject(new Error("connection refused"));
          return Promise.resolve(t.app.request(url, init));
        },
      },
    }),
    (c) => c.text("ok"),
  );
  const pair = await login(t, "ada", PASSWORD);
  const get = () =>
    service.request("/orders", { headers: { Authorization: `Bearer ${pair.token}` } });
  assert.equal((await get()).status, 200);
  assert.equal((await get()).status, 200);
  assert.equal(calls, 1, "the second answer came from the cache");
  await t.request("/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${pair.token}` },
  });
  assert.equal((await get()).status, 200, "cached for at most cacheMs");
  t.clock.advance(3);
  const revoked = await get();
  assert.equal(revoked.status, 401);
  assert.match(revoked.headers.get("WWW-Authenticate") ?? "", /invalid_token/);
  assert.equal(calls, 2);

  const other = await login(t, "ada", PASSWORD);
  down = true;
  const unavailable = await service.request("/orders", {
    headers: { Authorization: `Bearer ${other.token}` },
  });
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.headers.get("Retry-After"), "1");
  assert.throws(
    () =>
      requireAuth({
        issuer: "x",
        keyRing: t.keys,
        introspection: { url: "http://x/", clientId: "a", clientSecret: "b", cacheMs: 3_600_000 },
      }),
    TypeError,
  );
});

/** A password-grant pair for ada through `client` (Basic), or with no client. */
async function passwordPair(t: TestApp, auth: Record<string, string> = {}) {
  const res = await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
  }, auth);
  assert.equal(res.status, 200);
  return await res.json() as { access_token: string; refresh_token: string };
}

function refreshGrant(t: TestApp, refreshToken: string, auth: Record<string, string> = {}) {
  return postForm(t, "/oauth/token", {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
  }, auth);
}

Deno.test("a client's refresh token needs that client (RFC 6749 6, 10.4); refusals change nothing", async () => {
  const { t, webappSecret } = await setup();
  using _ = t;
  const other = await t.services.clients.add("other", {
    grantTypes: ["password", "refresh_token"],
  });
  const webapp = { Authorization: basic("webapp", webappSecret) };
  const pair = await passwordPair(t, webapp);

  // Stolen, and presented without the client, by another client, or at the public /refresh.
  const bare = await assertOAuthError(
    await refreshGrant(t, pair.refresh_token),
    400,
    "invalid_grant",
  );
  assert.match(bare.error_description, /issued to an OAuth client/);
  await assertOAuthError(
    await refreshGrant(t, pair.refresh_token, { Authorization: basic("other", other.secret) }),
    400,
    "invalid_grant",
  );
  await assertOAuthError(
    await refreshGrant(t, pair.refresh_token, { Authorization: basic("webapp", "wrong") }),
    401,
    "invalid_client",
  );
  const viaPublic = await t.post("/refresh", { refresh_token: pair.refresh_token });
  assert.equal(viaPublic.status, 401);
  const publicBody = await viaPublic.json();
  assert.equal(publicBody.code, "invalid_refresh_token");
  assert.match(publicBody.error, /\/oauth\/token/);

  // None of that revoked or rotated anything: the client itself still refreshes its token, and
  // the binding holds for the rotated token too.
  const me = await t.request("/me", { headers: { Authorization: `Bearer ${pair.access_token}` } });
  assert.equal(me.status, 200);
  const rotated = await refreshGrant(t, pair.refresh_token, webapp);
  assert.equal(rotated.status, 200);
  const next = await rotated.json();
  await assertOAuthError(await refreshGrant(t, next.refresh_token), 400, "invalid_grant");
  assert.equal((await refreshGrant(t, next.refresh_token, webapp)).status, 200);
});

Deno.test("sessions with no client (/login, public password grant) refresh with no client only", async () => {
  const { t, webappSecret } = await setup();
  using _ = t;
  const webapp = { Authorization: basic("webapp", webappSecret) };
  const fromLogin = await login(t, "ada", PASSWORD);
  // A client cannot take over a session that was never issued to it.
  await assertOAuthError(
    await refreshGrant(t, fromLogin.refresh_token, webapp),
    400,
    "invalid_grant",
  );
  const granted = await refreshGrant(t, fromLogin.refresh_token);
  assert.equal(granted.status, 200);
  const viaJson = await t.post("/refresh", {
    refresh_token: (await granted.json()).refresh_token,
  });
  assert.equal(viaJson.status, 200);

  const publicPair = await passwordPair(t);
  assert.equal((await t.post("/refresh", { refresh_token: publicPair.refresh_token })).status, 200);
});

Deno.test("a client removed and added again does not revive its old tokens or their scopes", async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const old = await (await postForm(t, "/oauth/token", {
    grant_type: "client_credentials",
    scope: "orders:read",
  }, { Authorization: basic("reports", reportsSecret) })).json();
  await t.services.clients.remove("reports");
  const again = await t.services.clients.add("reports", { scopes: [] });
  const auth = { Authorization: basic("reports", again.secret) };
  const introspect = async (token: string) =>
    await (await postForm(t, "/oauth/introspect", { token }, auth)).json();
  assert.deepEqual(await introspect(old.access_token), { active: false });
  const fresh =
    await (await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, auth))
      .json();
  assert.equal((await introspect(fresh.access_token)).active, true);

  // Same registration, but a scope the client no longer has: inactive too.
  const entry = (await t.stores.clients.getClient("reports"))!;
  const scoped = await t.services.clients.issueToken(entry.value, ["orders:read"]);
  assert.deepEqual(await introspect(scoped.token), { active: false });
});

Deno.test("revoking a service-account token: unsupported_token_type (RFC 7009 2.2.1), as documented", async () => {
  const { t, reportsSecret, webappSecret } = await setup();
  using _ = t;
  const auth = { Authorization: basic("reports", reportsSecret) };
  const token =
    (await (await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, auth))
      .json()).access_token;
  const refused = await assertOAuthError(
    await postForm(t, "/oauth/revoke", { token, token_type_hint: "access_token" }, auth),
    400,
    "unsupported_token_type",
  );
  assert.match(refused.error_description, /rotate the client's secret/);
  // Not silently "revoked": the token is still active, until the secret is rotated.
  const introspect = async () =>
    (await (await postForm(t, "/oauth/introspect", { token }, {
      Authorization: basic("webapp", webappSecret),
    })).json()).active;
  assert.equal(await introspect(), true);
  await t.services.clients.rotateSecret("reports");
  assert.equal(await introspect(), false);
  t.clock.advance(t.config.tokenTtl + 1);
  assert.equal(
    (await postForm(t, "/oauth/revoke", { token })).status,
    200,
    "expired: nothing to do",
  );
});

Deno.test('malformed scope (doubled, edge or empty items) is invalid_scope "malformed" (RFC 6749 3.3)', async () => {
  const { t, reportsSecret } = await setup();
  using _ = t;
  const auth = { Authorization: basic("reports", reportsSecret) };
  for (const scope of ["orders:read  stats", " stats", "stats ", " "]) {
    const body = await assertOAuthError(
      await postForm(t, "/oauth/token", { grant_type: "client_credentials", scope }, auth),
      400,
      "invalid_scope",
    );
    assert.match(body.error_description, /malformed/, JSON.stringify(scope));
  }
  const more = await assertOAuthError(
    await postForm(t, "/oauth/token", { grant_type: "client_credentials", scope: "stats x" }, auth),
    400,
    "invalid_scope",
  );
  assert.match(more.error_description, /asks for more/);
  const password = await assertOAuthError(
    await postForm(t, "/oauth/token", {
      grant_type: "password",
      username: "ada",
      password: PASSWORD,
      scope: "user  admin",
    }),
    400,
    "invalid_scope",
  );
  assert.match(password.error_description, /malformed/);
});

Deno.test("requireAuth subjects: users by default; a client named like a user is not that user", async () => {
  const { t } = await setup();
  using _ = t;
  const alice = await t.services.clients.add("ada"); // a client id equal to a user id
  const clientToken = (await (await postForm(t, "/oauth/token", {
    grant_type: "client_credentials",
  }, { Authorization: basic("ada", alice.secret) })).json()).access_token;
  const userToken = (await login(t, "ada", PASSWORD)).token;
  const options = { issuer: t.config.issuer, keyRing: t.keys, now: t.clock.now };
  const service = new Hono();
  service.get("/mine", requireAuth(options), (c) => c.json({ owner: c.get("auth").sub }));
  service.get("/jobs", requireAuth({ ...options, subjects: "clients" }), (c) => c.text("ok"));
  service.get("/either", requireAuth({ ...options, subjects: "any" }), (c) => c.text("ok"));
  const get = (path: string, token: string) =>
    service.request(path, { headers: { Authorization: `Bearer ${token}` } });

  const refused = await get("/mine", clientToken);
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).code, "subject_not_allowed");
  assert.match(
    refused.headers.get("WWW-Authenticate") ?? "",
    /^Bearer realm="auth", error="insufficient_scope"/,
  );
  assert.deepEqual(await (await get("/mine", userToken)).json(), { owner: "ada" });
  assert.equal((await get("/jobs", clientToken)).status, 200);
  const userAtJobs = await get("/jobs", userToken);
  assert.equal(userAtJobs.status, 403);
  assert.equal((await userAtJobs.json()).code, "subject_not_allowed");
  assert.equal((await get("/either", clientToken)).status, 200);
  assert.equal((await get("/either", userToken)).status, 200);
  assert.throws(() => requireAuth({ ...options, subjects: "users", scopes: ["x"] }), TypeError);
  assert.throws(
    () => requireAuth({ ...options, subjects: "people" as unknown as "users" }),
    TypeError,
  );
});

Deno.test("requireAuth introspection mode: rotate-secret ends a service account's tokens", async () => {
  const { t, reportsSecret, webappSecret } = await setup();
  using _ = t;
  const token = (await (await postForm(t, "/oauth/token", { grant_type: "client_credentials" }, {
    Authorization: basic("reports", reportsSecret),
  })).json()).access_token;
  const service = new Hono();
  service.get(
    "/stats",
    requireAuth({
      issuer: t.config.issuer,
      keyRing: t.keys,
      now: t.clock.now,
      scopes: ["stats"],
      introspection: {
        url: `${t.config.issuer}/oauth/introspect`,
        clientId: "webapp",
        clientSecret: webappSecret,
        cacheMs: 1_000,
        fetch: (url, init) => Promise.resolve(t.app.request(url, init)),
      },
    }),
    (c) => c.text("ok"),
  );
  const get = () => service.request("/stats", { headers: { Authorization: `Bearer ${token}` } });
  assert.equal((await get()).status, 200);
  await t.services.clients.rotateSecret("reports");
  t.clock.advance(2);
  const after = await get();
  assert.equal(after.status, 401);
  assert.match(after.headers.get("WWW-Authenticate") ?? "", /invalid_token/);
});

Deno.test("the metadata reads no store: served while the store fails, no client listed", async () => {
  const faults: Faults = { mode: "ok" };
  const t = await makeApp({}, undefined, () => fakeStores(faults));
  using _ = t;
  await t.services.clients.add("reports", { scopes: ["orders:read"] });
  faults.mode = "fail";
  const res = await t.request("/.well-known/oauth-authorization-server");
  assert.equal(res.status, 200);
  const meta = await res.json();
  assert.equal(meta.scopes_supported, undefined);
  assert.equal(meta.token_endpoint, `${t.config.issuer}/oauth/token`);
});
