/**
 * Where the asymmetric signing keys live: one record in Deno KV holding the whole key set, so
 * every change is one versionstamp-guarded commit and every instance can notice it by reading
 * one key. Layout:
 *
 * - `["signing_keys", "set"]`: {@link StoredKeySet} (private halves encrypted, see
 *   `key_encryption.ts`); its versionstamp is the set's version.
 * - `["signing_keys", "in_use", kid]`: epoch ms at which an instance last said it signs with
 *   `kid` (at its start, then every five minutes), so `keys retire` knows when a key really stopped signing,
 *   across `JWT_ALG` switches too.
 *
 * @module
 */
import type { JWK } from "jose";
import type { SigningAlgorithm } from "../config.ts";
import type { EncryptedJwk } from "./key_encryption.ts";

/** An asymmetric algorithm: the ones whose keys live in the store. */
export type AsymmetricAlgorithm = Exclude<SigningAlgorithm, "HS256">;

/** One key as stored. Times are epoch milliseconds. */
export interface StoredSigningKey {
  readonly kid: string;
  readonly alg: AsymmetricAlgorithm;
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

/** What the key ring and the keys CLI need from the store. */
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
}

const SET_KEY = ["signing_keys", "set"] as const;
const IN_USE_PREFIX = ["signing_keys", "in_use"] as const;

/**
 * The {@link KeyStore} on Deno KV.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvKeyStore } from "./key_store.ts";
 * using kv = await Deno.openKv(":memory:");
 * const store = new KvKeyStore(kv);
 * assert(await store.read() === undefined);
 * assert(await store.write({ version: 1, keys: [] }, undefined));
 * assert(!(await store.write({ version: 1, keys: [] }, undefined)), "a second creator loses");
 * assert((await store.version()) === (await store.read())?.versionstamp);
 * ```
 */
export class KvKeyStore implements KeyStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  async read(): Promise<VersionedKeySet | undefined> {
    const entry = await this.#kv.get<StoredKeySet>(SET_KEY);
    if (entry.versionstamp === null) return undefined;
    if (!isStoredKeySet(entry.value)) {
      throw new Error("The signing key set in the store is not one this server wrote");
    }
    return { set: entry.value, versionstamp: entry.versionstamp };
  }

  async version(): Promise<string | undefined> {
    // A KV read returns the value too; the set is a few kilobytes, read twice a second.
    return (await this.#kv.get(SET_KEY)).versionstamp ?? undefined;
  }

  async write(
    set: StoredKeySet,
    expected: string | undefined,
    removed: readonly string[] = [],
  ): Promise<boolean> {
    // The versionstamp check makes concurrent rotations and first starts safe: one commit
    // wins, the others re-read and try again (or find the work done).
    const op = this.#kv.atomic().check({ key: SET_KEY, versionstamp: expected ?? null })
      .set(SET_KEY, set);
    for (const kid of removed) op.delete([...IN_USE_PREFIX, kid]);
    return (await op.commit()).ok;
  }

  async markInUse(kid: string, at: number): Promise<void> {
    await this.#kv.set([...IN_USE_PREFIX, kid], at);
  }

  async inUse(): Promise<Map<string, number>> {
    const marks = new Map<string, number>();
    for await (const entry of this.#kv.list<number>({ prefix: IN_USE_PREFIX })) {
      const kid = entry.key[2];
      if (typeof kid === "string" && typeof entry.value === "number") marks.set(kid, entry.value);
    }
    return marks;
  }
}

function isStoredKeySet(value: unknown): value is StoredKeySet {
  const set = value as Partial<StoredKeySet> | null;
  return set?.version === 1 && Array.isArray(set.keys) && set.keys.every((k: unknown) => {
    const key = k as Partial<StoredSigningKey> | null;
    return typeof key?.kid === "string" &&
      (key.alg === "EdDSA" || key.alg === "ES256" || key.alg === "RS256") &&
      typeof key.created_at === "number" && typeof key.activates_at === "number" &&
      typeof key.public_jwk === "object" && key.public_jwk !== null &&
      typeof key.private_jwk?.iv === "string" && typeof key.private_jwk.ciphertext === "string";
  });
}
