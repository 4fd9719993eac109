/**
 * `DELETE /admin/users/{id}/mfa`: an admin removes every second factor of a user (a lost phone
 * and lost recovery codes), as `deno task user mfa reset <id>` does.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { ApiError } from "../errors.ts";
import { MAX_USER_ID_LENGTH } from "../users/user_rules.ts";
import { errorResponse, storeUnavailable, z } from "./schemas.ts";

const UserIdParam = z.object({
  id: z.string().min(1).max(MAX_USER_ID_LENGTH).meta({
    param: { name: "id", in: "path" },
    example: "ada",
  }),
});

/** Registers `DELETE /admin/users/{id}/mfa`. */
export function adminMfaRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireAdmin, logger } = ctx;
  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/users/{id}/mfa",
      summary: "Remove every second factor of a user (TOTP, pending enrolment, recovery codes, " +
        "passkeys)",
      security: [{ bearer: [] }],
      middleware: [requireAdmin] as const,
      request: { params: UserIdParam },
      responses: {
        204: { description: "Removed: the user signs in with the password alone" },
        401: errorResponse("No valid bearer token"),
        403: errorResponse(
          "The token's role is not admin (`insufficient_role`), or ADMIN_REQUIRE_MFA is on and " +
            "the token has no second factor (`mfa_required`)",
        ),
        404: errorResponse("No such user, or the user has no second factor (`not_found`)"),
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const user = await services.users.get(id);
      if (!(await services.mfa.reset(user, "admin"))) {
        throw new ApiError("not_found", "the user has no second factor");
      }
      logger.info("admin_mfa_reset", { admin: c.get("auth").sub, user_id: id });
      return c.body(null, 204);
    },
  );
}
