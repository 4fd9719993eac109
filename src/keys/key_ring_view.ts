/**
 * What an instance serves from the key set at a given time, free of I/O: the signing key, the
 * verification keys by `kid`, and the JWKS with each key's state and times.
 *
 * @module
 */
import type { AsymmetricAlgorithm, SigningAlgorithm } from "../tokens/algorithms.ts";
import type { KeyRing, VerificationKey } from "../crypto/keys.ts";
import type { PrivateKey, PublicKey } from "./key_material.ts";
import { iso, stateOf, supersededAt, useOf } from "./key_set.ts";
import type { StoredKeySet } from "./key_store.ts";

/**
 * The ring an instance of `alg` serves at `now`: it signs access tokens with `signing` and ID
 * tokens with `idTokenSigning`, verifies access tokens with every access-token key of the set
 * (never an ID-token key) and ID tokens with every key, and publishes every public key with its
 * `alg`, `use` and state (`outOfDate`: why `/readyz` answers 503, if it must).
 */
export function buildRing(
  set: StoredKeySet,
  publicKeys: ReadonlyMap<string, PublicKey>,
  signers: { signing: PrivateKey; idTokenSigning: PrivateKey },
  alg: AsymmetricAlgorithm,
  now: number,
  outOfDate: string | undefined,
): KeyRing {
  const verification = new Map<string, VerificationKey>();
  const idTokenVerification = new Map<string, VerificationKey>();
  for (const { stored, key } of publicKeys.values()) {
    const entry = { kid: stored.kid, alg: stored.alg, key };
    idTokenVerification.set(stored.kid, entry);
    if (useOf(stored) === "access") verification.set(stored.kid, entry);
  }
  const signingKey = ({ stored, key }: PrivateKey) => ({
    kid: stored.kid,
    alg: stored.alg as SigningAlgorithm,
    key,
  });
  return {
    signing: signingKey(signers.signing),
    idTokenSigning: signingKey(signers.idTokenSigning),
    verification,
    idTokenVerification,
    jwks: {
      keys: set.keys.map((stored) => {
        const stopped = supersededAt(set, stored, now);
        return {
          ...(stored.public_jwk as Record<string, string>),
          kid: stored.kid,
          alg: stored.alg,
          use: "sig",
          // Not a JWK member RFC 7517 registers: which tokens the key signs (`access` or
          // `id_token`), for resource services that read the JWKS (an ID-token key verifies no
          // access token).
          token_use: useOf(stored),
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
