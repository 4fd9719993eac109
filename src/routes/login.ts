/**
 * `POST /login`: the tutorial's endpoint, now checking credentials (`users/login_service.ts`).
 * Limits: every attempt counts against the client, every failure against the account, or against
 * the device when a valid `device_token` comes along; past any, 429 even for the right password.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { clientIp } from "../client_ip.ts";
import { ErrorBodySchema, MfaRequiredSchema } from "../wire.ts";
import { errorResponse, jsonBody, LoginAnswer, LoginBody, storeUnavailable, z } from "./schemas.ts";

/** The 403 of a user with an active second factor. */
export const MfaRequired = MfaRequiredSchema.meta({
  id: "MfaRequired",
  example: {
    error: "a second factor is required",
    code: "mfa_required",
    mfa_token: "q7m0kQ3o1mYb7Jm2m3u0kq6o0ZpM2C1cRk4n4fQh0aA",
    methods: ["totp", "recovery_code"],
  },
});

const route = createRoute({
  method: "post",
  path: "/login",
  summary: "Check credentials and issue an access token and a refresh token",
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: {
      content: { "application/json": { schema: LoginAnswer } },
      description: "Signed in; `device_token` is for this user's next login from this device",
    },
    400: errorResponse("Malformed JSON, a missing or invalid field"),
    401: errorResponse("Unknown user, wrong password or disabled user: `invalid_credentials`"),
    403: {
      content: { "application/json": { schema: z.union([MfaRequired, ErrorBodySchema]) } },
      description: "`mfa_required`: the password is right and the user has an active second " +
        "factor; finish at POST /login/mfa with `mfa_token`. Or `role_not_allowed`: the " +
        "requested role is not one of the user's roles",
    },
    413: errorResponse("Body over 16 KiB"),
    415: errorResponse("Not application/json"),
    429: errorResponse(
      "Too many attempts for this client, account or device token; see Retry-After",
    ),
    503: storeUnavailable,
  },
});

/** Registers `POST /login`: parses, asks the login service, answers. */
export function loginRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  app.openapi(route, async (c) => {
    const { user_id: userId, password, role, device_token: deviceToken } = c.req.valid("json");
    const client = clientIp(c, config.trustProxy);
    const answer = await services.login.login({ userId, password, role, client, deviceToken });
    if ("mfa" in answer) {
      return c.json({
        error: "a second factor is required",
        code: "mfa_required" as const,
        ...answer.mfa,
      }, 403);
    }
    return c.json(answer, 200);
  });
}
