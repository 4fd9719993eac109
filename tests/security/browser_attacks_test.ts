/**
 * Attacks on browser sign-in (RFC 9700 section 4, RFC 6749 section 10, RFC 7636): code replay,
 * PKCE downgrade and guessing, redirect URI tricks, open redirects through logout, CSRF on the
 * login form, framing, and the `state` and `iss` a client relies on to tell answers apart. Each
 * property here has a mutant in tools/mutants.ts that this file kills.
 */
import assert from "node:assert/strict";
import { base64url } from "jose";
import { addUser, makeApp } from "../helpers/app.ts";
import {
  addBrowserClients,
  authorize,
  authorizeQuery,
  CookieJar,
  pkce,
  REDIRECT_URI,
  redirectParams,
  signInForCode,
  submitLogin,
  tokenRequest,
} from "../helpers/browser_flow.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

// Every test keeps its signing keys in a temporary directory.
const test = needs(READ, WRITE);

const PASSWORD = "correct horse battery";
const ISSUER = "https://auth.test";

async function setup() {
  const t = await makeApp({ JWT_ALG: "ES256" }, await Deno.makeTempDir());
  await addUser(t, "ada", PASSWORD, ["user"]);
  const { webSecret } = await addBrowserClients(t);
  return { t, web: { id: "web", secret: webSecret } };
}

function params(challenge: string | undefined, extra: Record<string, string | undefined> = {}) {
  return {
    response_type: "code",
    client_id: "web",
    redirect_uri: REDIRECT_URI,
    scope: "openid",
    state: "xyz",
    code_challenge: challenge,
    code_challenge_method: challenge === undefined ? undefined : "S256",
    ...extra,
  };
}

function exchange(
  t: Awaited<ReturnType<typeof setup>>["t"],
  code: string,
  verifier: string | undefined,
  web: { id: string; secret: string },
  extra: Record<string, string> = {},
) {
  return tokenRequest(t, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    ...(verifier !== undefined ? { code_verifier: verifier } : {}),
    ...extra,
  }, web);
}

async function oauthError(res: Response): Promise<string> {
  const body = await res.json();
  assert.equal(res.status, body.error === "invalid_client" ? 401 : 400, JSON.stringify(body));
  return body.error;
}

test("a code presented twice: invalid_grant, and the tokens it issued are revoked", async () => {
  const { t, web } = await setup();
  using _ = t;
  const { verifier, challenge } = pkce();
  const code = await signInForCode(t, new CookieJar(), params(challenge), "ada", PASSWORD);
  const first = await exchange(t, code, verifier, web);
  assert.equal(first.status, 200);
  const tokens = await first.json();
  const bearer = { Authorization: `Bearer ${tokens.access_token}` };
  assert.equal((await t.request("/me", { headers: bearer })).status, 200);

  assert.equal(await oauthError(await exchange(t, code, verifier, web)), "invalid_grant");
  const me = await t.request("/me", { headers: bearer });
  assert.equal(me.status, 401, "the access token's session is revoked");
  await me.body?.cancel();
  const refreshed = await tokenRequest(t, {
    grant_type: "refresh_token",
    refresh_token: tokens.refresh_token,
  }, web);
  assert.equal(await oauthError(refreshed), "invalid_grant", "and its refresh token");
  // A third time is refused just the same.
  assert.equal(await oauthError(await exchange(t, code, verifier, web)), "invalid_grant");
});

test("PKCE: a wrong or missing verifier is invalid_grant and does not spend the code", async () => {
  const { t, web } = await setup();
  using _ = t;
  const { verifier, challenge } = pkce();
  const code = await signInForCode(t, new CookieJar(), params(challenge), "ada", PASSWORD);
  assert.equal(await oauthError(await exchange(t, code, pkce().verifier, web)), "invalid_grant");
  assert.equal(await oauthError(await exchange(t, code, undefined, web)), "invalid_grant");
  // The challenge itself as verifier (what `plain` would accept).
  assert.equal(await oauthError(await exchange(t, code, challenge, web)), "invalid_grant");
  assert.equal((await exchange(t, code, verifier, web)).status, 200);
});

test("PKCE: plain, a missing method and a public client without PKCE are refused", async () => {
  const { t } = await setup();
  using _ = t;
  const { challenge } = pkce();
  for (
    const [extra, why] of [
      [{ code_challenge_method: "plain" }, "plain"],
      [{ code_challenge_method: undefined }, "no method means plain"],
    ] as const
  ) {
    const res = await authorize(t, new CookieJar(), params(challenge, extra));
    assert.equal(res.status, 302, why);
    const answer = redirectParams(res);
    assert.equal(answer.get("error"), "invalid_request", why);
    assert.equal(answer.get("code"), null);
  }
  const spa = await authorize(t, new CookieJar(), {
    response_type: "code",
    client_id: "spa",
    redirect_uri: "https://spa.example/cb",
    state: "s",
  });
  assert.equal(spa.status, 302);
  assert.equal(redirectParams(spa).get("error"), "invalid_request");
  assert.match(redirectParams(spa).get("error_description")!, /PKCE/);
});

test("a code issued without a challenge refuses a verifier (downgrade, RFC 9700 4.8.2)", async () => {
  const { t, web } = await setup();
  using _ = t;
  const code = await signInForCode(t, new CookieJar(), params(undefined), "ada", PASSWORD);
  assert.equal(await oauthError(await exchange(t, code, pkce().verifier, web)), "invalid_grant");
});

test("a code is bound to its client and redirect URI, and lives 60 seconds", async () => {
  const { t, web } = await setup();
  using _ = t;
  await t.services.clients.add("other", {
    grantTypes: ["authorization_code"],
    redirectUris: [REDIRECT_URI],
  }).then(async ({ secret }) => {
    const { verifier, challenge } = pkce();
    const code = await signInForCode(t, new CookieJar(), params(challenge), "ada", PASSWORD);
    const stolen = await exchange(t, code, verifier, { id: "other", secret });
    assert.equal(await oauthError(stolen), "invalid_grant", "another client");
    const elsewhere = await exchange(t, code, verifier, web, {
      redirect_uri: "https://app.example/callback2",
    });
    assert.equal(await oauthError(elsewhere), "invalid_grant", "another redirect_uri");
    const publicly = await tokenRequest(t, {
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      client_id: "web",
    });
    assert.equal(await oauthError(publicly), "invalid_client", "confidential without secret");
    assert.equal((await exchange(t, code, verifier, web)).status, 200);
  });
  const { verifier, challenge } = pkce();
  const code = await signInForCode(t, new CookieJar(), params(challenge), "ada", PASSWORD);
  t.clock.advance(61);
  assert.equal(await oauthError(await exchange(t, code, verifier, web)), "invalid_grant");
});

test("codes are stored only as hashes", async () => {
  const { t } = await setup();
  using _ = t;
  const code = await signInForCode(t, new CookieJar(), params(pkce().challenge), "ada", PASSWORD);
  for await (const entry of t.kv.list({ prefix: ["authorization_codes"] })) {
    assert.ok(!JSON.stringify(entry).includes(code), "the code itself is nowhere");
  }
  let found = 0;
  for await (const _entry of t.kv.list({ prefix: ["authorization_codes"] })) found++;
  assert.equal(found, 1);
});

test("redirect URIs that differ by prefix, suffix, fragment, case or userinfo: never redirected to", async () => {
  const { t } = await setup();
  using _ = t;
  const { challenge } = pkce();
  for (
    const uri of [
      "https://app.example/callbac", // prefix
      "https://app.example/callback/", // suffix
      "https://app.example/callback/../evil",
      "https://app.example/callback?x=1",
      "https://app.example/callback#frag", // fragment
      "https://APP.example/callback", // case
      "https://app.example/Callback",
      "https://evil@app.example/callback", // userinfo
      "https://app.example@evil.example/callback",
      "https://app.example.evil.example/callback",
      "http://app.example/callback",
      "https://app.example:443/callback",
    ]
  ) {
    const res = await authorize(t, new CookieJar(), params(challenge, { redirect_uri: uri }));
    assert.equal(res.status, 400, uri);
    assert.equal(res.headers.get("Location"), null, uri);
    assert.match(res.headers.get("Content-Type")!, /^text\/html/);
    const html = await res.text();
    assert.ok(!html.includes("evil"), "the page does not link to it either");
  }
  // An unknown client and a missing redirect_uri: the page too.
  for (const extra of [{ client_id: "nobody" }, { redirect_uri: undefined }]) {
    const res = await authorize(t, new CookieJar(), params(challenge, extra));
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("Location"), null);
    await res.body?.cancel();
  }
  // A repeated redirect_uri, one of them registered: the page.
  const doubled = await t.request(
    `/authorize?${authorizeQuery(params(challenge))}&redirect_uri=https%3A%2F%2Fevil.example%2F`,
  );
  assert.equal(doubled.status, 400);
  assert.equal(doubled.headers.get("Location"), null);
  await doubled.body?.cancel();
});

test("post_logout_redirect_uri: only an exact registered one is followed", async () => {
  const { t } = await setup();
  using _ = t;
  const jar = new CookieJar();
  await signInForCode(t, jar, params(pkce().challenge), "ada", PASSWORD);
  for (
    const target of [
      "https://evil.example/",
      "https://app.example/signed-out/",
      "https://app.example/signed-outx",
      "https://app.example/signed-out#x",
      "https://APP.example/signed-out",
      REDIRECT_URI, // registered, but as a redirect URI, not for logout
    ]
  ) {
    for (const client of ["web", undefined]) {
      const query = new URLSearchParams({ post_logout_redirect_uri: target, state: "s" });
      if (client) query.set("client_id", client);
      const res = await t.request(`/end-session?${query}`, { headers: { Cookie: jar.header() } });
      assert.equal(res.status, 400, target);
      assert.equal(res.headers.get("Location"), null, target);
      await res.body?.cancel();
    }
  }
  assert.equal((await authorize(t, jar, params(pkce().challenge))).status, 302, "still in");
  const forged = await t.request(
    `/end-session?id_token_hint=${"e30.e30.sig"}&post_logout_redirect_uri=${
      encodeURIComponent("https://app.example/signed-out")
    }`,
  );
  assert.equal(forged.status, 400, "a hint we did not sign");
  assert.equal(forged.headers.get("Location"), null);
  await forged.body?.cancel();
});

test("login form CSRF: a missing or wrong token or cookie is refused before any check", async () => {
  const { t } = await setup();
  using _ = t;
  const jar = new CookieJar();
  const page = await (await authorize(t, jar, params(pkce().challenge))).text();
  const attempts: [string, Record<string, string>, boolean][] = [
    ["no token", { csrf_token: "" }, true],
    ["wrong token", { csrf_token: "A".repeat(43) }, true],
    ["no cookie", {}, false],
  ];
  for (const [why, override, withCookie] of attempts) {
    const bare = new CookieJar();
    const res = await submitLogin(t, withCookie ? jar : bare, page, "ada", PASSWORD, override);
    assert.equal(res.status, 403, why);
    assert.equal(res.headers.get("Location"), null, why);
    assert.ok(
      !res.headers.getSetCookie().some((c) => c.includes("auth_session=")),
      `${why}: no session`,
    );
    await res.body?.cancel();
  }
  // A token from another browser's cookie does not fit this one's.
  const other = new CookieJar();
  const otherPage = await (await authorize(t, other, params(pkce().challenge))).text();
  const swapped = await submitLogin(t, jar, otherPage, "ada", PASSWORD);
  assert.equal(swapped.status, 403);
  await swapped.body?.cancel();
  // And the genuine form works.
  assert.equal((await submitLogin(t, jar, page, "ada", PASSWORD)).status, 303);
});

test("the sign-in pages cannot be framed", async () => {
  const { t } = await setup();
  using _ = t;
  const jar = new CookieJar();
  const pages = [
    await authorize(t, jar, params(pkce().challenge)),
    await authorize(t, jar, params(pkce().challenge, { client_id: "nobody" })),
    await t.request("/end-session"),
  ];
  for (const res of pages) {
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    assert.match(csp, /(^|;\s*)frame-ancestors 'none'(;|$)/, csp);
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    await res.body?.cancel();
  }
});

test("state and iss are echoed on every answer to the client", async () => {
  const { t } = await setup();
  using _ = t;
  const state = "a b&c=d/é";
  const jar = new CookieJar();
  const page = await (await authorize(t, jar, params(pkce().challenge, { state }))).text();
  const ok = redirectParams(await submitLogin(t, jar, page, "ada", PASSWORD));
  assert.equal(ok.get("state"), state);
  assert.equal(ok.get("iss"), ISSUER);
  const sso = redirectParams(await authorize(t, jar, params(pkce().challenge, { state })));
  assert.equal(sso.get("state"), state);
  assert.equal(sso.get("iss"), ISSUER);
  for (
    const extra of [
      { response_type: "token" },
      { code_challenge_method: "plain" },
      { scope: "openid a b" },
      { prompt: "none login" },
    ]
  ) {
    const error = redirectParams(
      await authorize(
        t,
        new CookieJar(),
        params(pkce().challenge, {
          state,
          ...extra,
        }),
      ),
    );
    assert.ok(error.get("error"), JSON.stringify(extra));
    assert.equal(error.get("state"), state);
    assert.equal(error.get("iss"), ISSUER);
  }
});

test("an id_token_hint with a forged payload is refused (our signature is checked)", async () => {
  const { t, web } = await setup();
  using _ = t;
  const { verifier, challenge } = pkce();
  const jar = new CookieJar();
  const code = await signInForCode(t, jar, params(challenge), "ada", PASSWORD);
  const { id_token } = await (await exchange(t, code, verifier, web)).json();
  const [header, payload, signature] = id_token.split(".");
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
  const forged = [
    header,
    base64url.encode(JSON.stringify({ ...claims, sub: "someone-else" })),
    signature,
  ].join(".");
  const query = new URLSearchParams({
    id_token_hint: forged,
    post_logout_redirect_uri: "https://app.example/signed-out",
  });
  const res = await t.request(`/end-session?${query}`, { headers: { Cookie: jar.header() } });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("Location"), null);
  await res.body?.cancel();
  assert.equal((await authorize(t, jar, params(pkce().challenge))).status, 302, "still in");
  // The genuine hint works.
  query.set("id_token_hint", id_token);
  const genuine = await t.request(`/end-session?${query}`, { headers: { Cookie: jar.header() } });
  assert.equal(genuine.status, 302);
});
