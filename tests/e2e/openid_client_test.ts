/**
 * OpenID Connect as a relying party we did not write sees it: `openid-client` v6 (OpenID
 * Certified) against a real server process (`deno task start`, JWT_ALG=RS256): discovery, the
 * authorization URL, the login page (posted by plain HTTP here; Chromium drives it in
 * browser_test.ts), the callback with its `state` and RFC 9207 `iss` checks, the code exchange
 * with PKCE, ID token validation (signature through the JWKS, `nonce`), userinfo,
 * refresh and RP-initiated logout; for a confidential and a public client registered through
 * `deno task client`.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import * as oidc from "npm:openid-client@^6.8.9";
import { clientAdd, codeFlow } from "./oidc_support.ts";
import { dirWithUsers, freePort, PASSWORD, withServer } from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const CALLBACK = "http://127.0.0.1:9/callback";
const SIGNED_OUT = "http://127.0.0.1:9/signed-out";
const NATIVE_CALLBACK = "com.example.native:/oauth";

test("openid-client: discovery, login page, code + PKCE, ID token, userinfo, refresh, logout", async () => {
  const port = freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = { JWT_ALG: "RS256", ISSUER: issuer };
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user", "admin"] }], env);
  const dir = scratch.path;
  const web = await clientAdd(dir, env, [
    "web",
    "--grant",
    "authorization_code",
    "--grant",
    "refresh_token",
    "--redirect-uri",
    CALLBACK,
    "--post-logout-redirect-uri",
    SIGNED_OUT,
  ]);
  assert.match(web.client_secret, /^[A-Za-z0-9_-]{43}$/);
  const native = await clientAdd(dir, env, [
    "native",
    "--public",
    "--grant",
    "authorization_code",
    "--grant",
    "refresh_token",
    "--redirect-uri",
    NATIVE_CALLBACK,
  ]);
  assert.equal(native.client_secret, undefined, "a public client has no secret");
  assert.equal(native.public, true);

  await withServer({ dir, port, env }, async () => {
    const config = await oidc.discovery(new URL(issuer), "web", web.client_secret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, issuer);
    assert.ok(metadata.supportsPKCE("S256"));

    // openid-client checks state, iss (RFC 9207: the metadata says it is always sent), the
    // ID token's signature, iss, aud, azp, nonce, exp and iat (not at_hash, which the code flow
    // makes optional: tests/e2e/id_token_keys_test.ts and browser_sign_in_test.ts check it).
    const { tokens, callback, browser } = await codeFlow(config, {
      redirectUri: CALLBACK,
      userId: "ada",
      password: PASSWORD,
    });
    assert.equal(callback.searchParams.get("iss"), issuer);
    const claims = tokens.claims()!;
    // sub: ada's stable subject (her uid), not her name, which preferred_username carries.
    assert.match(claims.sub, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(claims.preferred_username, "ada");
    assert.equal(claims.aud, "web");
    assert.deepEqual(claims.amr, ["pwd"]);
    assert.equal(typeof claims.auth_time, "number");
    assert.ok(tokens.refresh_token);

    // openid-client refuses a userinfo answer whose sub is not the ID token's.
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
    assert.equal(info.preferred_username, "ada");
    assert.deepEqual(info.roles, ["user", "admin"]);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

    // Single sign-on: the public client gets a code without the form, once the person has
    // confirmed on the "Continue as" page (RFC 8252 section 8.6); prompt=none cannot.
    const nativeConfig = await oidc.discovery(new URL(issuer), "native", undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const nativeVerifier = oidc.randomPKCECodeVerifier();
    const nativeState = oidc.randomState();
    const nativeChallenge = await oidc.calculatePKCECodeChallenge(nativeVerifier);
    const nativeUrl = (extra: Record<string, string> = {}) =>
      oidc.buildAuthorizationUrl(nativeConfig, {
        redirect_uri: NATIVE_CALLBACK,
        scope: "openid",
        code_challenge: nativeChallenge,
        code_challenge_method: "S256",
        state: nativeState,
        ...extra,
      });
    const silent = await browser.get(nativeUrl({ prompt: "none" }).href);
    assert.equal(silent.status, 302);
    const silentAnswer = new URL(silent.headers.get("Location")!).searchParams;
    assert.equal(silentAnswer.get("error"), "interaction_required");
    assert.equal(silentAnswer.get("code"), null);
    const sso = await browser.get(nativeUrl().href);
    assert.equal(sso.status, 200, "the Continue page, not the form");
    const continueHtml = await sso.text();
    assert.match(continueHtml, /Continue to native\?/);
    assert.doesNotMatch(continueHtml, /autocomplete="current-password"/);
    const nativeTokens = await oidc.authorizationCodeGrant(
      nativeConfig,
      await browser.confirm(nativeUrl(), continueHtml),
      { pkceCodeVerifier: nativeVerifier, expectedState: nativeState, idTokenExpected: true },
    );
    assert.equal(nativeTokens.claims()!.sub, claims.sub, "one user, one sub for every client");
    assert.equal(nativeTokens.claims()!.sid, claims.sid, "one browser session, two clients");
    const nativeRefreshed = await oidc.refreshTokenGrant(nativeConfig, nativeTokens.refresh_token!);
    assert.ok(nativeRefreshed.access_token);

    // RP-initiated logout ends the browser session.
    const logout = await browser.get(
      oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: SIGNED_OUT,
        state: "bye",
      }).href,
    );
    assert.equal(logout.status, 302);
    assert.equal(logout.headers.get("Location"), `${SIGNED_OUT}?state=bye`);
    const after = await browser.get(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: "openid",
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: "S256",
        prompt: "none",
        state: "s",
      }).href,
    );
    assert.equal(after.status, 302);
    const answer = new URL(after.headers.get("Location")!).searchParams;
    assert.equal(answer.get("error"), "login_required", "signed out");
  });
});
