/**
 * A spent authorization code revokes what it issued (RFC 6749 4.1.2) only when presented as its
 * first exchange had to be: by its own client, with its redirect URI and its PKCE verifier. A
 * spent code leaks with its redirect URL, and a public client's id is no secret: anyone else
 * presenting it gets invalid_grant and ends nothing. Real HTTP: tests/e2e/code_grant_abuse_test.ts.
 */
import assert from "node:assert/strict";
import { addUser, makeApp } from "../helpers/app.ts";
import {
  addBrowserClients,
  CookieJar,
  pkce,
  REDIRECT_URI,
  signInForCode,
  tokenRequest,
} from "../helpers/browser_flow.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE);
const PASSWORD = "correct horse battery";

test("a spent code from another client or without its bindings ends no session", async () => {
  using t = await makeApp({ JWT_ALG: "ES256" }, await Deno.makeTempDir());
  await addUser(t, "ada", PASSWORD, ["user"]);
  const { webSecret } = await addBrowserClients(t);
  const web = { id: "web", secret: webSecret };
  const { verifier, challenge } = pkce();
  const code = await signInForCode(
    t,
    new CookieJar(),
    {
      response_type: "code",
      client_id: "web",
      redirect_uri: REDIRECT_URI,
      scope: "openid",
      code_challenge: challenge,
      code_challenge_method: "S256",
    },
    "ada",
    PASSWORD,
  );
  const exchange = {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  };
  const first = await tokenRequest(t, exchange, web);
  assert.equal(first.status, 200);
  const tokens = await first.json();
  const me = async () => {
    const res = await t.request("/me", {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    await res.body?.cancel();
    return res.status;
  };
  const refused = async (res: Response) => {
    const body = await res.json();
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error, "invalid_grant");
    return body.error_description as string;
  };

  // The review's replay: the public spa's id, another redirect URI, no secret, no verifier.
  const foreign = { grant_type: "authorization_code", code, redirect_uri: "http://x/" };
  assert.doesNotMatch(
    await refused(await tokenRequest(t, { ...foreign, client_id: "spa" })),
    /revoked/,
  );
  assert.equal(await me(), 200, "another client's replay ends nothing");
  await refused(await tokenRequest(t, { ...exchange, redirect_uri: "http://x/" }, web));
  await refused(await tokenRequest(t, { ...exchange, code_verifier: pkce().verifier }, web));
  assert.equal(await me(), 200, "the client's own replay without its bindings ends nothing");

  assert.match(await refused(await tokenRequest(t, exchange, web)), /revoked/);
  assert.equal(await me(), 401, "the code's own exchange again revokes");
});
