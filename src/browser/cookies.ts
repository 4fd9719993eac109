/**
 * The sign-in pages' cookies, all HttpOnly, `Path=/`, and over https `Secure` with the `__Host-`
 * prefix (a sibling subdomain cannot set or shadow them, RFC 6265bis 4.1.3.2):
 *
 * - the browser session (`SameSite=Lax`: a top-level navigation from the client's site to
 *   `/authorize` must carry it, or single sign-on would not work);
 * - the CSRF cookie (`SameSite=Strict`) whose HMAC is the login form's hidden token: a signed
 *   double-submit token (OWASP CSRF Prevention Cheat Sheet), so a form posted from another site
 *   has neither the cookie nor a token that matches it;
 * - the device token (`SameSite=Strict`), which `POST /login` returns in its body;
 * - the pending second step (`SameSite=Strict`, 5 minutes): the `mfa_token` of a right password
 *   for a user with a second factor, bound to this browser's CSRF cookie ({@link browserBinding}).
 *
 * @module
 */
import {
  equalConstantTime,
  hmacSha256,
  hmacSha256Base64url,
  sha256Base64url,
} from "../crypto/digests.ts";
import { base64url } from "jose";

/** The cookie names for a server whose public address is or is not https. */
export interface CookieNames {
  readonly session: string;
  readonly csrf: string;
  readonly device: string;
  readonly mfa: string;
  readonly secure: boolean;
}

/**
 * The cookie names for `issuer`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cookieNames } from "./cookies.ts";
 * assert.equal(cookieNames("https://auth.example").session, "__Host-auth_session");
 * assert.equal(cookieNames("http://localhost:10000").session, "auth_session");
 * ```
 */
export function cookieNames(issuer: string): CookieNames {
  const secure = issuer.startsWith("https://");
  const prefix = secure ? "__Host-" : "";
  return {
    session: `${prefix}auth_session`,
    csrf: `${prefix}auth_csrf`,
    device: `${prefix}auth_device`,
    mfa: `${prefix}auth_mfa`,
    secure,
  };
}

/** A `Set-Cookie` value. */
export function setCookieValue(
  names: CookieNames,
  name: string,
  value: string,
  options: { readonly maxAge: number; readonly sameSite: "Lax" | "Strict" },
): string {
  return `${name}=${value}; Path=/; Max-Age=${Math.max(0, Math.floor(options.maxAge))}; ` +
    `HttpOnly; SameSite=${options.sameSite}${names.secure ? "; Secure" : ""}`;
}

/** A cookie's value from a `Cookie` header, else `undefined`. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A new random cookie value (256 bits, base64url). */
export function newCookieValue(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

/** The key CSRF tokens are HMACs under, derived from `SECRET_KEY`. */
export function deriveCsrfKey(secretKey: string): Uint8Array {
  return hmacSha256(secretKey, "login-csrf/v1");
}

/** The form token of a CSRF cookie value. */
export function csrfToken(key: Uint8Array, cookieValue: string): string {
  return hmacSha256Base64url(key, cookieValue);
}

/**
 * Whether a form's token matches the CSRF cookie it came with (constant time).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csrfToken, csrfTokenMatches } from "./cookies.ts";
 * const key = new Uint8Array(32);
 * assert.ok(csrfTokenMatches(key, "cookie", csrfToken(key, "cookie")));
 * assert.ok(!csrfTokenMatches(key, "other", csrfToken(key, "cookie")));
 * assert.ok(!csrfTokenMatches(key, undefined, csrfToken(key, "cookie")));
 * ```
 */
export function csrfTokenMatches(
  key: Uint8Array,
  cookieValue: string | undefined,
  token: string | undefined,
): boolean {
  if (cookieValue === undefined || cookieValue === "" || token === undefined) return false;
  const expected = new TextEncoder().encode(csrfToken(key, cookieValue));
  return equalConstantTime(new TextEncoder().encode(token), expected);
}

/**
 * What binds a login page's pending second step to one browser: a hash of its CSRF cookie (a
 * step carried to another browser, whose CSRF cookie differs, does not pass there).
 */
export function browserBinding(csrfCookie: string): string {
  return sha256Base64url("login-step/v1", csrfCookie);
}
