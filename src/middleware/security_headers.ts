/**
 * The security headers of every answer, for a bearer-token JSON API (the intent of the OWASP REST
 * Security Cheat Sheet's set; the reasoning per header is in docs/security.md, "Headers"):
 *
 * - `cache-control: no-store`: tokens and account data stay out of every cache;
 * - `content-security-policy: default-src 'none'; frame-ancestors 'none'`: an answer opened in a
 *   browser runs nothing and cannot be framed (`frame-ancestors` is what `X-Frame-Options` did,
 *   in every browser that still gets updates, so that header is no longer sent);
 * - `x-content-type-options: nosniff`: JSON is never sniffed into HTML or script;
 * - `strict-transport-security` only when the public address (`ISSUER`) is `https`: a browser
 *   ignores it over plain HTTP (RFC 6797, 8.1), where this server itself listens.
 *
 * Names are lowercase: that is how HTTP/2 and Deno's own header map spell them, and mixed-case
 * names measurably cost this server more per answer. A route that sets its own header (a public
 * `cache-control`) keeps it.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";

/** Header names and values, in the order they are set. */
export type HeaderList = readonly (readonly [string, string])[];

const BASE: HeaderList = [
  ["cache-control", "no-store"],
  ["content-security-policy", "default-src 'none'; frame-ancestors 'none'"],
  ["x-content-type-options", "nosniff"],
];
const HSTS = ["strict-transport-security", "max-age=31536000; includeSubDomains"] as const;

/** Options of {@link securityHeaders}. */
export interface SecurityHeaderOptions {
  /**
   * The server's public address (`ISSUER`): HSTS is sent only when it is `https:`. Without it
   * HSTS is sent, as before this option existed.
   */
  readonly issuer?: string;
}

/**
 * The header list for `options`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { securityHeaderList } from "./security_headers.ts";
 * const names = (issuer: string) => securityHeaderList({ issuer }).map(([name]) => name);
 * assert(!names("http://localhost:10000").includes("strict-transport-security"));
 * assert(names("https://auth.example.com").includes("strict-transport-security"));
 * ```
 */
export function securityHeaderList(options: SecurityHeaderOptions = {}): HeaderList {
  const https = options.issuer === undefined || options.issuer.startsWith("https://");
  return https ? [...BASE, HSTS] : BASE;
}

/**
 * Sets the headers of `list` on the context, before the route runs: they go into the Response
 * when `c.json()` builds it (setting them afterwards on the built Response checked and copied
 * each one again, per request). A route's own `c.header("cache-control", ...)` later replaces
 * the default.
 */
export function presetSecurityHeaders(c: Context, list: HeaderList): void {
  for (const [name, value] of list) c.header(name, value);
}

/**
 * Adds to a built answer the headers of `list` it lacks: an answer built without the context (a
 * bare `new Response`) did not get them. Each header is looked up on its own: no one header
 * marks an answer that has them all (a script sets its own nosniff and still needs the CSP).
 */
export function completeSecurityHeaders(headers: Headers, list: HeaderList): void {
  for (const [name, value] of list) if (!headers.has(name)) headers.set(name, value);
}

/**
 * Adds the security headers a route has not set itself: the middleware on its own (the server
 * itself runs them in `requestChain`, with its metrics and log, in one pass).
 */
export function securityHeaders(options: SecurityHeaderOptions = {}): MiddlewareHandler {
  const list = securityHeaderList(options);
  return async function securityHeadersMiddleware(c, next) {
    presetSecurityHeaders(c, list);
    await next();
    completeSecurityHeaders(c.res.headers, list);
  };
}
