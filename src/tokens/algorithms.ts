/**
 * The JWS algorithms: the ones the server signs with (`JWT_ALG`) and the public-key ones a JWKS
 * can carry. Kept out of `config.ts` so that `requireAuth`, which other services import, loads
 * nothing of the server's configuration.
 *
 * @module
 */

/** The public-key algorithms: the ones a JWKS can carry. */
export const ASYMMETRIC_ALGORITHMS = ["EdDSA", "ES256", "RS256"] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];
/** Every algorithm the server signs with (`JWT_ALG`). */
export const SIGNING_ALGORITHMS = ["HS256", ...ASYMMETRIC_ALGORITHMS] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * Is `alg` one of {@link ASYMMETRIC_ALGORITHMS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isAsymmetricAlgorithm } from "./algorithms.ts";
 * assert(isAsymmetricAlgorithm("ES256"));
 * assert(!isAsymmetricAlgorithm("HS256"));
 * ```
 */
export function isAsymmetricAlgorithm(alg: unknown): alg is AsymmetricAlgorithm {
  return (ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(alg);
}
