/**
 * A resource service's `requireAuth({ jwksUrl })` refuses a token whose key the JWKS marks
 * `token_use: "id_token"` (the server's RS256 ID-token key under ES256 and EdDSA signs no access
 * token), also when another entry shares that kid, and accepts the same token under a JWKS that
 * marks the key as an access key.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { Hono } from "hono";
import type { FetchImplementation } from "jose";
import { requireAuth } from "../../src/middleware/require_auth.ts";
import { forge, publicJwkOf } from "./_jws.ts";

const ISSUER = "https://auth.test";
const NOW = Date.UTC(2026, 0, 1);

Deno.test("JWKS verifier: a key marked for ID tokens verifies no access token, whatever shares its kid", async () => {
  const { privateKey } = generateKeyPairSync("ed25519");
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const jwk = { ...publicJwkOf(privateKey), kid: "k-1", alg: "EdDSA", use: "sig" };
  const otherJwk = { ...publicJwkOf(other), kid: "k-1", alg: "ES256", use: "sig" };
  const iat = Math.floor(NOW / 1000);
  const claims = { sub: "ada", role: "user", iat, exp: iat + 600, iss: ISSUER, sid: "s1" };
  const token = forge({ alg: "EdDSA", typ: "JWT", kid: "k-1" }, claims, "EdDSA", privateKey);
  const statusUnder = async (keys: Record<string, unknown>[]) => {
    const fetch: FetchImplementation = () =>
      Promise.resolve(
        new Response(JSON.stringify({ keys }), { headers: { "content-type": "application/json" } }),
      );
    const app = new Hono();
    app.use(
      "/r",
      requireAuth({ issuer: ISSUER, jwksUrl: `${ISSUER}/jwks`, jwks: { fetch }, now: () => NOW }),
    );
    app.get("/r", (c) => c.json({ sub: c.get("auth").sub }));
    return (await app.request("/r", { headers: { Authorization: `Bearer ${token}` } })).status;
  };
  assert.equal(await statusUnder([{ ...jwk, token_use: "access" }]), 200, "an access key");
  assert.equal(await statusUnder([jwk]), 200, "an unmarked key (a JWKS of 2.21.0 or another)");
  assert.equal(await statusUnder([{ ...jwk, token_use: "id_token" }]), 401, "the ID-token key");
  // Two entries of one kid (another alg): the access-marked one first must not vouch for the other.
  assert.equal(
    await statusUnder([{ ...otherJwk, token_use: "access" }, { ...jwk, token_use: "id_token" }]),
    401,
    "a kid shared with an access key",
  );
});
