/**
 * Encryption at rest of the private signing keys in the store: AES-256-GCM under a key derived
 * from `SECRET_KEY` with HKDF-SHA-256 (as Ory Hydra keeps its JWKs under its system secret).
 * Each key's `kid` and `alg` are the associated data, so a ciphertext moved onto another record
 * does not decrypt.
 *
 * @module
 */
import { base64url, type JWK } from "jose";

/** A private JWK, encrypted: 96-bit random IV and the AES-GCM output (ciphertext + tag). */
export interface EncryptedJwk {
  readonly iv: string;
  readonly ciphertext: string;
}

// Fixed and public: HKDF needs no secret salt when its input is already a random secret.
const HKDF_SALT = new TextEncoder().encode("auth-server/signing-keys");
const HKDF_INFO = new TextEncoder().encode("AES-256-GCM key encryption v1");

/** Fixed, public HKDF labels: each use of `SECRET_KEY` gets its own, so the keys never coincide. */
export interface HkdfLabels {
  readonly salt: Uint8Array<ArrayBuffer>;
  readonly info: Uint8Array<ArrayBuffer>;
}

/** An AES-256-GCM key derived from a secret with HKDF-SHA-256 under `labels`. */
export async function deriveAesGcmKey(secret: string, labels: HkdfLabels): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    "HKDF",
    false,
    ["deriveKey"],
  );
  return await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: labels.salt, info: labels.info },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/**
 * Derives the key-encryption key from a secret (`SECRET_KEY` or one of `PREVIOUS_SECRET_KEYS`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decryptJwk, deriveKeyEncryptionKey, encryptJwk } from "./key_encryption.ts";
 * const kek = await deriveKeyEncryptionKey("0123456789abcdefghijklmnopqrstuvwxyz");
 * const sealed = await encryptJwk(kek, { kty: "OKP", crv: "Ed25519", x: "x", d: "d" }, "kid1.EdDSA");
 * assert((await decryptJwk(kek, sealed, "kid1.EdDSA")).d === "d");
 * await assert.rejects(() => decryptJwk(kek, sealed, "kid2.EdDSA"));
 * ```
 */
export function deriveKeyEncryptionKey(secret: string): Promise<CryptoKey> {
  return deriveAesGcmKey(secret, { salt: HKDF_SALT, info: HKDF_INFO });
}

/**
 * Seals bytes under `key` with a fresh random 96-bit IV; `associatedData` binds them to their
 * record, so a ciphertext moved onto another record does not open.
 */
export async function sealBytes(
  key: CryptoKey,
  plaintext: Uint8Array,
  associatedData: string,
): Promise<EncryptedJwk> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(associatedData) },
    key,
    new Uint8Array(plaintext),
  );
  return { iv: base64url.encode(iv), ciphertext: base64url.encode(new Uint8Array(sealed)) };
}

/** Opens what {@link sealBytes} sealed; throws when the key or the associated data differ. */
export async function openBytes(
  key: CryptoKey,
  sealed: EncryptedJwk,
  associatedData: string,
): Promise<Uint8Array> {
  const plain = await crypto.subtle.decrypt(
    {
      name: "AES-GCM",
      iv: Uint8Array.from(base64url.decode(sealed.iv)),
      additionalData: new TextEncoder().encode(associatedData),
    },
    key,
    Uint8Array.from(base64url.decode(sealed.ciphertext)),
  );
  return new Uint8Array(plain);
}

/** Encrypts a private JWK; `associatedData` binds it to its record (`kid.alg`). */
export function encryptJwk(
  kek: CryptoKey,
  jwk: JWK,
  associatedData: string,
): Promise<EncryptedJwk> {
  return sealBytes(kek, new TextEncoder().encode(JSON.stringify(jwk)), associatedData);
}

/** Decrypts a private JWK; throws when the key or the associated data is not the one used. */
export async function decryptJwk(
  kek: CryptoKey,
  sealed: EncryptedJwk,
  associatedData: string,
): Promise<JWK> {
  const plain = await openBytes(kek, sealed, associatedData);
  return JSON.parse(new TextDecoder().decode(plain)) as JWK;
}
