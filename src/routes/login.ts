/**
 * `POST /login`: the tutorial's endpoint, now checking credentials (`users/login_service.ts`).
 * Limits: every attempt counts against the client, every failure against the account; past
 * either, 429 even for the right password.
 *
 * @module
 */
import { createRoute } from "@hono/zod-openapi";
import type { AppContext, AppRouter } from "../app_types.ts";
import { clientIp } from "../client_ip.ts";
import { errorResponse, jsonBody, LoginBody, storeUnavailable, TokenPair } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/login",
  summary: "Check credentials and issue an access token and a refresh token",
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: { content: { "application/json": { schema: TokenPair } }, description: "Signed in" },
    400: errorResponse("Malformed JSON, a missing or invalid field"),
    401: errorResponse("Unknown user, wrong password or disabled user: `invalid_credentials`"),
    403: errorResponse("The requested role is not one of the user's roles"),
    413: errorResponse("Body over 16 KiB"),
    415: errorResponse("Not application/json"),
    429: errorResponse("Too many attempts for this account or client; see Retry-After"),
    503: storeUnavailable,
  },
});

/** Registers `POST /login`: parses, asks the login service, answers. */
export function loginRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  app.openapi(route, async (c) => {
    const { user_id: userId, password, role } = c.req.valid("json");
    const client = clientIp(c, config.trustProxy);
    return c.json(await services.login.login({ userId, password, role, client }), 200);
  });
}
