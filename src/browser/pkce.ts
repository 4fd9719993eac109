/**
 * PKCE (RFC 7636) with the S256 method only: `plain` is refused, as RFC 9700 section 2.1.1 asks
 * (it protects nothing against an attacker who can read the authorization request).
 *
 * @module
 */
import { base64url } from "jose";
import { equalConstantTime, sha256 } from "../crypto/digests.ts";

/** A S256 challenge: base64url of 32 bytes, 43 characters (RFC 7636 section 4.2). */
export const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636 section 4.1: 43 to 128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/**
 * Whether `verifier` answers the S256 `challenge`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifiesS256 } from "./pkce.ts";
 * // RFC 7636 Appendix B.
 * const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
 * assert.ok(verifiesS256("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", verifier));
 * assert.ok(!verifiesS256(verifier, verifier)); // `plain` is not S256
 * ```
 */
export function verifiesS256(challenge: string, verifier: string): boolean {
  if (!VERIFIER.test(verifier) || !S256_CHALLENGE.test(challenge)) return false;
  // 43 characters carry 258 bits: the last 2 are ignored (as node's Buffer did before).
  return equalConstantTime(sha256(verifier), base64url.decode(challenge));
}
