/**
 * Stored keys as WebCrypto keys: the public half of every key (it verifies and goes into the
 * JWKS), the private half of the keys an instance signs with (decrypted, never extractable).
 *
 * @module
 */
import { importJWK, type JWK } from "jose";
import type { StoredSigningKey } from "./key_store.ts";

/** A key that verifies, imported from its stored public JWK. */
export interface PublicKey {
  readonly stored: StoredSigningKey;
  readonly key: CryptoKey;
}

/** A private key an instance may sign with, decrypted. */
export interface PrivateKey {
  readonly stored: StoredSigningKey;
  readonly key: CryptoKey;
}

/** Imports a decrypted private JWK as a signing key that cannot be exported again. */
export async function importPrivate(stored: StoredSigningKey, jwk: JWK): Promise<CryptoKey> {
  return await importJWK({ ...jwk, ext: false }, stored.alg) as CryptoKey;
}

/** Imports a stored key's public half. */
export async function importPublic(stored: StoredSigningKey): Promise<PublicKey> {
  const key = await importJWK({ ...stored.public_jwk, ext: true }, stored.alg) as CryptoKey;
  return { stored, key };
}

/** Same kid, algorithm and public half: the same key pair, however it is encrypted now. */
export function samePublicKey(a: StoredSigningKey, b: StoredSigningKey): boolean {
  return a.kid === b.kid && a.alg === b.alg &&
    JSON.stringify(a.public_jwk) === JSON.stringify(b.public_jwk);
}
