/**
 * TOTP secrets at rest: AES-256-GCM under a key derived from `SECRET_KEY` with HKDF-SHA-256, as
 * the private signing keys are (`keys/key_encryption.ts`), with labels of their own so the two
 * keys never coincide. The user's internal id is the associated data: a sealed secret copied onto
 * another user's record does not open. A secret sealed under one of `PREVIOUS_SECRET_KEYS` still
 * opens (it is sealed again under the current key at its owner's next change).
 *
 * @module
 */
import { base64url } from "jose";

/** A sealed secret: a 96-bit random IV and the AES-GCM output (ciphertext and tag). */
export interface SealedSecret {
  readonly iv: string;
  readonly ciphertext: string;
}

const HKDF_SALT = new TextEncoder().encode("auth-server/mfa-secrets");
const HKDF_INFO = new TextEncoder().encode("AES-256-GCM TOTP secret encryption v1");

async function deriveKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    "HKDF",
    false,
    ["deriveKey"],
  );
  return await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: HKDF_INFO },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/**
 * Seals and opens TOTP secrets under `SECRET_KEY` (opening also under the previous keys).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSecretBox } from "./secret_box.ts";
 * const box = createSecretBox("0123456789abcdefghijklmnopqrstuvwxyz", []);
 * const sealed = await box.seal(new Uint8Array([1, 2, 3]), "uid-1");
 * assert.deepEqual(await box.open(sealed, "uid-1"), new Uint8Array([1, 2, 3]));
 * assert.equal(await box.open(sealed, "uid-2"), undefined);
 * ```
 */
export function createSecretBox(secretKey: string, previousSecretKeys: readonly string[]) {
  // Derived on first use (the services are built synchronously), once.
  let derived: Promise<CryptoKey[]> | undefined;
  const keys = () => derived ??= Promise.all([secretKey, ...previousSecretKeys].map(deriveKey));
  const aad = (owner: string) => new TextEncoder().encode(`totp/${owner}`);
  return {
    /** Seals a secret for its owner (the user's internal id). */
    async seal(secret: Uint8Array, owner: string): Promise<SealedSecret> {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: aad(owner) },
        (await keys())[0]!,
        new Uint8Array(secret),
      );
      return { iv: base64url.encode(iv), ciphertext: base64url.encode(new Uint8Array(sealed)) };
    },
    /** The secret, or `undefined` when no known key opens it for this owner. */
    async open(sealed: SealedSecret, owner: string): Promise<Uint8Array | undefined> {
      return (await this.openWith(sealed, owner))?.secret;
    },
    /** The secret and whether the current key opened it (else a previous one did). */
    async openWith(
      sealed: SealedSecret,
      owner: string,
    ): Promise<{ secret: Uint8Array; current: boolean } | undefined> {
      for (const [index, key] of (await keys()).entries()) {
        try {
          const plain = await crypto.subtle.decrypt(
            {
              name: "AES-GCM",
              iv: Uint8Array.from(base64url.decode(sealed.iv)),
              additionalData: aad(owner),
            },
            key,
            Uint8Array.from(base64url.decode(sealed.ciphertext)),
          );
          return { secret: new Uint8Array(plain), current: index === 0 };
        } catch {
          // Not this key: try the next one.
        }
      }
      return undefined;
    },
  };
}

/** The secret box's interface. */
export type SecretBox = ReturnType<typeof createSecretBox>;
