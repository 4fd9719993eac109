/**
 * TOTP (RFC 6238) over HOTP (RFC 4226): HMAC-SHA-1, 6 digits, 30-second steps, one step of
 * drift either way (RFC 6238 section 5.2's "at most one time step" of network delay, as Supabase
 * Auth, Keycloak and Ory Kratos accept). No clock is read here: every function takes the time.
 *
 * Replay (RFC 6238 section 5.2: "the verifier MUST NOT accept the second attempt of the same
 * OTP after the successful validation has been issued for the first OTP"): {@link matchTotp}
 * accepts only steps after the last one used, and answers the step it matched, which the caller
 * records in the same commit as whatever the code unlocks.
 *
 * @module
 */
import { equalConstantTime, hmacSha1 } from "../crypto/digests.ts";

/** Seconds per time step (RFC 6238 section 4.1, X; the default every authenticator app uses). */
export const TOTP_PERIOD_SECONDS = 30;
/** Digits per code (the default of Google Authenticator and every other app). */
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one. */
export const TOTP_DRIFT_STEPS = 1;
/** Bytes of a new secret: 160 bits, the length RFC 4226 section 4 recommends for SHA-1. */
export const TOTP_SECRET_BYTES = 20;

/**
 * HOTP (RFC 4226 section 5.3): HMAC-SHA-1 of the 8-byte big-endian counter, dynamically
 * truncated to 31 bits, modulo 10^digits, left-padded with zeros.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hotp } from "./totp.ts";
 * // RFC 4226 Appendix D: secret "12345678901234567890", counters 0 and 9.
 * const secret = new TextEncoder().encode("12345678901234567890");
 * assert.equal(hotp(secret, 0), "755224");
 * assert.equal(hotp(secret, 9), "520489");
 * ```
 */
export function hotp(secret: Uint8Array, counter: number, digits: number = TOTP_DIGITS): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError("bad HOTP counter");
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, BigInt(counter));
  const mac = hmacSha1(secret, message);
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) |
    (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** The time step of an instant (RFC 6238 section 4.2: T = floor((now - T0) / X), T0 = 0). */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The code for an instant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { totp } from "./totp.ts";
 * // RFC 6238 Appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last 6 with 6 digits.
 * const secret = new TextEncoder().encode("12345678901234567890");
 * assert.equal(totp(secret, 59_000, 8), "94287082");
 * assert.equal(totp(secret, 59_000), "287082");
 * ```
 */
export function totp(secret: Uint8Array, nowMs: number, digits: number = TOTP_DIGITS): string {
  return hotp(secret, totpStep(nowMs), digits);
}

/** Whether a string has the shape of a code (6 ASCII digits): checked before any HMAC. */
export function isTotpCode(code: string): boolean {
  return /^[0-9]{6}$/.test(code);
}

/**
 * The step a presented code matches, among the current one and {@link TOTP_DRIFT_STEPS}
 * either side, and only steps after `lastUsedStep` (a code once accepted, or an older one, is
 * never accepted again); `undefined` when none does. Every candidate is compared, in constant
 * time, whatever matched first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchTotp, totp, totpStep } from "./totp.ts";
 * const secret = new TextEncoder().encode("12345678901234567890");
 * const now = 1_767_225_600_000;
 * const code = totp(secret, now);
 * assert.equal(matchTotp(secret, code, now, -1), totpStep(now));
 * assert.equal(matchTotp(secret, code, now, totpStep(now)), undefined); // replayed
 * assert.equal(matchTotp(secret, totp(secret, now - 30_000), now, -1), totpStep(now) - 1);
 * assert.equal(matchTotp(secret, totp(secret, now - 60_000), now, -1), undefined);
 * ```
 */
export function matchTotp(
  secret: Uint8Array,
  code: string,
  nowMs: number,
  lastUsedStep: number,
): number | undefined {
  if (!isTotpCode(code)) return undefined;
  const presented = new TextEncoder().encode(code);
  const current = totpStep(nowMs);
  let matched: number | undefined;
  for (let step = current - TOTP_DRIFT_STEPS; step <= current + TOTP_DRIFT_STEPS; step++) {
    if (step < 0) continue;
    const expected = new TextEncoder().encode(hotp(secret, step));
    if (equalConstantTime(presented, expected) && step > lastUsedStep) matched ??= step;
  }
  return matched;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * RFC 4648 base32 without padding: how authenticator apps take a secret (Key Uri Format).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { base32Decode, base32Encode } from "./totp.ts";
 * assert.equal(base32Encode(new TextEncoder().encode("foobar")), "MZXW6YTBOI");
 * assert.equal(new TextDecoder().decode(base32Decode("mzxw6ytboi")), "foobar");
 * assert.equal(base32Decode("MZXW6YTB0I"), undefined); // "0" is not base32
 * ```
 */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes {@link base32Encode}'s output (any case, no padding); `undefined` when malformed. */
export function base32Decode(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text.toUpperCase()) {
    const value = BASE32.indexOf(char);
    if (value < 0) return undefined;
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/**
 * The `otpauth://` URI authenticator apps read from a QR code (Google Authenticator's Key Uri
 * Format): `otpauth://totp/Issuer:account?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { otpauthUri } from "./totp.ts";
 * assert.equal(
 *   otpauthUri({ secret: "JBSWY3DPEHPK3PXP", account: "ada", issuer: "auth.example" }),
 *   "otpauth://totp/auth.example:ada?secret=JBSWY3DPEHPK3PXP&issuer=auth.example" +
 *     "&algorithm=SHA1&digits=6&period=30",
 * );
 * ```
 */
export function otpauthUri(
  { secret, account, issuer }: { secret: string; account: string; issuer: string },
): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}` +
    `&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD_SECONDS}`;
}
