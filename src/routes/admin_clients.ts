/**
 * `/admin/clients...`: OAuth clients (service accounts) for tokens whose role is `admin`; the
 * same client service as `deno task client`. A secret is in the answer of create and rotate
 * only; it is never stored or shown again.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { GRANT_TYPES, PUBLIC_GRANT_TYPES } from "../oauth/grant_types.ts";
import { PublicClientSchema } from "../wire.ts";
import { adminResponses, bodyObject, errorResponse, jsonBody, z } from "./schemas.ts";

const Client = PublicClientSchema.meta({ id: "OAuthClient" });

// An intersection, so the document shows `allOf` over `OAuthClient` (an answer: never validated).
const ClientWithSecret = z.intersection(
  Client,
  z.object({
    client_secret: z.string().optional().meta({ description: "Shown once (none for public)" }),
  }),
).meta({ id: "OAuthClientWithSecret" });

const NewClientBody = bodyObject({
  client_id: z.string({ error: "client_id is required" }).min(1, "client_id is required")
    .max(128, "client_id must be at most 128 characters"),
  scopes: z.array(z.string({ error: "scopes must be strings" }), {
    error: "scopes must be an array of strings",
  }).max(64, "at most 64 scopes").optional(),
  grant_types: z.array(z.enum(GRANT_TYPES, { error: "unknown grant type" }), {
    error: "grant_types must be an array of strings",
  }).min(1, "grant_types must not be empty").optional(),
  redirect_uris: z.array(z.string({ error: "redirect_uris must be strings" }), {
    error: "redirect_uris must be an array of strings",
  }).max(32, "at most 32 redirect URIs").optional(),
  post_logout_redirect_uris: z.array(
    z.string({
      error: "post_logout_redirect_uris must be strings",
    }),
    { error: "post_logout_redirect_uris must be an array of strings" },
  )
    .max(32, "at most 32 post-logout redirect URIs").optional(),
  public: z.boolean({ error: "public must be a boolean" }).optional().meta({
    description: `No secret; PKCE required; grants ${PUBLIC_GRANT_TYPES.join(", ")} only`,
  }),
}).meta({
  id: "NewOAuthClient",
  example: { client_id: "reports", scopes: ["orders:read"], grant_types: ["client_credentials"] },
});

const ClientIdParam = z.object({
  id: z.string().min(1).max(128).meta({ param: { name: "id", in: "path" }, example: "reports" }),
});

const common = adminResponses;

/** Registers the admin API for OAuth clients. */
export function adminClientRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireAdmin, logger } = ctx;
  const security = [{ bearer: [] }];
  const middleware = requireAdmin;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/clients",
      summary: "List OAuth clients (never their secrets)",
      security,
      middleware,
      responses: {
        200: {
          content: { "application/json": { schema: z.object({ clients: z.array(Client) }) } },
          description: "Every client",
        },
        ...common,
      },
    }),
    async (c) => c.json({ clients: await services.clients.list() }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/clients",
      summary: "Register an OAuth client; its secret is in this answer only",
      security,
      middleware,
      request: { body: jsonBody(NewClientBody) },
      responses: {
        201: {
          content: { "application/json": { schema: ClientWithSecret } },
          description: "Created",
        },
        400: errorResponse("Invalid client_id, scopes or grant types"),
        409: errorResponse("The client_id is taken"),
        ...common,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const { client, secret } = await services.clients.add(body.client_id, {
        ...(body.scopes !== undefined ? { scopes: body.scopes } : {}),
        ...(body.grant_types !== undefined ? { grantTypes: body.grant_types } : {}),
        ...(body.redirect_uris !== undefined ? { redirectUris: body.redirect_uris } : {}),
        ...(body.post_logout_redirect_uris !== undefined
          ? { postLogoutRedirectUris: body.post_logout_redirect_uris }
          : {}),
        ...(body.public !== undefined ? { public: body.public } : {}),
      });
      logger.info("admin_client_added", { admin: c.get("auth").sub, client_id: client.client_id });
      return c.json({ ...client, ...(client.public ? {} : { client_secret: secret }) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/clients/{id}/secret",
      summary: "Rotate a client's secret (the old one stops working at once)",
      security,
      middleware,
      request: { params: ClientIdParam },
      responses: {
        200: {
          content: { "application/json": { schema: ClientWithSecret } },
          description: "The new secret",
        },
        404: errorResponse("No such client"),
        ...common,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { client, secret } = await services.clients.rotateSecret(id);
      logger.info("admin_client_secret_rotated", { admin: c.get("auth").sub, client_id: id });
      return c.json({ ...client, client_secret: secret }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/clients/{id}",
      summary: "Remove a client (its tokens introspect inactive at once, verify until exp)",
      security,
      middleware,
      request: { params: ClientIdParam },
      responses: {
        204: { description: "Removed" },
        404: errorResponse("No such client"),
        ...common,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await services.clients.remove(id);
      logger.info("admin_client_removed", { admin: c.get("auth").sub, client_id: id });
      return c.body(null, 204);
    },
  );
}
