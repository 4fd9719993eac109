/**
 * `/admin/users...`: user management for tokens whose role is `admin`. The rules (validation,
 * last admin, revoking sessions) live in the user service, shared with the CLI.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { publicUser } from "../users/user_service.ts";
import { MAX_USER_ID_LENGTH } from "../users/user_rules.ts";
import {
  adminResponses,
  errorResponse,
  jsonBody,
  NewUserBody,
  User,
  UserList,
  UserPatchBody,
  z,
} from "./schemas.ts";

const UserIdParam = z.object({
  id: z.string().min(1).max(MAX_USER_ID_LENGTH).meta({
    param: { name: "id", in: "path" },
    example: "ada",
  }),
});

const ListQuery = z.object({
  limit: z.coerce.number({ error: "limit must be a number" }).int("limit must be a whole number")
    .min(1, "limit must be at least 1").max(500, "limit must be at most 500").optional()
    .meta({ example: 50 }),
  cursor: z.string().max(1024, "cursor is too long").optional(),
});

const common = adminResponses;
const userJson = (description: string) => ({
  content: { "application/json": { schema: User } },
  description,
});

/** Registers the admin API. */
export function adminRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireAdmin, logger } = ctx;
  const security = [{ bearer: [] }];
  const middleware = requireAdmin;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/users",
      summary: "List users, a page at a time (cursor from next_cursor)",
      security,
      middleware,
      request: { query: ListQuery },
      responses: {
        200: { content: { "application/json": { schema: UserList } }, description: "A page" },
        400: errorResponse("Bad limit or cursor"),
        ...common,
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      // A cursor the store did not issue answers 400 (InvalidCursorError), a failing store 503.
      const page = await services.users.list(limit ?? 50, cursor);
      return c.json({ users: page.users.map(publicUser), next_cursor: page.cursor ?? null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/users",
      summary: "Create a user (roles default to user)",
      security,
      middleware,
      request: { body: jsonBody(NewUserBody) },
      responses: {
        201: userJson("Created"),
        400: errorResponse("Invalid user_id, password or roles"),
        409: errorResponse("The user_id is taken"),
        ...common,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const user = await services.users.add(body.user_id, body.password, body.roles ?? ["user"]);
      logger.info("admin_user_added", { admin: c.get("auth").sub, user_id: user.id });
      return c.json(publicUser(user), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/users/{id}",
      summary: "One user",
      security,
      middleware,
      request: { params: UserIdParam },
      responses: { 200: userJson("The user"), 404: errorResponse("No such user"), ...common },
    }),
    async (c) => c.json(publicUser(await services.users.get(c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/admin/users/{id}",
      summary: "Change roles, disable/enable, or reset the password (ends sessions when it takes " +
        "something away)",
      security,
      middleware,
      request: { params: UserIdParam, body: jsonBody(UserPatchBody) },
      responses: {
        200: userJson("The changed user"),
        400: errorResponse("Invalid roles or password"),
        404: errorResponse("No such user"),
        409: errorResponse("Would leave no enabled admin"),
        ...common,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const user = await services.users.update(id, {
        ...(body.roles !== undefined ? { roles: body.roles } : {}),
        ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
        ...(body.password !== undefined ? { password: body.password } : {}),
      });
      logger.info("admin_user_changed", {
        admin: c.get("auth").sub,
        user_id: id,
        fields: Object.keys(body).sort().join(","),
      });
      return c.json(publicUser(user), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/users/{id}",
      summary: "Remove a user and end their sessions",
      security,
      middleware,
      request: { params: UserIdParam },
      responses: {
        204: { description: "Removed" },
        404: errorResponse("No such user"),
        409: errorResponse("Would leave no enabled admin"),
        ...common,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await services.users.remove(id);
      logger.info("admin_user_removed", { admin: c.get("auth").sub, user_id: id });
      return c.body(null, 204);
    },
  );
}
