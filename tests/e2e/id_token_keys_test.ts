/**
 * Issue 21's last item, end to end against real server processes: under `JWT_ALG=ES256` and
 * `EdDSA` the discovery document lists RS256 (OpenID Connect Discovery 1.0 section 3: "The value
 * RS256 MUST be included") and ID tokens are RS256, signed with a key of their own kept in the
 * same stored key set; `openid-client` with its default client settings (which expect RS256)
 * completes the code flow, and `jsonwebtoken` verifies the ID token from the published JWKS.
 * Access tokens stay `JWT_ALG` only: a token the ID-token key signed is refused as an access
 * token, by the server (`/me`) and by a resource service that reads the JWKS. `deno task keys
 * rotate` rotates the ID-token key with the access-token key, and old ID tokens keep verifying
 * (and serve as `id_token_hint`) until they may be retired; a key set written by 2.21 (no
 * ID-token key) gains one at start, and its access tokens keep working.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Hono } from "hono";
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT } from "jose";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import * as oidc from "npm:openid-client@^6.8.9";
import { requireAuth } from "../../src/middleware/require_auth.ts";
import { deriveKeyEncryptionKey } from "../../src/keys/key_encryption.ts";
import { openSealed } from "../../src/keys/key_set.ts";
import { KvKeyStore } from "../../src/store/kv_keys.ts";
import { clientAdd, codeFlow, type HttpBrowser } from "./oidc_support.ts";
import {
  dirWithUsers,
  freePort,
  getJson,
  me,
  PASSWORD,
  type PublishedJwk,
  readDotEnv,
  runTask,
  verifyWithJwks,
  waitFor,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const CALLBACK = "http://127.0.0.1:9/callback";
const SIGNED_OUT = "http://127.0.0.1:9/signed-out";

interface Setup {
  readonly dir: string;
  readonly issuer: string;
  /** The server's URL (the issuer), for `me`. */
  readonly url: string;
  readonly port: number;
  readonly env: Record<string, string>;
  readonly secret: string;
}

/** A directory with user ada and confidential client `web`; the server's port and env. */
async function setUp(
  scratchPath: string,
  alg: string,
  extra: Record<string, string> = {},
): Promise<Setup & { clientSecret: string }> {
  const port = freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = { JWT_ALG: alg, ISSUER: issuer, ...extra };
  const web = await clientAdd(scratchPath, env, [
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
  return {
    dir: scratchPath,
    issuer,
    url: issuer,
    port,
    env,
    secret: readDotEnv(scratchPath).SECRET_KEY!,
    clientSecret: web.client_secret,
  };
}

/** openid-client with its defaults (no `id_token_signed_response_alg`: it expects RS256). */
async function relyingParty(setup: { issuer: string; clientSecret: string }) {
  return await oidc.discovery(new URL(setup.issuer), "web", setup.clientSecret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
}

/** The code flow through the login page as ada: openid-client validates the ID token. */
function signIn(config: oidc.Configuration, browser?: HttpBrowser) {
  return codeFlow(config, {
    redirectUri: CALLBACK,
    userId: "ada",
    password: PASSWORD,
    ...(browser ? { browser } : {}),
  });
}

/** The stored key set of the scratch directory's KV store (the server may be running). */
async function storedKeys(dir: string) {
  const kv = await Deno.openKv(join(dir, "data", "auth.kv"));
  try {
    return (await new KvKeyStore(kv).read())!;
  } finally {
    kv.close();
  }
}

/** `token`'s header and claims, signed again with the stored private key `kid`. */
async function resignWith(setup: Setup, kid: string, token: string): Promise<string> {
  const stored = (await storedKeys(setup.dir)).set.keys.find((k) => k.kid === kid)!;
  const opened = await openSealed(stored, [await deriveKeyEncryptionKey(setup.secret)]);
  assert.ok(opened, "SECRET_KEY decrypts the ID-token key");
  const key = await importJWK(opened.jwk, stored.alg);
  return await new SignJWT(decodeJwt(token)).setProtectedHeader({
    alg: stored.alg,
    typ: "JWT",
    kid,
  })
    .sign(key);
}

async function jwks(issuer: string): Promise<{ keys: (PublishedJwk & Record<string, string>)[] }> {
  const answer = await getJson(`${issuer}/.well-known/jwks.json`);
  assert.equal(answer.status, 200);
  return answer.body;
}

for (const alg of ["ES256", "EdDSA"]) {
  test(`JWT_ALG=${alg}: discovery lists RS256, ID tokens are RS256 from a key of their own, access tokens stay ${alg}`, async () => {
    await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
    const setup = await setUp(scratch.path, alg);
    await withServer({ dir: setup.dir, port: setup.port, env: setup.env }, async () => {
      const config = await relyingParty(setup);
      const metadata = config.serverMetadata();
      assert.deepEqual(metadata.id_token_signing_alg_values_supported, ["RS256"]);
      assert.deepEqual(metadata.access_token_signing_alg_values_supported, [alg]);

      const { tokens } = await signIn(config);
      const idHeader = decodeProtectedHeader(tokens.id_token!);
      const accessHeader = decodeProtectedHeader(tokens.access_token);
      assert.equal(idHeader.alg, "RS256");
      assert.equal(accessHeader.alg, alg);
      assert.notEqual(idHeader.kid, accessHeader.kid);

      // The JWKS publishes both, each with its alg and what it signs.
      const published = await jwks(setup.issuer);
      const byKid = new Map(published.keys.map((k) => [k.kid, k]));
      assert.deepEqual(
        [byKid.get(accessHeader.kid)?.alg, byKid.get(accessHeader.kid)?.token_use],
        [alg, "access"],
      );
      assert.deepEqual(
        [byKid.get(idHeader.kid)?.alg, byKid.get(idHeader.kid)?.token_use],
        ["RS256", "id_token"],
      );
      // An implementation we did not write verifies it from the JWKS alone.
      const claims = verifyWithJwks(tokens.id_token!, published, setup.issuer);
      assert.equal(claims.preferred_username, "ada");
      assert.equal(claims.aud, "web");
      // at_hash follows the ID token's alg (RS256: SHA-256), not the access token's (EdDSA would
      // be SHA-512); openid-client does not check it in the code flow, so it is checked here.
      const digest = createHash("sha256").update(tokens.access_token).digest();
      assert.equal(claims.at_hash, digest.subarray(0, 16).toString("base64url"));

      const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub));
      assert.equal(info.preferred_username, "ada");
      assert.equal((await me(setup, tokens.access_token)).status, 200);

      // The ID-token key signs no access token: the same claims, signed by it, are refused.
      const forged = await resignWith(setup, idHeader.kid!, tokens.access_token);
      assert.equal(decodeProtectedHeader(forged).alg, "RS256");
      const refused = await me(setup, forged);
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.equal(
        (await me(setup, tokens.id_token!)).status,
        401,
        "an ID token is no access token",
      );
      // Nor does a resource service that reads the JWKS, with requireAuth's default algorithms.
      const service = new Hono().use(
        "*",
        requireAuth({
          issuer: setup.issuer,
          jwksUrl: `${setup.issuer}/.well-known/jwks.json`,
        }),
      ).get("/orders", (c) => c.json({ ok: true }));
      const call = (token: string) =>
        service.request("/orders", { headers: { Authorization: `Bearer ${token}` } });
      assert.equal((await call(tokens.access_token)).status, 200);
      assert.equal((await call(forged)).status, 401);
    });
  });
}

test("keys rotate: the ID-token key rotates with the access key; old ID tokens verify until retirable", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const setup = await setUp(scratch.path, "ES256", { KEY_PUBLISH_AHEAD: "0" });
  await withServer({ dir: setup.dir, port: setup.port, env: setup.env }, async () => {
    const config = await relyingParty(setup);
    const first = await signIn(config);
    const oldIdKid = decodeProtectedHeader(first.tokens.id_token!).kid!;
    const oldAccessKid = decodeProtectedHeader(first.tokens.access_token).kid!;

    const rotated = await runTask("keys", setup.dir, ["rotate"], { env: setup.env });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /New ES256 key \S+: published now/);
    const newIdKid = /New RS256 ID-token key (\S+): published now/.exec(rotated.stdout)?.[1];
    assert.ok(newIdKid, rotated.stdout);

    // The running server follows the set within a second: new tokens carry the new keys. (One
    // code exchange signs its access token and its ID token a moment apart, so a reload between
    // them may give one of them the old key: wait for both.)
    await waitFor("access and ID tokens signed with the new keys", async () => {
      const { tokens } = await signIn(config);
      return decodeProtectedHeader(tokens.id_token!).kid === newIdKid &&
        decodeProtectedHeader(tokens.access_token).kid !== oldAccessKid;
    });

    // The old ID token still verifies from the JWKS, where its key is published as retiring.
    const published = await jwks(setup.issuer);
    assert.equal(published.keys.find((k) => k.kid === oldIdKid)?.state, "retiring");
    assert.equal(published.keys.find((k) => k.kid === newIdKid)?.state, "active");
    assert.equal(
      verifyWithJwks(first.tokens.id_token!, published, setup.issuer).preferred_username,
      "ada",
    );
    assert.equal((await me(setup, first.tokens.access_token)).status, 200);

    // Neither old key may be retired while tokens it signed may be live (TOKEN_TTL).
    for (const kid of [oldIdKid, oldAccessKid]) {
      const refused = await runTask("keys", setup.dir, ["retire", kid], { env: setup.env });
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stderr, /may still be live until/);
    }
    const listed = await runTask("keys", setup.dir, ["list", "--json"], { env: setup.env });
    const rows = JSON.parse(listed.stdout) as { kid: string; use: string; state: string }[];
    assert.deepEqual(rows.map((r) => [r.use, r.state]), [
      ["access", "retiring"],
      ["id_token", "retiring"],
      ["access", "active"],
      ["id_token", "active"],
    ]);

    // The old ID token is still a valid id_token_hint: logout redirects without asking.
    const logout = await first.browser.get(
      oidc.buildEndSessionUrl(config, {
        id_token_hint: first.tokens.id_token!,
        post_logout_redirect_uri: SIGNED_OUT,
        state: "bye",
      }).href,
    );
    await logout.body?.cancel();
    assert.equal(logout.status, 302);
    assert.equal(logout.headers.get("Location"), `${SIGNED_OUT}?state=bye`);
  });
});

test("a key set written by 2.21 (ES256 only) gains an RS256 ID-token key at start; its access tokens keep verifying", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const setup = await setUp(scratch.path, "ES256");
  const before = await withServer(
    { dir: setup.dir, port: setup.port, env: setup.env },
    async () => (await signIn(await relyingParty(setup))).tokens.access_token,
  );
  // What 2.21 left in the store: the ES256 key alone.
  const kv = await Deno.openKv(join(setup.dir, "data", "auth.kv"));
  try {
    const store = new KvKeyStore(kv);
    const current = (await store.read())!;
    const keys = current.set.keys.filter((k) => k.use === undefined);
    assert.deepEqual(keys.map((k) => k.alg), ["ES256"]);
    assert.ok(await store.write({ version: 1, keys }, current.versionstamp));
  } finally {
    kv.close();
  }
  await withServer({ dir: setup.dir, port: setup.port, env: setup.env }, async () => {
    assert.equal((await me(setup, before)).status, 200, "an access token from before verifies");
    const set = (await storedKeys(setup.dir)).set;
    assert.deepEqual(set.keys.map((k) => [k.alg, k.use ?? "access"]), [
      ["ES256", "access"],
      ["RS256", "id_token"],
    ]);
    const { tokens } = await signIn(await relyingParty(setup));
    assert.equal(decodeProtectedHeader(tokens.id_token!).kid, set.keys[1]!.kid);
    assert.equal(decodeProtectedHeader(tokens.access_token).kid, set.keys[0]!.kid);
  });
});
