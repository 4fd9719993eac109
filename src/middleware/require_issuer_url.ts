/**
 * The browser pages (`/authorize` and its forms, `/end-session`, the passkey page) post forms to
 * and build cookies and redirects under the issuer's URL. `ISSUER` may be a name that is no URL
 * (a StringOrURI such as the tutorial's `your identity`): tokens work with it, browser sign-in
 * cannot. Such a server answers those pages as discovery does (`routes/well_known.ts`): a JSON
 * 404 that says why, never a 500. One definition of "the issuer is a URL": `issuerUrl`.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { issuerUrl } from "../config/issuer.ts";
import { ApiError } from "../errors.ts";

/** The paths of the browser pages (Hono patterns). */
export const BROWSER_PAGE_PATHS: readonly string[] = [
  "/authorize",
  "/authorize/*",
  "/end-session",
  "/passkeys",
];

/**
 * A middleware refusing the browser pages when `issuer` is not an http(s) URL, else
 * `undefined` (nothing to install).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requireIssuerUrl } from "./require_issuer_url.ts";
 * assert.equal(requireIssuerUrl("https://auth.example"), undefined);
 * assert.equal(typeof requireIssuerUrl("your identity"), "function");
 * ```
 */
export function requireIssuerUrl(issuer: string): MiddlewareHandler | undefined {
  if (issuerUrl(issuer) !== undefined) return undefined;
  return function browserNeedsIssuerUrl() {
    throw new ApiError(
      "not_found",
      `browser sign-in needs an issuer that is an http(s) URL, and this server's issuer is ` +
        `"${issuer}": set ISSUER to the server's public URL (tokens work without it)`,
    );
  };
}
