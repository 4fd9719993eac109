/**
 * `POST /refresh`: spends a refresh token for a new pair; a spent token presented again ends
 * the session (`refresh_token_reused`).
 *
 * @module
 */
import { createRoute } from "@hono/zod-openapi";
import { AuthError, tooManyAttempts } from "../errors.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { limitSubject } from "../client_address.ts";
import { clientIp } from "../middleware/client_ip.ts";
import type { TokenPair as SessionTokenPair } from "../tokens/sessions.ts";
import { errorResponse, jsonBody, RefreshBody, TokenPair } from "./schemas.ts";

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
    503: errorResponse("The refresh was contended too often (`busy`); retry"),
  },
});

/** Registers `POST /refresh`. */
export function refreshRoutes(app: AppRouter, ctx: AppContext): void {
  const { config } = ctx;
  app.openapi(route, async (c) => {
    const { refresh_token: refreshToken } = c.req.valid("json");
    return c.json(await refreshForClient(ctx, refreshToken, clientIp(c, config.trustProxy)), 200);
  });
}

/**
 * Spends a refresh token for `client` (an address) under the per-client refresh limit, counting
 * the outcome: `POST /refresh` and the OAuth refresh_token grant both come through here.
 */
export async function refreshForClient(
  ctx: Pick<AppContext, "services" | "config" | "metrics">,
  refreshToken: string,
  client: string,
): Promise<SessionTokenPair> {
  const { services, config, metrics } = ctx;
  const limit = services.localLimiter.hit(
    "refresh_client",
    limitSubject(client),
    config.refreshLimitPerClient,
  );
  if (limit.limited) {
    metrics.rateLimited.inc({ limit: "refresh_client" });
    throw tooManyAttempts(limit.retryAfter);
  }
  try {
    return await services.sessions.refresh(refreshToken);
  } catch (err) {
    // Successes and reuse are counted from session events; the other refusals here.
    if (err instanceof AuthError && err.code !== "refresh_token_reused") {
      metrics.refreshes.inc({ outcome: err.code });
    }
    throw err;
  }
}
