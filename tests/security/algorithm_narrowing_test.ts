/**
 * `requireAuth({ algorithms })` narrower than the keys it is given: a token whose header names
 * an algorithm outside the list is refused even when its `kid` names a known key of that
 * algorithm and its signature is good. Checked with static keys, a live key ring and a remote
 * JWKS; each case first shows the same key set accepts the token when the list allows it.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { Hono } from "hono";
import type { FetchImplementation } from "jose";
import type { KeyRing, VerificationKey } from "../../src/crypto/keys.ts";
import {
  importHmacKey,
  requireAuth,
  type RequireAuthOptions,
} from "../../src/middleware/require_auth.ts";
import { TEST_SECRET } from "../helpers/app.ts";
import { forge, publicJwkOf, verifyKeyFromJwk } from "./_jws.ts";

const ISSUER = "https://auth.test";
const JWKS_URL = "https://auth.test/.well-known/jwks.json";
const NOW = Date.UTC(2026, 0, 1);

function claims(): Record<string, unknown> {
  const iat = Math.floor(NOW / 1000);
  return { sub: "ada", role: "user", iat, exp: iat + 600, iss: ISSUER, jti: "j1", sid: "s1" };
}

async function send(options: RequireAuthOptions, token: string): Promise<Response> {
  const app = new Hono();
  app.use("/r", requireAuth({ ...options, now: () => NOW }));
  app.get("/r", (c) => c.json({ sub: c.get("auth").sub }));
  return await app.request("/r", { headers: { Authorization: `Bearer ${token}` } });
}

async function assertRefusedAlg(res: Response, label: string): Promise<void> {
  assert.equal(res.status, 401, label);
  const body = await res.json();
  assert.equal(body.code, "invalid_token", label);
  // The algorithm is named when it is one the server signs with (access_token.ts, algorithmRefusal).
  assert.match(body.error, /^token algorithm (\w+ is not accepted here|is not allowed)/, label);
}

async function assertAccepted(res: Response, label: string): Promise<void> {
  assert.equal(res.status, 200, `${label}: ${await res.clone().text()}`);
  assert.equal((await res.json()).sub, "ada", label);
}

interface AsymmetricKey {
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, string>;
  readonly verification: VerificationKey;
}

async function asymmetric(alg: "EdDSA" | "ES256", kid: string): Promise<AsymmetricKey> {
  const { privateKey } = alg === "EdDSA"
    ? generateKeyPairSync("ed25519")
    : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicJwkOf(privateKey);
  const key = await verifyKeyFromJwk(alg, jwk);
  return { privateKey, jwk: { ...jwk, kid, alg, use: "sig" }, verification: { kid, alg, key } };
}

function sign(alg: string, kid: string, key: string | KeyObject): string {
  return forge({ alg, typ: "JWT", kid }, claims(), alg, key);
}

Deno.test("narrowed algorithms: static keys [HS256, EdDSA] with algorithms [EdDSA] refuse HS256", async () => {
  const hmac = await importHmacKey(TEST_SECRET);
  const ed = await asymmetric("EdDSA", "ed-1");
  const hsToken = sign("HS256", hmac.kid, TEST_SECRET);
  const edToken = sign("EdDSA", "ed-1", ed.privateKey);
  const key = [hmac, ed.verification];

  // Faithful forging: with both algorithms allowed, both tokens pass.
  await assertAccepted(await send({ issuer: ISSUER, key }, hsToken), "HS256, default list");
  await assertAccepted(await send({ issuer: ISSUER, key }, edToken), "EdDSA, default list");

  await assertRefusedAlg(
    await send({ issuer: ISSUER, key, algorithms: ["EdDSA"] }, hsToken),
    "HS256 token, algorithms [EdDSA]",
  );
  await assertAccepted(
    await send({ issuer: ISSUER, key, algorithms: ["EdDSA"] }, edToken),
    "EdDSA token, algorithms [EdDSA]",
  );
  await assertRefusedAlg(
    await send({ issuer: ISSUER, key, algorithms: ["HS256"] }, edToken),
    "EdDSA token, algorithms [HS256]",
  );
  // The verified-token cache must not carry a token past the list either.
  await assertRefusedAlg(
    await send({ issuer: ISSUER, key, algorithms: ["EdDSA"], cache: true }, hsToken),
    "HS256 token, algorithms [EdDSA], cache on",
  );
});

Deno.test("narrowed algorithms: a key ring holding HS256 and EdDSA with algorithms [EdDSA]", async () => {
  const hmac = await importHmacKey(TEST_SECRET);
  const ed = await asymmetric("EdDSA", "ed-ring");
  const ring: KeyRing = {
    signing: ed.verification,
    verification: new Map([[hmac.kid, hmac], ["ed-ring", ed.verification]]),
    jwks: { keys: [] },
  };
  const keyRing = () => ring;
  const hsToken = sign("HS256", hmac.kid, TEST_SECRET);
  const edToken = sign("EdDSA", "ed-ring", ed.privateKey);

  await assertAccepted(await send({ issuer: ISSUER, keyRing }, hsToken), "HS256, ring's own algs");
  await assertRefusedAlg(
    await send({ issuer: ISSUER, keyRing, algorithms: ["EdDSA"] }, hsToken),
    "HS256 token, ring, algorithms [EdDSA]",
  );
  await assertAccepted(
    await send({ issuer: ISSUER, keyRing, algorithms: ["EdDSA"] }, edToken),
    "EdDSA token, ring, algorithms [EdDSA]",
  );
});

Deno.test("narrowed algorithms: a remote JWKS publishing EdDSA and ES256 with algorithms [EdDSA]", async () => {
  const ed = await asymmetric("EdDSA", "ed-remote");
  const ec = await asymmetric("ES256", "ec-remote");
  const fetch: FetchImplementation = () =>
    Promise.resolve(
      new Response(JSON.stringify({ keys: [ed.jwk, ec.jwk] }), {
        status: 200,
        headers: { "content-type": "application/json" },
      }),
    );
  const jwks = { fetch };
  const esToken = sign("ES256", "ec-remote", ec.privateKey);
  const edToken = sign("EdDSA", "ed-remote", ed.privateKey);

  await assertAccepted(await send({ issuer: ISSUER, jwksUrl: JWKS_URL, jwks }, esToken), "ES256");
  await assertRefusedAlg(
    await send({ issuer: ISSUER, jwksUrl: JWKS_URL, jwks, algorithms: ["EdDSA"] }, esToken),
    "ES256 token, JWKS, algorithms [EdDSA]",
  );
  await assertAccepted(
    await send({ issuer: ISSUER, jwksUrl: JWKS_URL, jwks, algorithms: ["EdDSA"] }, edToken),
    "EdDSA token, JWKS, algorithms [EdDSA]",
  );
});

Deno.test("a refused algorithm is named only when it is one the server signs with: header text is never echoed", async () => {
  const hmac = await importHmacKey(TEST_SECRET);
  for (const alg of ["none", "HS512", 'HS256", x="y', "<script>alert(1)</script>", "ES256K"]) {
    // The header names the algorithm; the signature is HS256 whatever it says.
    const token = forge({ alg, typ: "JWT", kid: hmac.kid }, claims(), "HS256", TEST_SECRET);
    const res = await send({ issuer: ISSUER, key: hmac }, token);
    assert.equal(res.status, 401, alg);
    const body = await res.json();
    assert.equal(body.error, "token algorithm is not allowed", alg);
    assert.ok(!res.headers.get("WWW-Authenticate")!.includes(alg), alg);
  }
  const ed = await asymmetric("EdDSA", "ed-named");
  const named = await send({ issuer: ISSUER, key: hmac }, sign("EdDSA", "ed-named", ed.privateKey));
  assert.equal(
    (await named.json()).error,
    "token algorithm EdDSA is not accepted here (only HS256)",
  );
});
