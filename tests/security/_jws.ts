/**
 * Hand-made JWS for the security suites: base64url JSON segments signed with node:crypto,
 * independent of jose (which the server uses), so a forged token is exactly what it says.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  constants,
  createHmac,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  type webcrypto,
} from "node:crypto";

/** base64url of UTF-8 text or bytes, without padding. */
export function b64u(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

/** base64url of a value's JSON. */
export function seg(value: unknown): string {
  return b64u(JSON.stringify(value));
}

/** The decoded JSON of segment `index` of a compact JWS. */
export function decodePart(token: string, index: number): Record<string, unknown> {
  const part = token.split(".")[index];
  assert.ok(part !== undefined, `token has no segment ${index}`);
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

/** What a signature can be made with: an HMAC secret (text or bytes) or a private key. */
export type SignKey = string | Uint8Array | KeyObject;

/** Signs `input` as the JWS algorithm `alg` would (raw r||s for ECDSA). */
export function signature(alg: string, key: SignKey, input: string): string {
  const data = Buffer.from(input);
  const hmac = (bits: string) =>
    createHmac(`sha${bits}`, typeof key === "string" ? Buffer.from(key) : key as Uint8Array)
      .update(data).digest("base64url");
  const asKey = () => {
    assert.ok(typeof key === "object" && !(key instanceof Uint8Array), `${alg} needs a KeyObject`);
    return key as KeyObject;
  };
  switch (alg) {
    case "HS256":
    case "HS384":
    case "HS512":
      return hmac(alg.slice(2));
    case "EdDSA":
    case "Ed25519":
      return nodeSign(null, data, asKey()).toString("base64url");
    case "ES256":
      return nodeSign("sha256", data, { key: asKey(), dsaEncoding: "ieee-p1363" })
        .toString("base64url");
    case "ES256-DER":
      return nodeSign("sha256", data, { key: asKey(), dsaEncoding: "der" }).toString("base64url");
    case "RS256":
      return nodeSign("sha256", data, asKey()).toString("base64url");
    case "RS512":
      return nodeSign("sha512", data, asKey()).toString("base64url");
    case "PS256":
      return nodeSign("sha256", data, {
        key: asKey(),
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }).toString("base64url");
    default:
      throw new Error(`no signer for ${alg}`);
  }
}

/** A compact JWS over `header` and `payload` (an object, or a ready-made segment). */
export function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
  alg: string,
  key: SignKey,
): string {
  const input = `${seg(header)}.${typeof payload === "string" ? payload : seg(payload)}`;
  return `${input}.${signature(alg, key, input)}`;
}

/** A public JWK as node:crypto exports it (no kid, alg or use). */
export function publicJwkOf(key: KeyObject): Record<string, string> {
  return createPublicKey(key).export({ format: "jwk" }) as Record<string, string>;
}

const WEBCRYPTO_PARAMS: Readonly<
  Record<string, webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams | { name: string }>
> = {
  EdDSA: { name: "Ed25519" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
};

/** A WebCrypto verification key from a public JWK, as `requireAuth({ key })` takes it. */
export async function verifyKeyFromJwk(
  alg: "EdDSA" | "ES256" | "RS256",
  jwk: Record<string, string>,
): Promise<CryptoKey> {
  const params = WEBCRYPTO_PARAMS[alg];
  assert.ok(params);
  return await crypto.subtle.importKey("jwk", jwk, params, true, ["verify"]);
}

/** `kty`-specific members that an RFC 7638 thumbprint covers. */
export async function thumbprint(jwk: Record<string, string>): Promise<string> {
  const members: Record<string, readonly string[]> = {
    OKP: ["crv", "kty", "x"],
    EC: ["crv", "kty", "x", "y"],
    RSA: ["e", "kty", "n"],
    oct: ["k", "kty"],
  };
  const names = members[jwk.kty ?? ""];
  assert.ok(names, `no thumbprint for kty ${jwk.kty}`);
  const canonical = JSON.stringify(Object.fromEntries(names.map((n) => [n, jwk[n]])));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return b64u(new Uint8Array(digest));
}
