/**
 * The rules of the stored key set, free of I/O: which key signs at a given time, each key's
 * state, when a key stopped signing and so when it may be retired, and new keys.
 *
 * Keys sign one of two things (`use`): access tokens (the keys of `JWT_ALG`), or, under `JWT_ALG`
 * ES256 or EdDSA, OpenID Connect ID tokens (one RS256 key, `use: "id_token"`; under RS256 the
 * access-token key signs ID tokens too). A "slot" is a use and an algorithm; each slot an
 * instance signs in has one active key.
 *
 * States, seen from an instance whose `JWT_ALG` is `alg`, at time `now`:
 * - `next`: published, not signing yet (`activates_at` is later than `now`);
 * - `active`: in a slot this instance signs in, the key with the latest `activates_at` not after
 *   `now`;
 * - `retiring`: everything else: it only verifies, until `keys retire` removes it.
 *
 * @module
 */
import type { AsymmetricAlgorithm } from "../tokens/algorithms.ts";
import {
  generateStoredKey,
  type KeyFile,
  publicJwk,
  type StoredKey as FileKey,
} from "../crypto/keys.ts";
import type { JWK } from "jose";
import { decryptJwk, encryptJwk } from "./key_encryption.ts";
import type { StoredKeySet, StoredSigningKey } from "./key_store.ts";

/** A key's state as published in the JWKS and shown by `keys list`. */
export type KeyState = "next" | "active" | "retiring";

/** What a key signs: access tokens, or (a key of its own) ID tokens. */
export type KeyUse = "access" | "id_token";

/** The algorithm of the ID-token key (OpenID Connect Discovery 1.0 section 3: RS256 MUST be). */
export const ID_TOKEN_ALG = "RS256" satisfies AsymmetricAlgorithm;

/** A use and an algorithm: each slot an instance signs in has one active key. */
export interface KeySlot {
  readonly use: KeyUse;
  readonly alg: AsymmetricAlgorithm;
}

/** What `key` signs. */
export function useOf(key: Pick<StoredSigningKey, "use">): KeyUse {
  return key.use === "id_token" ? "id_token" : "access";
}

/**
 * The slots an instance of `JWT_ALG` `alg` signs in: access tokens with `alg`, and, unless `alg`
 * is RS256 (whose key signs ID tokens too), ID tokens with an RS256 key of their own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slotsFor } from "./key_set.ts";
 * assert.deepEqual(slotsFor("RS256"), [{ use: "access", alg: "RS256" }]);
 * assert.deepEqual(slotsFor("ES256"), [{ use: "access", alg: "ES256" }, { use: "id_token", alg: "RS256" }]);
 * ```
 */
export function slotsFor(alg: AsymmetricAlgorithm): KeySlot[] {
  const access: KeySlot = { use: "access", alg };
  return alg === ID_TOKEN_ALG ? [access] : [access, { use: "id_token", alg: ID_TOKEN_ALG }];
}

/**
 * A key may have signed until this long after its last in-use mark: a signing instance writes
 * one at start and then every half period. Rare on purpose: on a local SQLite file, writes from
 * two processes that meet can fail ("database is locked"), so background writes stay few.
 */
export const IN_USE_PERIOD_MS = 10 * 60_000;

/** The associated data that binds an encrypted private key to its record. */
export function associatedData(key: { kid: string; alg: string }): string {
  return `${key.kid}.${key.alg}`;
}

/**
 * The key of `alg` (and `use`, access tokens by default) that signs at `now`: the latest
 * `activates_at` not after `now` (ties: the one added last).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signerAt } from "./key_set.ts";
 * const key = (kid: string, activates_at: number) =>
 *   ({ kid, alg: "EdDSA" as const, created_at: 0, activates_at, public_jwk: {}, private_jwk: { iv: "", ciphertext: "" } });
 * const set = { version: 1 as const, keys: [key("a", 0), key("b", 100)] };
 * assert(signerAt(set, "EdDSA", 99)?.kid === "a");
 * assert(signerAt(set, "EdDSA", 100)?.kid === "b");
 * assert(signerAt(set, "ES256", 100) === undefined);
 * ```
 */
export function signerAt(
  set: StoredKeySet,
  alg: AsymmetricAlgorithm,
  now: number,
  use: KeyUse = "access",
): StoredSigningKey | undefined {
  let signer: StoredSigningKey | undefined;
  for (const key of set.keys) {
    if (key.alg !== alg || useOf(key) !== use || key.activates_at > now) continue;
    if (!signer || key.activates_at >= signer.activates_at) signer = key;
  }
  return signer;
}

/** The state of `key` for an instance signing with `alg` at `now`. */
export function stateOf(
  set: StoredKeySet,
  key: StoredSigningKey,
  alg: AsymmetricAlgorithm,
  now: number,
): KeyState {
  if (key.activates_at > now) return "next";
  const active = slotsFor(alg).some((slot) =>
    slot.use === useOf(key) && signerAt(set, slot.alg, now, slot.use)?.kid === key.kid
  );
  return active ? "active" : "retiring";
}

/**
 * When `key` stopped signing as far as the set alone tells: when a newer key of its algorithm
 * and use took over; `undefined` while it is the newest of its algorithm (or not active yet).
 */
export function supersededAt(
  set: StoredKeySet,
  key: StoredSigningKey,
  now: number,
): number | undefined {
  let at: number | undefined;
  for (const other of set.keys) {
    if (other.alg !== key.alg || useOf(other) !== useOf(key) || other.kid === key.kid) continue;
    if (other.activates_at <= key.activates_at || other.activates_at > now) continue;
    if (at === undefined || other.activates_at < at) at = other.activates_at;
  }
  return at;
}

/**
 * The latest time `key` may have signed a token: when its successor took over, or, for the
 * newest key of an algorithm no instance signs with any more (a `JWT_ALG` switch), one
 * in-use period after the last instance said it signed with it. `undefined` for a key that has
 * not started signing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IN_USE_PERIOD_MS, lastSignedAt } from "./key_set.ts";
 * const key = { kid: "e", alg: "EdDSA" as const, created_at: 0, activates_at: 0, public_jwk: {}, private_jwk: { iv: "", ciphertext: "" } };
 * const set = { version: 1 as const, keys: [key] };
 * // Nobody has signed with it for a while: the last mark counts, not its creation.
 * assert(lastSignedAt(set, key, 10_000_000, new Map([["e", 5_000_000]])) === 5_000_000 + IN_USE_PERIOD_MS);
 * ```
 */
export function lastSignedAt(
  set: StoredKeySet,
  key: StoredSigningKey,
  now: number,
  inUse: ReadonlyMap<string, number>,
): number | undefined {
  if (key.activates_at > now) return undefined;
  const mark = inUse.get(key.kid);
  const superseded = supersededAt(set, key, now);
  // An instance with a late clock may have signed a little past the hand-over; its mark says so.
  if (superseded !== undefined) return Math.max(superseded, mark ?? superseded);
  return Math.max(mark ?? key.activates_at, key.activates_at) + IN_USE_PERIOD_MS;
}

/**
 * Why `kid` may not be retired yet, or `undefined` when no unexpired token can carry it (it
 * last signed at least `tokenTtlMs` ago). The caller refuses the active key of its own `JWT_ALG`
 * first; a key that another algorithm's instances still sign with has a fresh in-use mark.
 */
export function retireRefusal(
  set: StoredKeySet,
  kid: string,
  options: {
    now: number;
    tokenTtlMs: number;
    inUse: ReadonlyMap<string, number>;
  },
): string | undefined {
  const key = set.keys.find((k) => k.kid === kid);
  if (!key) return undefined;
  const { now, tokenTtlMs, inUse } = options;
  const last = lastSignedAt(set, key, now, inUse);
  if (last === undefined) {
    return `${kid} is the next key (signs from ${iso(key.activates_at)}); ` +
      "--force cancels the rotation";
  }
  const safeFrom = last + tokenTtlMs;
  if (now < safeFrom) {
    return `tokens signed with ${kid} may still be live until ${iso(safeFrom)} ` +
      `(it last signed at ${iso(last)}, TOKEN_TTL later)`;
  }
  return undefined;
}

/**
 * A new key of `alg` for `use` (access tokens by default), its private half encrypted under
 * `kek`, signing from `activatesAt`.
 */
export async function newStoredKey(
  alg: AsymmetricAlgorithm,
  kek: CryptoKey,
  now: number,
  activatesAt: number,
  use: KeyUse = "access",
): Promise<StoredSigningKey> {
  const entry = await generateStoredKey(alg, new Date(now), use === "id_token" ? use : undefined);
  return await seal(entry, kek, now, activatesAt);
}

/** The keys of a `KEYS_PATH` file as stored keys, each signing from its `created_at`. */
export async function importKeyFile(file: KeyFile, kek: CryptoKey): Promise<StoredSigningKey[]> {
  return await Promise.all(file.keys.map((entry) => {
    const created = Date.parse(entry.created_at);
    const at = Number.isFinite(created) ? created : 0;
    return seal(entry, kek, at, at);
  }));
}

/**
 * Decrypts `stored`'s private JWK with the first key-encryption key that can (`index` says which:
 * 0 is `SECRET_KEY`'s, then `PREVIOUS_SECRET_KEYS` in order); `undefined` when none can.
 */
export async function openSealed(
  stored: StoredSigningKey,
  keks: readonly CryptoKey[],
): Promise<{ index: number; jwk: JWK } | undefined> {
  for (const [index, kek] of keks.entries()) {
    try {
      return { index, jwk: await decryptJwk(kek, stored.private_jwk, associatedData(stored)) };
    } catch {
      // Not this secret (AES-GCM authenticates): try the next one.
    }
  }
  return undefined;
}

/** A key-file entry as a stored key: public half in plain, private half encrypted. */
async function seal(
  entry: FileKey,
  kek: CryptoKey,
  createdAt: number,
  activatesAt: number,
): Promise<StoredSigningKey> {
  return {
    kid: entry.kid,
    alg: entry.alg,
    ...(entry.use === "id_token" ? { use: entry.use } : {}),
    created_at: createdAt,
    activates_at: activatesAt,
    public_jwk: publicJwk(entry.private_jwk),
    private_jwk: await encryptJwk(kek, entry.private_jwk, associatedData(entry)),
  };
}

/** An epoch-ms time as an ISO string. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
