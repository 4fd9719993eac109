/**
 * Device tokens: OWASP's "device cookies" (Slow Down Online Guessing Attacks with Device Cookies,
 * https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies). A
 * successful login hands the client one; a later login for the same user that presents it is
 * judged by that device's own failure budget instead of the account's, so guesses from elsewhere
 * never lock a device out that has signed in before.
 *
 * A token is `dt1.<payload>.<mac>`: base64url JSON `{u: user id, d: device id (128 random bits),
 * e: expiry (epoch s), p: password fingerprint, f?: second-factor fingerprint}` and its
 * HMAC-SHA256 under a key derived from `SECRET_KEY`. Nothing is stored. The fingerprint is an
 * HMAC of the user's password hash as it was at issue, so any change of that hash (a new
 * password; also an argon2 parameter upgrade) ends every device token of the user, with no store
 * and no coordination with other code.
 *
 * `f` binds the token to the second factor the login proved (an HMAC of the factor's stamp,
 * `activeFactorStamp`), absent when the user had none. A device's budget is a budget of guesses,
 * codes included: a token minted with the password alone, before the factor existed, must not
 * buy its holder a fresh budget of code guesses once it does (an attacker who knew the password
 * would mint a thousand). So enrolling, replacing or removing the factor ends every device token
 * of the user, as a new password does; a token from before `f` existed reads as "no factor".
 *
 * @module
 */
import { base64url } from "jose";
import { equalConstantTime, hmacSha256 } from "../crypto/digests.ts";

const PREFIX = "dt1";
const KEY_LABEL = "auth-server device token v1";
/** Longest device token accepted (a valid one is about 200 characters). */
export const MAX_DEVICE_TOKEN_LENGTH = 512;

/** Why a presented device token does not count. */
export type DeviceTokenProblem = "invalid" | "expired" | "other_user";

/** A device token whose signature, expiry and user hold (the password check is separate). */
export interface DeviceClaim {
  /** The device's id: the subject of its failure budget (not a secret: the MAC is). */
  readonly device: string;
  readonly fingerprint: string;
  /** The second-factor fingerprint; `undefined`: issued to a user without an active factor. */
  readonly factors: string | undefined;
}

/** Options of {@link createDeviceTokens}. */
export interface DeviceTokenOptions {
  /** The server's `SECRET_KEY`; the signing key is derived from it. */
  readonly secret: string;
  readonly ttlSeconds: number;
  readonly now: () => number;
}

/**
 * Creates the device-token issuer and checker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDeviceTokens } from "./device_tokens.ts";
 * const devices = createDeviceTokens({ secret: "s".repeat(40), ttlSeconds: 60, now: () => 0 });
 * const token = devices.issue("ada", "$argon2id$hash", "totp/1700000000000");
 * const claim = devices.check(token, "ada");
 * assert("device" in claim && devices.fingerprintMatches(claim, "$argon2id$hash"));
 * assert(!devices.fingerprintMatches(claim, "$argon2id$new-hash"));
 * assert(devices.factorsMatch(claim, "totp/1700000000000"));
 * assert(!devices.factorsMatch(claim, undefined) && !devices.factorsMatch(claim, "totp/1"));
 * assert.deepEqual(devices.check(token, "bob"), { problem: "other_user" });
 * ```
 */
export function createDeviceTokens(options: DeviceTokenOptions) {
  // Synchronous HMAC (crypto/digests.ts): a login under load should not wait an extra
  // event-loop turn for each of these.
  const key = hmacSha256(options.secret, KEY_LABEL);
  const mac = (text: string) => hmacSha256(key, text);
  const fingerprint = (passwordHash: string) =>
    base64url.encode(mac(`password\u0000${passwordHash}`).subarray(0, 16));
  const factorsFingerprint = (stamp: string) =>
    base64url.encode(mac(`factors\u0000${stamp}`).subarray(0, 16));

  return {
    /**
     * A new device token for `userId`, bound to its current password hash and to the stamp of
     * the second factor the login proved (`undefined`: the user had none).
     */
    issue(userId: string, passwordHash: string, factors: string | undefined): string {
      const payload = base64url.encode(JSON.stringify({
        u: userId,
        d: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
        e: Math.floor(options.now() / 1000) + options.ttlSeconds,
        p: fingerprint(passwordHash),
        ...(factors === undefined ? {} : { f: factorsFingerprint(factors) }),
      }));
      return `${PREFIX}.${payload}.${base64url.encode(mac(`${PREFIX}.${payload}`))}`;
    },
    /** The token's claim for `userId`, or why it does not count. Reads nothing. */
    check(token: string, userId: string): DeviceClaim | { problem: DeviceTokenProblem } {
      const parts = token.length <= MAX_DEVICE_TOKEN_LENGTH ? token.split(".") : [];
      const [prefix, payload, signature] = parts;
      if (parts.length !== 3 || prefix !== PREFIX || !payload || !signature) {
        return { problem: "invalid" };
      }
      if (!sameBytes(decode(signature), mac(`${PREFIX}.${payload}`))) return { problem: "invalid" };
      const claims = parseClaims(payload);
      if (!claims) return { problem: "invalid" };
      if (claims.u !== userId) return { problem: "other_user" };
      if (claims.e * 1000 <= options.now()) return { problem: "expired" };
      return { device: claims.d, fingerprint: claims.p, factors: claims.f };
    },
    /** Whether the claim was issued under this password hash (false once it changed). */
    fingerprintMatches(claim: DeviceClaim, passwordHash: string): boolean {
      return sameBytes(decode(claim.fingerprint), decode(fingerprint(passwordHash)));
    },
    /**
     * Whether the claim was issued under this second-factor stamp (`undefined`: no active
     * factor); false once the factor was enrolled, replaced or removed.
     */
    factorsMatch(claim: DeviceClaim, factors: string | undefined): boolean {
      if (claim.factors === undefined || factors === undefined) return claim.factors === factors;
      return sameBytes(decode(claim.factors), decode(factorsFingerprint(factors)));
    },
  };
}

/** The device-token service's interface. */
export type DeviceTokens = ReturnType<typeof createDeviceTokens>;

/** Constant-time equality (a length mismatch is no secret); an undecodable side never equals. */
function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && equalConstantTime(a, b);
}

function parseClaims(
  payload: string,
): { u: string; d: string; e: number; p: string; f?: string } | undefined {
  try {
    const bytes = decode(payload);
    const claims = bytes && JSON.parse(new TextDecoder().decode(bytes));
    const ok = typeof claims?.u === "string" && typeof claims.d === "string" &&
      Number.isSafeInteger(claims.e) && typeof claims.p === "string" &&
      (claims.f === undefined || typeof claims.f === "string");
    return ok ? claims : undefined;
  } catch {
    return undefined;
  }
}

function decode(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return new Uint8Array(base64url.decode(text));
  } catch {
    return undefined;
  }
}
