/**
 * The server's one definition of its synchronous digests: SHA-256, SHA-512, HMAC-SHA-256,
 * HMAC-SHA-1 (TOTP only) and a constant-time comparison of bytes. Pure JavaScript
 * (`@noble/hashes`, audited), so nothing on the start path imports `node:crypto` (issue 24: its
 * evaluation in Deno's Node layer was about 26 ms of each start, though loading this module and
 * its first calls took most of that back; docs/benchmarks.md). Synchronous on purpose: a short
 * input costs microseconds, less than one `crypto.subtle` promise's trip through the event loop.
 *
 * A string is hashed as its UTF-8 bytes (lone surrogates as U+FFFD), exactly as `node:crypto`'s
 * `update(string)` did; several `parts` are hashed as their concatenation, as its chained
 * `update(a).update(b)` did. So every hash, MAC and token written before stays byte for byte
 * the same (tests/unit/stored_digests_test.ts pins them).
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 as nobleSha256, sha512 as nobleSha512 } from "@noble/hashes/sha2.js";
import { base64url } from "jose";

/** What a digest reads: bytes, or a string (its UTF-8 bytes). */
export type DigestInput = string | Uint8Array;

const encoder = new TextEncoder();

function bytesOf(input: DigestInput): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}

/**
 * SHA-256 of the concatenated `parts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256, sha256Hex } from "./digests.ts";
 * // FIPS 180-2 appendix B.1.
 * assert.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * assert.deepEqual(sha256("a", new Uint8Array([98]), "c"), sha256("abc"));
 * ```
 */
export function sha256(...parts: DigestInput[]): Uint8Array {
  const hash = nobleSha256.create();
  for (const part of parts) hash.update(bytesOf(part));
  return hash.digest();
}

/** SHA-256 of the concatenated `parts`, base64url without padding (43 characters). */
export function sha256Base64url(...parts: DigestInput[]): string {
  return base64url.encode(sha256(...parts));
}

/** SHA-256 of the concatenated `parts`, lowercase hex (64 characters). */
export function sha256Hex(...parts: DigestInput[]): string {
  return toHex(sha256(...parts));
}

/**
 * SHA-512 of the concatenated `parts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha512 } from "./digests.ts";
 * // FIPS 180-2 appendix C.1 ("abc"): its first 8 bytes.
 * assert.deepEqual([...sha512("abc").subarray(0, 8)], [0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba]);
 * ```
 */
export function sha512(...parts: DigestInput[]): Uint8Array {
  const hash = nobleSha512.create();
  for (const part of parts) hash.update(bytesOf(part));
  return hash.digest();
}

/**
 * HMAC-SHA-256 under `key` of the concatenated `parts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hmacSha256 } from "./digests.ts";
 * // RFC 4231 test case 2.
 * const mac = hmacSha256("Jefe", "what do ya want ", "for nothing?");
 * assert.equal(mac.length, 32);
 * assert.deepEqual([...mac.subarray(0, 4)], [0x5b, 0xdc, 0xc1, 0x46]);
 * ```
 */
export function hmacSha256(key: DigestInput, ...parts: DigestInput[]): Uint8Array {
  const mac = hmac.create(nobleSha256, bytesOf(key));
  for (const part of parts) mac.update(bytesOf(part));
  return mac.digest();
}

/** HMAC-SHA-256 under `key` of the concatenated `parts`, base64url without padding. */
export function hmacSha256Base64url(key: DigestInput, ...parts: DigestInput[]): string {
  return base64url.encode(hmacSha256(key, ...parts));
}

/** HMAC-SHA-1 (RFC 2104), for HOTP/TOTP (RFC 4226, RFC 6238) only. */
export function hmacSha1(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(sha1, key, message);
}

/**
 * Whether `a` and `b` hold the same bytes, in time that depends on their length only: a
 * length mismatch answers `false` at once (a length is no secret here: callers compare digests
 * or MACs of a fixed length), else every byte pair is XORed into one accumulator, with no early
 * exit, and only the accumulator is tested. The JIT gives no hard guarantee, but there is no
 * data-dependent branch for it to keep. What `node:crypto`'s `timingSafeEqual` was used for,
 * except that unequal lengths give `false` instead of a thrown `RangeError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { equalConstantTime } from "./digests.ts";
 * assert.ok(equalConstantTime(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
 * assert.ok(!equalConstantTime(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
 * assert.ok(!equalConstantTime(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])));
 * ```
 */
export function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}
