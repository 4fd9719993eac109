/**
 * TOTP secrets at rest: AES-256-GCM under a key derived from `SECRET_KEY` with HKDF-SHA-256, as
 * the private signing keys are (`keys/key_encryption.ts`), with labels of their own so the two
 * keys never coincide. The user's internal id is the associated data: a sealed secret copied onto
 * another user's record does not open. A secret sealed under one of `PREVIOUS_SECRET_KEYS` still
 * opens (it is sealed again under the current key at its owner's next change).
 *
 * @module
 */
import { deriveAesGcmKey, openBytes, sealBytes } from "../keys/key_encryption.ts";

/** A sealed secret: a 96-bit random IV and the AES-GCM output (ciphertext and tag). */
export interface SealedSecret {
  readonly iv: string;
  readonly ciphertext: string;
}

const LABELS = {
  salt: new TextEncoder().encode("auth-server/mfa-secrets"),
  info: new TextEncoder().encode("AES-256-GCM TOTP secret encryption v1"),
};

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
  const keys = () =>
    derived ??= Promise.all(
      [secretKey, ...previousSecretKeys].map((secret) => deriveAesGcmKey(secret, LABELS)),
    );
  const aad = (owner: string) => `totp/${owner}`;
  return {
    /** Seals a secret for its owner (the user's internal id). */
    async seal(secret: Uint8Array, owner: string): Promise<SealedSecret> {
      return await sealBytes((await keys())[0]!, secret, aad(owner));
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
          return { secret: await openBytes(key, sealed, aad(owner)), current: index === 0 };
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
