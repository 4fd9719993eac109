/**
 * The security headers of every answer, for a JSON API (OWASP REST Security Cheat Sheet):
 * no caching unless a route says otherwise, no sniffing, no framing, HTTPS only, no referrer.
 * A fixed list, set after the handler where the route has not set its own (a public
 * `Cache-Control`).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

const HEADERS: readonly (readonly [string, string])[] = [
  ["Cache-Control", "no-store"],
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"],
  ["Cross-Origin-Resource-Policy", "same-site"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
];

/** Adds the security headers a route has not set itself. */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const headers = c.res.headers;
    for (const [name, value] of HEADERS) if (!headers.has(name)) headers.set(name, value);
  };
}
