/**
 * What an instance serves from the key set at a given time, free of I/O: the signing key, the
 * verification keys by `kid`, and the JWKS with each key's state and times.
 *
 * @module
 */
import type { AsymmetricAlgorithm, SigningAlgorithm } from "../tokens/algorithms.ts";
import type { KeyRing, VerificationKey } from "../crypto/keys.ts";
import type { PrivateKey, PublicKey } from "./key_material.ts";
import { iso, stateOf, supersededAt } from "./key_set.ts";
import type { StoredKeySet } from "./key_store.ts";

/**
 * The ring an instance of `alg` serves at `now`: it signs with `signing`, verifies with every
 * key of the set, and publishes every public key with its state (`outOfDate`: why `/readyz`
 * answers 503, if it must).
 */
export function buildRing(
  set: StoredKeySet,
  publicKeys: ReadonlyMap<string, PublicKey>,
  signing: PrivateKey,
  alg: AsymmetricAlgorithm,
  now: number,
  outOfDate: string | undefined,
): KeyRing {
  const verification = new Map<string, VerificationKey>();
  for (const { stored, key } of publicKeys.values()) {
    verification.set(stored.kid, { kid: stored.kid, alg: stored.alg, key });
  }
  return {
    signing: {
      kid: signing.stored.kid,
      alg: signing.stored.alg as SigningAlgorithm,
      key: signing.key,
    },
    verification,
    jwks: {
      keys: set.keys.map((stored) => {
        const stopped = supersededAt(set, stored, now);
        return {
          ...(stored.public_jwk as Record<string, string>),
          kid: stored.kid,
          alg: stored.alg,
          use: "sig",
          state: stateOf(set, stored, alg, now),
          activates_at: iso(stored.activates_at),
          ...(stopped === undefined ? {} : { stopped_at: iso(stopped) }),
        };
      }),
    },
    ...(outOfDate === undefined ? {} : { outOfDate }),
  };
}

/**
 * The next activation time after `now` (the ring changes then), or +Infinity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextChangeAfter } from "./key_ring_view.ts";
 * const key = (activates_at: number) =>
 *   ({ kid: String(activates_at), alg: "EdDSA" as const, created_at: 0, activates_at, public_jwk: {}, private_jwk: { iv: "", ciphertext: "" } });
 * const set = { version: 1 as const, keys: [key(0), key(100), key(50)] };
 * assert.equal(nextChangeAfter(set, 10), 50);
 * assert.equal(nextChangeAfter(set, 100), Infinity);
 * ```
 */
export function nextChangeAfter(set: StoredKeySet, now: number): number {
  let next = Infinity;
  for (const key of set.keys) {
    if (key.activates_at > now && key.activates_at < next) next = key.activates_at;
  }
  return next;
}
