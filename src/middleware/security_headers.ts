/**
 * The security headers of every answer: the set the OWASP REST Security Cheat Sheet names for a
 * JSON API (no caching unless a route says otherwise, no active content, no framing, HTTPS only,
 * no sniffing). Headers meant for HTML documents (Referrer-Policy, the Cross-Origin-* family)
 * protect nothing on a bearer-token JSON API and are left out: each response header costs this
 * server measurable throughput (see the benchmark section of README.md).
 * A fixed list, set after the handler where the route has not set its own (a public
 * `Cache-Control`).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** The headers, for the few answers made before Hono (`flood_gate.ts`). */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["Cache-Control", "no-store"],
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"],
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
];

/** Adds the security headers a route has not set itself. */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const headers = c.res.headers;
    for (const [name, value] of SECURITY_HEADERS) if (!headers.has(name)) headers.set(name, value);
  };
}
