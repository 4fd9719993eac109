/**
 * Recovery codes: ten random codes shown once at enrolment, stored only as SHA-256 hashes, each
 * good for one sign-in. A code is 80 random bits (16 base32 characters, shown in groups of four),
 * so its unsalted hash is as safe to store as a refresh token's: no offline search reaches it.
 * Input is forgiving: case, spaces and dashes do not matter.
 *
 * @module
 */
import { equalConstantTime, sha256Base64url } from "../crypto/digests.ts";
import { base32Encode } from "./totp.ts";

/** Codes in a set. */
export const RECOVERY_CODE_COUNT = 10;

/**
 * A new set of codes and their hashes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newRecoveryCodes, recoveryCodeHash } from "./recovery_codes.ts";
 * const { codes, hashes } = newRecoveryCodes();
 * assert.equal(codes.length, 10);
 * assert.match(codes[0]!, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
 * assert.equal(recoveryCodeHash(codes[0]!.toUpperCase().replaceAll("-", " ")), hashes[0]);
 * ```
 */
export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const raw = base32Encode(crypto.getRandomValues(new Uint8Array(10))).toLowerCase();
    return raw.match(/.{4}/g)!.join("-");
  });
  return { codes, hashes: codes.map((code) => recoveryCodeHash(code)!) };
}

/** The stored form of a presented code; `undefined` when it cannot be one (wrong shape). */
export function recoveryCodeHash(presented: string): string | undefined {
  const normalized = presented.toLowerCase().replace(/[\s-]/g, "");
  if (!/^[a-z2-7]{16}$/.test(normalized)) return undefined;
  return sha256Base64url(`recovery/${normalized}`);
}

/**
 * The index of a presented code's hash in a stored set, or -1. Every entry is compared in
 * constant time (a hash prefix is no secret, but there is no reason to leak it).
 */
export function findRecoveryCode(hashes: readonly string[], presented: string): number {
  const hash = recoveryCodeHash(presented);
  if (hash === undefined) return -1;
  const wanted = new TextEncoder().encode(hash);
  let found = -1;
  hashes.forEach((stored, i) => {
    const bytes = new TextEncoder().encode(stored);
    if (equalConstantTime(bytes, wanted) && found < 0) found = i;
  });
  return found;
}
