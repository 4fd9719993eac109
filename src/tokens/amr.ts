/**
 * RFC 8176 authentication method references: what a token's `amr` says about how its user
 * signed in, and whether that was more than one factor. No server code here: the verifier other
 * services import (`middleware/require_auth.ts`) uses it.
 *
 * @module
 */

/** Methods that are a factor besides a password: a one-time code, a key held in hardware or
 * software, or RFC 8176's own "mfa". */
const SECOND_FACTORS = new Set(["otp", "hwk", "swk", "mfa", "sms", "tel"]);
/** What a user proves on a key (a passkey with user verification is two factors by itself). */
const USER_VERIFICATION = new Set(["user", "pin", "fpt", "face", "iris", "retina", "vbm"]);

/**
 * Whether an `amr` claim shows a login with a second factor: `"mfa"`; a password (or a user
 * verification) with a one-time code or a key; a key with user verification.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isMultiFactor } from "./amr.ts";
 * assert(isMultiFactor(["pwd", "otp"]));
 * assert(isMultiFactor(["hwk", "user"]));
 * assert(!isMultiFactor(["pwd"]));
 * assert(!isMultiFactor(["otp"]) && !isMultiFactor(["hwk"]) && !isMultiFactor(undefined));
 * ```
 */
export function isMultiFactor(amr: readonly string[] | undefined): boolean {
  if (!amr) return false;
  if (amr.includes("mfa")) return true;
  const second = amr.some((m) => SECOND_FACTORS.has(m));
  const first = amr.includes("pwd") || amr.some((m) => USER_VERIFICATION.has(m));
  return second && first;
}
