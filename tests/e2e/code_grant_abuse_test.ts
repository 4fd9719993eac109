/**
 * The authorization_code grant against a real server (`deno task start`, real TCP), as a caller
 * holding a spent or guessed code sees it:
 * - a spent code replayed by another client, or by its own public client without its PKCE
 *   verifier or with another redirect URI, is `invalid_grant` and ends nothing; the code's own
 *   exchange coming again (every binding) still revokes what it issued (RFC 6749 4.1.2);
 * - refused code redemptions count against the caller's address under the OAuth endpoint limit
 *   (`REFRESH_LIMIT_PER_CLIENT`): past it, 429 with `Retry-After`; another address's exchange
 *   still succeeds.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { base64url } from "jose";
import { clientAdd, HttpBrowser } from "./oidc_support.ts";
import { dirWithUsers, freePort, PASSWORD, withServer } from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const CONF_CALLBACK = "http://127.0.0.1:9/callback";
const SPA_CALLBACK = "http://127.0.0.1:9/spa";

function pkce(): { verifier: string; challenge: string } {
  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** A scratch directory with `ada`, a confidential `conf` and a public `spa`. */
async function setup(env: Record<string, string>) {
  const scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }], env);
  const grants = ["--grant", "authorization_code", "--grant", "refresh_token"];
  const conf = await clientAdd(scratch.path, env, [
    "conf",
    ...grants,
    "--redirect-uri",
    CONF_CALLBACK,
  ]);
  await clientAdd(scratch.path, env, [
    "spa",
    "--public",
    ...grants,
    "--redirect-uri",
    SPA_CALLBACK,
  ]);
  return { scratch, confSecret: conf.client_secret as string };
}

/** Signs `ada` in through the login page (a fresh browser) for `clientId`: the code. */
async function signIn(url: string, clientId: string, redirectUri: string, challenge: string) {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: "openid",
    state: "s",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  const callback = await new HttpBrowser().signIn(
    new URL(`/authorize?${query}`, url),
    "ada",
    PASSWORD,
  );
  const code = callback.searchParams.get("code");
  assert.ok(code, callback.href);
  return code;
}

/** POST /oauth/token; `from` is the caller's address (X-Forwarded-For, TRUST_PROXY=127.0.0.1). */
async function token(
  url: string,
  form: Record<string, string>,
  options: { basic?: [string, string]; from?: string } = {},
) {
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
  if (options.basic) headers.Authorization = `Basic ${btoa(options.basic.join(":"))}`;
  if (options.from) headers["X-Forwarded-For"] = options.from;
  const res = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers,
    body: new URLSearchParams(form).toString(),
  });
  // deno-lint-ignore no-explicit-any
  return { status: res.status, headers: res.headers, body: await res.json() as any };
}

async function meStatus(url: string, accessToken: string): Promise<number> {
  const res = await fetch(`${url}/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
  await res.body?.cancel();
  return res.status;
}

test("a spent code replayed by another client, or without its bindings, revokes nothing", async () => {
  const port = freePort();
  const env = { JWT_ALG: "ES256", ISSUER: `http://127.0.0.1:${port}` };
  const { scratch, confSecret } = await setup(env);
  await using _ = scratch;
  await withServer({ dir: scratch.path, port, env }, async ({ url }) => {
    const conf: [string, string] = ["conf", confSecret];
    const { verifier, challenge } = pkce();
    const code = await signIn(url, "conf", CONF_CALLBACK, challenge);
    const exchange = {
      grant_type: "authorization_code",
      code,
      redirect_uri: CONF_CALLBACK,
      code_verifier: verifier,
    };
    const first = await token(url, exchange, { basic: conf });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const tokens = first.body;

    // The security review's replay: a public client's id, a wrong redirect URI, no secret.
    const foreign = await token(url, {
      grant_type: "authorization_code",
      code,
      redirect_uri: "http://x/",
      client_id: "spa",
    });
    assert.equal(foreign.status, 400);
    assert.equal(foreign.body.error, "invalid_grant");
    assert.doesNotMatch(foreign.body.error_description, /revoked/);
    // Another client with the right redirect URI and verifier: the same.
    const stolen = await token(url, { ...exchange, client_id: "spa" });
    assert.equal(stolen.body.error, "invalid_grant");
    // The code's own client, but not as its exchange was: another redirect URI, no verifier.
    for (const wrong of [{ redirect_uri: "http://x/" }, { code_verifier: pkce().verifier }]) {
      const res = await token(url, { ...exchange, ...wrong }, { basic: conf });
      assert.equal(res.body.error, "invalid_grant", JSON.stringify(wrong));
    }
    assert.equal(await meStatus(url, tokens.access_token), 200, "the victim's session lives");
    const refreshed = await token(url, {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token,
    }, { basic: conf });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));

    // The code's own exchange again: RFC 6749 4.1.2's revocation still happens.
    const replay = await token(url, exchange, { basic: conf });
    assert.equal(replay.body.error, "invalid_grant");
    assert.match(replay.body.error_description, /revoked/);
    assert.equal(await meStatus(url, refreshed.body.access_token), 401);
    const dead = await token(url, {
      grant_type: "refresh_token",
      refresh_token: refreshed.body.refresh_token,
    }, { basic: conf });
    assert.equal(dead.body.error, "invalid_grant");

    // A public client: its client_id and redirect URI travel with the code; only the verifier
    // makes a replay the code's own.
    const spa = pkce();
    const spaCode = await signIn(url, "spa", SPA_CALLBACK, spa.challenge);
    const spaExchange = {
      grant_type: "authorization_code",
      code: spaCode,
      redirect_uri: SPA_CALLBACK,
      client_id: "spa",
      code_verifier: spa.verifier,
    };
    const spaFirst = await token(url, spaExchange);
    assert.equal(spaFirst.status, 200, JSON.stringify(spaFirst.body));
    const { code_verifier: _verifier, ...withoutVerifier } = spaExchange;
    for (const attempt of [withoutVerifier, { ...spaExchange, code_verifier: pkce().verifier }]) {
      assert.equal((await token(url, attempt)).body.error, "invalid_grant");
    }
    assert.equal(await meStatus(url, spaFirst.body.access_token), 200, "the SPA's session lives");
    assert.match((await token(url, spaExchange)).body.error_description, /revoked/);
    assert.equal(await meStatus(url, spaFirst.body.access_token), 401);
  });
});

test("refused code redemptions are limited per address; other addresses still exchange", async () => {
  const port = freePort();
  const env = {
    JWT_ALG: "ES256",
    ISSUER: `http://127.0.0.1:${port}`,
    TRUST_PROXY: "127.0.0.1",
    REFRESH_LIMIT_PER_CLIENT: "5/1m",
  };
  const { scratch } = await setup(env);
  await using _ = scratch;
  await withServer({ dir: scratch.path, port, env }, async ({ url }) => {
    const attacker = "192.0.2.1";
    const guess = () =>
      token(url, {
        grant_type: "authorization_code",
        code: base64url.encode(crypto.getRandomValues(new Uint8Array(32))),
        redirect_uri: SPA_CALLBACK,
        client_id: "spa",
      }, { from: attacker });
    for (let i = 0; i < 5; i++) {
      const res = await guess();
      assert.equal(res.status, 400, `guess ${i}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, "invalid_grant");
    }
    const limited = await guess();
    assert.equal(limited.status, 429, JSON.stringify(limited.body));
    assert.equal(limited.body.error, "too_many_attempts");
    assert.ok(Number(limited.headers.get("Retry-After")) > 0);

    // Someone else, from another address: their exchange is not refused.
    const { verifier, challenge } = pkce();
    const code = await signIn(url, "spa", SPA_CALLBACK, challenge);
    const exchange = {
      grant_type: "authorization_code",
      code,
      redirect_uri: SPA_CALLBACK,
      client_id: "spa",
      code_verifier: verifier,
    };
    const mine = await token(url, exchange, { from: "198.51.100.7" });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    // The attacker's address stays refused, whatever it sends.
    assert.equal((await token(url, exchange, { from: attacker })).status, 429);
  });
});
