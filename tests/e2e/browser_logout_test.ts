/**
 * Issue 21 item 3 against a real server (`deno task start`), with `openid-client` (OpenID
 * Certified) as the relying parties: one sign-in on the login page gives two applications their
 * tokens (a confidential one by the form, a public one by single sign-on). RP-initiated logout
 * ends that sign-in whole: both applications' refresh tokens and userinfo stop working. After a
 * new sign-in, one application's `POST /logout` ends it whole too: the browser sees the form again.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import * as oidc from "npm:openid-client@^6.8.9";
import { clientAdd, HttpBrowser } from "./oidc_support.ts";
import { dirWithUsers, freePort, PASSWORD, withServer } from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const CALLBACK = "http://127.0.0.1:9/callback";
const SIGNED_OUT = "http://127.0.0.1:9/signed-out";
const NATIVE_CALLBACK = "com.example.native:/oauth";
const INSECURE = { execute: [oidc.allowInsecureRequests] };

/** One application: signs the browser in (or finds it signed in) and exchanges the code. */
async function signIn(
  config: oidc.Configuration,
  browser: HttpBrowser,
  redirectUri: string,
  password?: string,
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
  });
  const callback = await browser.authorize(url, "ada", password);
  return await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    idTokenExpected: true,
  });
}

async function refreshFails(config: oidc.Configuration, refreshToken: string): Promise<void> {
  await assert.rejects(oidc.refreshTokenGrant(config, refreshToken), (err: unknown) => {
    assert.equal((err as { error?: string }).error, "invalid_grant", String(err));
    return true;
  });
}

test("logout ends the sign-in: end-session and POST /logout, for every application it signed in", async (t) => {
  const port = freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = { JWT_ALG: "RS256", ISSUER: issuer };
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }], env);
  const dir = scratch.path;
  const web = await clientAdd(dir, env, [
    "web",
    ...["--grant", "authorization_code", "--grant", "refresh_token"],
    ...["--redirect-uri", CALLBACK, "--post-logout-redirect-uri", SIGNED_OUT],
  ]);
  await clientAdd(dir, env, [
    "native",
    "--public",
    ...["--grant", "authorization_code", "--grant", "refresh_token"],
    ...["--redirect-uri", NATIVE_CALLBACK],
  ]);

  await withServer({ dir, port, env }, async () => {
    const webConfig = await oidc.discovery(
      new URL(issuer),
      "web",
      web.client_secret,
      undefined,
      INSECURE,
    );
    const nativeConfig = await oidc.discovery(
      new URL(issuer),
      "native",
      undefined,
      oidc.None(),
      INSECURE,
    );

    await t.step("RP-initiated logout: both applications' tokens end with it", async () => {
      const browser = new HttpBrowser();
      const webTokens = await signIn(webConfig, browser, CALLBACK, PASSWORD);
      const nativeTokens = await signIn(nativeConfig, browser, NATIVE_CALLBACK); // no form
      const logout = await browser.get(
        oidc.buildEndSessionUrl(webConfig, {
          id_token_hint: webTokens.id_token!,
          post_logout_redirect_uri: SIGNED_OUT,
        }).href,
      );
      assert.equal(logout.status, 302);
      await refreshFails(webConfig, webTokens.refresh_token!);
      await refreshFails(nativeConfig, nativeTokens.refresh_token!);
      await assert.rejects(
        oidc.fetchUserInfo(nativeConfig, nativeTokens.access_token, "ada"),
        "the public client's access token no longer passes /userinfo",
      );
    });

    await t.step("POST /logout by one application: the browser must sign in again", async () => {
      const browser = new HttpBrowser();
      const webTokens = await signIn(webConfig, browser, CALLBACK, PASSWORD);
      const nativeTokens = await signIn(nativeConfig, browser, NATIVE_CALLBACK);
      const out = await fetch(`${issuer}/logout`, {
        method: "POST",
        headers: { Authorization: `Bearer ${nativeTokens.access_token}` },
      });
      assert.equal(out.status, 204);
      await refreshFails(webConfig, webTokens.refresh_token!);
      const again = await browser.get(
        oidc.buildAuthorizationUrl(webConfig, {
          redirect_uri: CALLBACK,
          scope: "openid",
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: "S256",
        }).href,
      );
      assert.equal(again.status, 200, "the login page, not single sign-on");
      await again.body?.cancel();
    });
  });
});
