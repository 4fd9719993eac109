/**
 * `GET /me` and `POST /logout`: the bearer-token routes of a signed-in user.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext, AppRouter } from "../app_types.ts";
import { errorResponse, MeResponse } from "./schemas.ts";

const unauthorized = errorResponse(
  'No valid bearer token (`WWW-Authenticate: Bearer error="invalid_token"`)',
);

/** Registers `GET /me` and `POST /logout`. */
export function sessionRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireUser, logger } = ctx;

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
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const { sid, aud, ...rest } = claims;
      return c.json({
        claims: {
          ...rest,
          ...(sid !== undefined ? { sid } : {}),
          ...(aud !== undefined ? { aud } : {}),
        },
        // requireUser has just checked the session and user through the gate: its answer.
        roles: [...(await services.gate.roles(claims))],
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/logout",
      summary: "End the bearer token's session, or with scope=global every session of the user",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: {
        query: z.object({
          scope: z.enum(["session", "global"], { error: "scope must be session or global" })
            .optional(),
        }),
      },
      responses: {
        204: { description: "Signed out" },
        400: errorResponse("Bad scope"),
        401: unauthorized,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const global = c.req.valid("query").scope === "global";
      if (global) await services.sessions.revokeAll(claims.sub, "logout (global)");
      else if (claims.sid) await services.sessions.revoke(claims.sid, "logout");
      logger.info("logout", { user_id: claims.sub, scope: global ? "global" : "session" });
      return c.body(null, 204);
    },
  );
}
