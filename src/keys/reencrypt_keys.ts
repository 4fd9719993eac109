/**
 * `deno task keys reencrypt`: the last step of a `SECRET_KEY` change. Every stored key that only
 * a `PREVIOUS_SECRET_KEYS` entry decrypts is encrypted again under `SECRET_KEY`, in one
 * versionstamp-checked commit. Run it once every instance has the new `SECRET_KEY` or lists it in
 * `PREVIOUS_SECRET_KEYS`: an instance that knows only the old secret can no longer decrypt a
 * re-encrypted key it has not yet loaded (it keeps the keys it has, and a restart fails).
 *
 * @module
 */
import { ConfigError } from "../config/config_error.ts";
import { deriveKeyEncryptionKey, encryptJwk } from "./key_encryption.ts";
import { associatedData, openSealed } from "./key_set.ts";
import type { KeyStore, StoredKeySet, StoredSigningKey } from "./key_store.ts";

/** What {@link reencryptKeys} did, by kid. */
export interface ReencryptResult {
  /** Encrypted again under `SECRET_KEY` (a previous secret decrypted them). */
  readonly reencrypted: readonly string[];
  /** Already under `SECRET_KEY`. */
  readonly current: readonly string[];
  /** No configured secret decrypts them: left as they are (they only verify). */
  readonly unreadable: readonly string[];
}

/**
 * Re-encrypts under `secretKey` the stored keys only a previous secret decrypts. Throws
 * {@link ConfigError} (`SECRET_KEY`) when no configured secret decrypts any stored key, so a
 * mistyped secret changes nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LiveKeyRing } from "./live_key_ring.ts";
 * import { reencryptKeys } from "./reencrypt_keys.ts";
 * import { KvKeyStore } from "../store/kv_keys.ts";
 * const [oldSecret, newSecret] = ["old-0123456789abcdefghijklmnopqrstuv", "new-0123456789abcdefghijklmnopqrstuv"];
 * using kv = await Deno.openKv(":memory:");
 * const store = new KvKeyStore(kv);
 * await LiveKeyRing.open({ store, alg: "EdDSA", secretKey: oldSecret, previousSecretKeys: [], keysPath: "/none" });
 * const result = await reencryptKeys(store, newSecret, [oldSecret]);
 * // The EdDSA access-token key and the RS256 ID-token key beside it.
 * assert.equal(result.reencrypted.length, 2);
 * assert.equal((await reencryptKeys(store, newSecret, [])).current.length, 2);
 * ```
 */
export async function reencryptKeys(
  store: KeyStore,
  secretKey: string,
  previousSecretKeys: readonly string[],
): Promise<ReencryptResult> {
  const keks = await Promise.all([secretKey, ...previousSecretKeys].map(deriveKeyEncryptionKey));
  for (let attempt = 0; attempt < 10; attempt++) {
    const stored = await store.read();
    const result = {
      reencrypted: [] as string[],
      current: [] as string[],
      unreadable: [] as string[],
    };
    if (!stored) return result;
    const keys: StoredSigningKey[] = [];
    for (const key of stored.set.keys) {
      const opened = await openSealed(key, keks);
      if (!opened || opened.index === 0) {
        (opened ? result.current : result.unreadable).push(key.kid);
        keys.push(key);
        continue;
      }
      result.reencrypted.push(key.kid);
      keys.push({
        ...key,
        private_jwk: await encryptJwk(keks[0]!, opened.jwk, associatedData(key)),
      });
    }
    if (result.reencrypted.length === 0 && result.current.length === 0 && keys.length > 0) {
      throw new ConfigError(
        "SECRET_KEY",
        "does not decrypt any signing key in the store (nor does any PREVIOUS_SECRET_KEYS entry)",
      );
    }
    if (result.reencrypted.length === 0) return result;
    const set: StoredKeySet = { version: 1, keys };
    if (await store.write(set, stored.versionstamp)) return result;
  }
  throw new Error("The key set kept changing; try again");
}
