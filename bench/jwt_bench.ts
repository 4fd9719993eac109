/**
 * JWT signing and verification with jose, keys imported once as `CryptoKey`s, as the server
 * does: raw jose calls, and the project's own signer and verifier on top of them.
 *
 * Run: `deno task bench` (or `deno bench bench/jwt_bench.ts`).
 *
 * @module
 */
import { generateKeyPair, jwtVerify, SignJWT } from "jose";
import { hmacKeyRing } from "../src/crypto/keys.ts";
import {
  createAccessTokenSigner,
  keyRingResolver,
  verifyAccessToken,
} from "../src/tokens/access_token.ts";

const ISSUER = "http://127.0.0.1:10000";
const claims = {
  sub: "admin",
  role: "admin",
  sid: "2b0b0c4e-2a3b-4e2b-9c41-6f1f3f0e7c11",
  jti: "0f7b1f0e-6a52-4d5a-8f10-0d3c1b9d3e77",
};

const secret = crypto.getRandomValues(new Uint8Array(32));
const hmacKey = await crypto.subtle.importKey(
  "raw",
  secret,
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["sign", "verify"],
);
const ed = await generateKeyPair("EdDSA", { crv: "Ed25519" });

function signWith(key: CryptoKey, alg: "HS256" | "EdDSA"): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: "JWT", kid: "bench" })
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime("30m")
    .sign(key);
}

const hsToken = await signWith(hmacKey, "HS256");
const edToken = await signWith(ed.privateKey, "EdDSA");

Deno.bench("HS256 sign (jose)", { group: "sign", baseline: true }, async () => {
  await signWith(hmacKey, "HS256");
});

Deno.bench("EdDSA sign (jose)", { group: "sign" }, async () => {
  await signWith(ed.privateKey, "EdDSA");
});

Deno.bench("HS256 verify (jose)", { group: "verify", baseline: true }, async () => {
  await jwtVerify(hsToken, hmacKey, { algorithms: ["HS256"], issuer: ISSUER });
});

Deno.bench("EdDSA verify (jose)", { group: "verify" }, async () => {
  await jwtVerify(edToken, ed.publicKey, { algorithms: ["EdDSA"], issuer: ISSUER });
});

// The project's own code paths (HS256, the default): what /login, /refresh and /me run.
const ring = await hmacKeyRing("bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz", []);
const signAccessToken = createAccessTokenSigner({
  keys: () => ring,
  issuer: ISSUER,
  audience: undefined,
  ttl: 1800,
});
const projectToken = (await signAccessToken(claims, Date.now())).token;
const resolveKey = keyRingResolver(() => ring);

Deno.bench("HS256 sign (src createAccessTokenSigner)", { group: "sign" }, async () => {
  await signAccessToken(claims, Date.now());
});

Deno.bench("HS256 verify (src verifyAccessToken)", { group: "verify" }, async () => {
  await verifyAccessToken(projectToken, {
    resolveKey,
    algorithms: ["HS256"],
    issuer: ISSUER,
    now: Date.now(),
  });
});
