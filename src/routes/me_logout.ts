/**
 * `GET /me` and `POST /logout`: the bearer-token routes of a signed-in user.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { TypedResponse } from "hono";
import type { AppContext, AppRouter } from "../app_types.ts";
import type { AccessClaims } from "../tokens/access_token.ts";
import type { Me } from "../wire.ts";
import { errorResponse, MeResponse, storeUnavailable } from "./schemas.ts";

const unauthorized = errorResponse(
  'No valid bearer token (`WWW-Authenticate: Bearer error="invalid_token"`)',
);

/** Registers `GET /me` and `POST /logout`. */
export function meAndLogoutRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireUser, logger } = ctx;
  const meAnswers = new WeakMap<AccessClaims, { roles: readonly string[]; body: string }>();

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
      // roles (cached per session) are the same objects, so is the answer; serialize it once.
      let answer = meAnswers.get(claims);
      if (answer?.roles !== roles) {
        const me: Me = { claims, roles: [...roles] };
        answer = { roles, body: JSON.stringify(me) };
        meAnswers.set(claims, answer);
      }
      // The typed-response helpers cannot see through a string; `Me` above is the schema's type,
      // and tests/app/openapi_test.ts checks the body against the schema too.
      const response = c.body(answer.body, 200, { "Content-Type": "application/json" });
      return response as unknown as TypedResponse<Me, 200, "json">;
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
        503: storeUnavailable,
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
