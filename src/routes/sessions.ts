/**
 * A signed-in user's own sessions and password: `GET /sessions`, `DELETE /sessions/{sid}`,
 * `POST /me/password`.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { clientIp } from "../client_ip.ts";
import { ApiError } from "../errors.ts";
import type { SessionInfo } from "../wire.ts";
import {
  errorResponse,
  jsonBody,
  PasswordChangeBody,
  SessionList,
  storeUnavailable,
  z,
} from "./schemas.ts";

const unauthorized = errorResponse(
  'No valid bearer token (`WWW-Authenticate: Bearer error="invalid_token"`)',
);

/** Registers the self-service session and password routes. */
export function sessionRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireUser, config, logger } = ctx;

  app.openapi(
    createRoute({
      method: "get",
      path: "/sessions",
      summary: "The signed-in user's live sessions, oldest first",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      responses: {
        200: { content: { "application/json": { schema: SessionList } }, description: "Sessions" },
        401: unauthorized,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const user = await services.users.get(claims.sub);
      const sessions: SessionInfo[] = (await services.sessions.list(user)).map((s) => ({
        sid: s.sid,
        role: s.role,
        created_at: new Date(s.createdAt).toISOString(),
        last_refreshed_at: new Date(s.refreshedAt).toISOString(),
        expires_at: new Date(s.expiresAt).toISOString(),
        current: s.sid === claims.sid,
      }));
      return c.json({ sessions }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/sessions/{sid}",
      summary: "End one of the signed-in user's own sessions",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { params: z.object({ sid: z.string().max(64) }) },
      responses: {
        204: { description: "Ended" },
        401: unauthorized,
        404: errorResponse("No such session of this user"),
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const { sid } = c.req.valid("param");
      const user = await services.users.get(claims.sub);
      if (!(await services.sessions.revokeOwn(user, sid, "ended by its user"))) {
        throw new ApiError("not_found", "no such session");
      }
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/me/password",
      summary: "Change the signed-in user's password; ends every other session",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { body: jsonBody(PasswordChangeBody) },
      responses: {
        204: { description: "Changed; this session stays, every other one has ended" },
        400: errorResponse("Malformed JSON, a missing or invalid field"),
        401: errorResponse(
          "No valid bearer token, or the current password is wrong (`invalid_credentials`)",
        ),
        429: errorResponse("Too many attempts for this account or client; see Retry-After"),
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const body = c.req.valid("json");
      // Under the login limits and the device's own budget, as at /login: a stolen access token
      // must not become a password oracle.
      await services.login.checkCredentials({
        userId: claims.sub,
        password: body.current_password,
        client: clientIp(c, config.trustProxy),
        deviceToken: body.device_token,
      });
      await services.users.update(claims.sub, {
        password: body.new_password,
        ...(claims.sid !== undefined ? { keepSession: claims.sid } : {}),
      });
      logger.info("password_changed", { user_id: claims.sub });
      return c.body(null, 204);
    },
  );
}
