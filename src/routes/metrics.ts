/**
 * `GET /metrics` in Prometheus text format; when `METRICS_TOKEN` is set, only with
 * `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time). A server that listens
 * beyond loopback (`HOST=0.0.0.0`, the default) serves it only with a token of at least 32
 * bytes ({@link metricsAccess}): the counters tell anyone who can reach the port how many
 * logins fail, which limits trip and which routes are used.
 *
 * Why a required token and not a second listener bound to loopback: several processes share
 * one port on a machine (`reusePort`), and each would need a loopback port of its own;
 * Prometheus sends a bearer token natively (`authorization: credentials_file`); and nothing
 * in `server.ts` changes.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { equalConstantTime, sha256 } from "../crypto/digests.ts";
import { ApiError } from "../errors.ts";
import { bearerToken } from "../middleware/require_auth.ts";
import { errorResponse, z } from "./schemas.ts";

/** The shortest `METRICS_TOKEN` that opens `/metrics` on a server listening beyond loopback. */
export const MIN_NETWORK_METRICS_TOKEN_BYTES = 32;

/**
 * How `/metrics` is served for a `HOST` and a `METRICS_TOKEN`: `open` (loopback, no token),
 * `token` (that bearer token required) or `refused` (beyond loopback without a token of at least
 * {@link MIN_NETWORK_METRICS_TOKEN_BYTES} bytes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricsAccess } from "./metrics.ts";
 * assert.equal(metricsAccess("127.0.0.1", undefined), "open");
 * assert.equal(metricsAccess("0.0.0.0", undefined), "refused");
 * assert.equal(metricsAccess("0.0.0.0", "t".repeat(32)), "token");
 * ```
 */
export function metricsAccess(
  host: string,
  token: string | undefined,
): "open" | "token" | "refused" {
  if (isLoopback(host)) return token === undefined ? "open" : "token";
  const strong = token !== undefined &&
    new TextEncoder().encode(token).length >= MIN_NETWORK_METRICS_TOKEN_BYTES;
  return strong ? "token" : "refused";
}

/** `localhost`, 127.0.0.0/8 (IPv4-mapped too) or `::1`. */
function isLoopback(host: string): boolean {
  const v4 = host.replace(/^::ffff:/i, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Registers `GET /metrics`. */
export function metricsRoutes(app: AppRouter, ctx: AppContext): void {
  const expected = ctx.config.metricsToken;
  const access = metricsAccess(ctx.config.host, expected);
  // SHA-256 first, so the comparison is over equal lengths whatever was sent.
  const expectedDigest = expected === undefined ? undefined : sha256(expected);

  app.openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      summary: "Prometheus metrics (Bearer METRICS_TOKEN when configured)",
      // Open, or a bearer token (METRICS_TOKEN) when one is configured.
      security: [{}, { metricsToken: [] }],
      responses: {
        200: {
          content: { "text/plain": { schema: z.string() } },
          description: "Prometheus text exposition format",
        },
        401: errorResponse("METRICS_TOKEN is set and the bearer token does not match"),
        403: errorResponse(
          "HOST is beyond loopback and METRICS_TOKEN is unset or under 32 bytes " +
            "(`metrics_token_required`)",
        ),
      },
    }),
    async (c) => {
      if (access === "refused") {
        throw new ApiError(
          "metrics_token_required",
          "this server listens beyond loopback: set METRICS_TOKEN (at least 32 bytes) to serve " +
            "/metrics, or HOST=127.0.0.1",
        );
      }
      if (expectedDigest !== undefined) {
        const given = bearerToken(c.req.header("Authorization")) ?? "";
        if (!equalConstantTime(sha256(given), expectedDigest)) {
          throw new ApiError("invalid_token", "metrics token required", {
            "WWW-Authenticate": 'Bearer realm="metrics"',
          });
        }
      }
      const { registry } = ctx.services.metrics;
      return c.text(await registry.metrics(), 200, { "Content-Type": registry.contentType });
    },
  );
}
