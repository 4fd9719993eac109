/**
 * `POST /refresh`: spends a refresh token for a new pair; a spent token presented again ends
 * the session (`refresh_token_reused`).
 *
 * @module
 */
import { createRoute } from "@hono/zod-openapi";
import { toApiError, tooManyAttempts } from "../errors.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { limitSubject } from "../client_address.ts";
import { clientIp } from "../client_ip.ts";
import { errorResponse, jsonBody, RefreshBody, storeUnavailable, TokenPair } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/refresh",
  summary: "Rotate a refresh token: spend it, get a new access token and refresh token",
  request: { body: jsonBody(RefreshBody) },
  responses: {
    200: { content: { "application/json": { schema: TokenPair } }, description: "Rotated" },
    400: errorResponse("Malformed JSON or a missing refresh_token"),
    401: errorResponse(
      "Unknown or expired token (`invalid_refresh_token`), ended session (`session_revoked`), " +
        "a spent token presented again (`refresh_token_reused`, which revokes the session), or " +
        "a concurrent request with the same token that won (`refresh_conflict`)",
    ),
    413: errorResponse("Body over 16 KiB"),
    415: errorResponse("Not application/json"),
    429: errorResponse("Too many refreshes from this client; see Retry-After"),
    503: storeUnavailable,
  },
});

/** Registers `POST /refresh`. */
export function refreshRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  const { metrics } = services;
  app.openapi(route, async (c) => {
    const { refresh_token: refreshToken } = c.req.valid("json");
    const limit = services.refreshLimiter.hit(
      "refresh_client",
      limitSubject(clientIp(c, config.trustProxy)),
      config.refreshLimitPerClient,
    );
    if (limit.limited) {
      services.events.emit({ type: "rate_limited", limit: "refresh_client" });
      throw tooManyAttempts(limit.retryAfter);
    }
    try {
      return c.json(await services.sessions.refresh(refreshToken), 200);
    } catch (err) {
      // Successes and reuse are counted from session events; the other refusals here.
      const answer = toApiError(err);
      if (answer && answer.code !== "refresh_token_reused") {
        metrics.refreshes.inc({ outcome: answer.code });
      }
      throw err;
    }
  });
}
