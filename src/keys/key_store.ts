/**
 * What the key ring and the keys CLI need from storage, and the key set it stores: the whole set
 * is one record, so every change is one versionstamp-guarded commit and every instance can
 * notice it by reading one key. Besides the set, the store keeps each key's last in-use mark
 * (epoch ms at which an instance last said it signs with it: at its start, then every five
 * minutes), so `keys retire` knows when a key really stopped signing, across `JWT_ALG` switches
 * too. Implemented over Deno KV by `store/kv_keys.ts` (keys: `store/kv_layout.ts`) and over
 * PostgreSQL by `store/pg_keys.ts`.
 *
 * @module
 */
import type { JWK } from "jose";
import { type AsymmetricAlgorithm, isAsymmetricAlgorithm } from "../tokens/algorithms.ts";
import type { EncryptedJwk } from "./key_encryption.ts";

/** One key as stored. Times are epoch milliseconds. */
export interface StoredSigningKey {
  readonly kid: string;
  readonly alg: AsymmetricAlgorithm;
  /**
   * What it signs: absent for access tokens (as on every key of 2.21.0 and earlier); `id_token`
   * for the RS256 key that signs OpenID Connect ID tokens when `JWT_ALG` is ES256 or EdDSA
   * (Discovery 1.0 section 3: RS256 must be supported). Access tokens never verify against an `id_token` key.
   */
  readonly use?: "id_token";
  readonly created_at: number;
  /** When instances start signing with it (publish-ahead: later than `created_at`). */
  readonly activates_at: number;
  readonly public_jwk: JWK;
  /** The private JWK, AES-256-GCM with `kid.alg` as associated data. */
  readonly private_jwk: EncryptedJwk;
}

/** The stored key set. */
export interface StoredKeySet {
  readonly version: 1;
  readonly keys: readonly StoredSigningKey[];
}

/** The key set as read, with the version a write must match. */
export interface VersionedKeySet {
  readonly set: StoredKeySet;
  readonly versionstamp: string;
}

/**
 * What the key ring and the keys CLI need from the store. Failures of the store itself throw
 * `StoreUnavailableError`.
 */
export interface KeyStore {
  /** The key set, or `undefined` when none was ever written. */
  read(): Promise<VersionedKeySet | undefined>;
  /** The set's version alone (cheap enough to poll), `undefined` when there is none. */
  version(): Promise<string | undefined>;
  /**
   * Replaces the set if it is still at `expected` (`undefined`: only if there is none yet);
   * `removed` kids also lose their in-use mark. False when another writer came first.
   */
  write(
    set: StoredKeySet,
    expected: string | undefined,
    removed?: readonly string[],
  ): Promise<boolean>;
  /** Records that an instance signs with `kid` at `at` (epoch ms). */
  markInUse(kid: string, at: number): Promise<void>;
  /** The last in-use mark of every key that has one. */
  inUse(): Promise<Map<string, number>>;
  /**
   * Where the engine can push changes (PostgreSQL's LISTEN/NOTIFY): calls `onChange` soon after
   * any instance writes the set; resolves with a function that stops. Absent: the key ring's
   * poll of {@link KeyStore.version} alone (which stays on as the fallback either way).
   */
  watch?(onChange: () => void): Promise<() => Promise<void>>;
}

/**
 * Is `value` a key set this server wrote (the shape, not the keys' validity).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isStoredKeySet } from "./key_store.ts";
 * assert(isStoredKeySet({ version: 1, keys: [] }));
 * assert(!isStoredKeySet({ version: 2, keys: [] }));
 * ```
 */
export function isStoredKeySet(value: unknown): value is StoredKeySet {
  const set = value as Partial<StoredKeySet> | null;
  return set?.version === 1 && Array.isArray(set.keys) && set.keys.every((k: unknown) => {
    const key = k as Partial<StoredSigningKey> | null;
    return typeof key?.kid === "string" &&
      isAsymmetricAlgorithm(key.alg) &&
      (key.use === undefined || key.use === "id_token") &&
      typeof key.created_at === "number" && typeof key.activates_at === "number" &&
      typeof key.public_jwk === "object" && key.public_jwk !== null &&
      typeof key.private_jwk?.iv === "string" && typeof key.private_jwk.ciphertext === "string";
  });
}
