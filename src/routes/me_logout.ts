/**
 * `GET /me` and `POST /logout`: the bearer-token routes of a signed-in user (`/logout` also
 * takes a refresh token alone).
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { TypedResponse } from "hono";
import type { AppContext, AppRouter } from "../app_types.ts";
import type { AccessClaims } from "../tokens/access_token.ts";
import type { SessionRecord } from "../tokens/session_store.ts";
import type { Me } from "../wire.ts";
import { ME_CONTENT_TYPE, type MeAnswers } from "../http/me_fast_path.ts";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import { ApiError } from "../errors.ts";
import { errorResponse, LogoutBody, MeResponse, storeUnavailable, z } from "./schemas.ts";

const unauthorized = errorResponse(
  'No valid bearer token (`WWW-Authenticate: Bearer error="invalid_token"`)',
);

/**
 * Registers `GET /me` and `POST /logout`. `/me`'s answer is serialized by `answers`, which also
 * answers a repeat of it without Hono (`http/me_fast_path.ts`).
 */
export function meAndLogoutRoutes(app: AppRouter, ctx: AppContext, answers: MeAnswers): void {
  const { services, requireUser, logger } = ctx;
  // /logout also serves a client that holds only its refresh token: a JSON body and no
  // Authorization header skip the bearer check; anything else must carry a valid bearer token.
  const userIfBearer: MiddlewareHandler<AppEnv> = (c, next) =>
    c.req.header("Authorization") === undefined && isJson(c.req.header("Content-Type"))
      ? next()
      : requireUser(c, next);

  app.openapi(
    createRoute({
      method: "get",
      path: "/me",
      summary: "The verified claims of the bearer token and the user's roles",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      responses: {
        200: { content: { "application/json": { schema: MeResponse } }, description: "Claims" },
        401: unauthorized,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      // requireUser has just checked the session and user through the gate: these are its roles.
      const roles = await services.gate.roles(claims);
      // A client polls /me with one token: while the verified claims (cached per token) and the
      // roles (cached per session) are the same objects, so is the answer; serialized once.
      const body = answers.body(c.req.header("Authorization") ?? "", claims, roles);
      // The typed-response helpers cannot see through a string; `Me` is the schema's type,
      // and tests/app/openapi_test.ts checks the body against the schema too.
      const response = c.body(body, 200, { "Content-Type": ME_CONTENT_TYPE });
      return response as unknown as TypedResponse<Me, 200, "json">;
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/logout",
      summary: "End the bearer token's session (scope=global: every session of the user), " +
        'or the session of {"refresh_token"}',
      security: [{ bearer: [] }, {}],
      middleware: [userIfBearer] as const,
      request: {
        query: z.object({
          scope: z.enum(["session", "global"], { error: "scope must be session or global" })
            .optional(),
        }),
        body: { content: { "application/json": { schema: LogoutBody } }, required: false },
      },
      responses: {
        204: { description: "Signed out" },
        400: errorResponse("Bad scope or body; neither a bearer token nor a refresh_token"),
        401: errorResponse(
          "Invalid bearer token (`invalid_token`) or unknown refresh token " +
            "(`invalid_refresh_token`)",
        ),
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth") as AccessClaims | undefined;
      const refreshToken = isJson(c.req.header("Content-Type"))
        ? c.req.valid("json").refresh_token
        : undefined;
      const global = c.req.valid("query").scope === "global";
      if (!claims && refreshToken === undefined) {
        throw new ApiError("validation_failed", "refresh_token is required");
      }
      const ended: SessionRecord[] = [];
      if (refreshToken !== undefined) {
        const known = await services.sessions.revokeByRefreshToken(refreshToken, "logout");
        if (!known && !claims) {
          throw new ApiError("invalid_refresh_token", "refresh token is invalid or expired");
        }
        if (known) ended.push(known);
      }
      if (claims && global) {
        // One commit: the user's next session epoch ends every session at once.
        await services.users.update(claims.sub, { endSessions: true });
      } else if (claims?.sid) {
        const session = await services.sessions.revoke(claims.sid, "logout");
        if (session) ended.push(session);
      }
      // A session from the login page's sign-in ends that sign-in (browser session and the
      // token sessions it issued): the next /authorize asks for credentials again.
      for (const session of ended) await services.signOut.afterLogout(session, "logout");
      logger.info("logout", {
        user_id: claims?.sub,
        scope: global ? "global" : refreshToken !== undefined ? "refresh_token" : "session",
      });
      return c.body(null, 204);
    },
  );
}

function isJson(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === "application/json";
}
