/**
 * `POST /refresh`: spends a refresh token for a new pair; a spent token presented again ends
 * the session (`refresh_token_reused`). The limit and the rotation live in
 * `tokens/refresh_service.ts`, shared with the OAuth refresh_token grant.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
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
      "Unknown or expired token, or one issued to an OAuth client, which must use " +
        "/oauth/token with its credentials (`invalid_refresh_token`), ended session " +
        "(`session_revoked`), " +
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
  app.openapi(route, async (c) => {
    const { refresh_token: refreshToken } = c.req.valid("json");
    const client = clientIp(c, config.trustProxy);
    return c.json(await services.refresh.refresh({ refreshToken, client }), 200);
  });
}
