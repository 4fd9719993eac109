/**
 * `GET /metrics` in Prometheus text format; when `METRICS_TOKEN` is set, only with
 * `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { timingSafeEqual } from "node:crypto";
import type { AppContext, AppRouter } from "../app_types.ts";
import { ApiError } from "../errors.ts";
import { bearerToken } from "../middleware/require_auth.ts";
import { errorResponse } from "./schemas.ts";

/** Registers `GET /metrics`. */
export function metricsRoutes(app: AppRouter, ctx: AppContext): void {
  const expected = ctx.config.metricsToken;
  const expectedDigest = expected === undefined ? undefined : digest(expected);

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
      },
    }),
    async (c) => {
      if (expectedDigest !== undefined) {
        const given = bearerToken(c.req.header("Authorization")) ?? "";
        if (!timingSafeEqual(await digest(given), await expectedDigest)) {
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

/** SHA-256 first, so the comparison is over equal lengths whatever was sent. */
async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
