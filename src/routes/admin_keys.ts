/**
 * `/admin/keys...`: the signing keys in the store, for tokens whose role is `admin`; the same key
 * administration service (`keys/key_admin.ts`) as `deno task keys`, so both doors list, rotate,
 * retire and reencrypt by one set of rules. Every running instance follows the stored set, so a
 * change here reaches them all within a second.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { ConfigError } from "../config/config_error.ts";
import { ApiError } from "../errors.ts";
import { adminResponses, bodyObject, errorResponse, jsonBody, z } from "./schemas.ts";

const KeyInfo = z.object({
  kid: z.string(),
  alg: z.string(),
  use: z.enum(["access", "id_token"]).meta({
    description: "What it signs: access tokens, or ID tokens (the RS256 key under ES256 and EdDSA)",
  }),
  state: z.string().meta({ description: "next, active or retiring (HS256: the secrets')" }),
  created_at: z.string(),
  activates_at: z.string(),
  last_signed_at: z.string().nullable(),
  retirable_at: z.string().nullable(),
}).meta({ id: "SigningKey" });

const RotateBody = bodyObject({
  alg: z.string({ error: "alg must be a string" }).max(16, "alg is too long").optional()
    .meta({ description: "EdDSA, ES256 or RS256; default JWT_ALG", example: "EdDSA" }),
}).meta({ id: "RotateKey", example: { alg: "EdDSA" } });

const RotatedIdTokenKey = z.object({
  kid: z.string(),
  alg: z.string(),
  activates_at: z.string(),
  first: z.boolean().meta({ description: "The first ID-token key: signs at once" }),
}).meta({ id: "RotatedIdTokenKey" });

const Rotated = z.object({
  kid: z.string(),
  alg: z.string(),
  activates_at: z.string(),
  first: z.boolean().meta({ description: "The first key of its algorithm: signs at once" }),
  other_than: z.string().nullable().meta({ description: "JWT_ALG, when it differs" }),
  id_token: RotatedIdTokenKey.nullable().meta({
    description: "The RS256 ID-token key rotated with it (JWT_ALG ES256 or EdDSA, no alg given)",
  }),
}).meta({ id: "RotatedKey" });

const Retired = z.object({
  kid: z.string(),
  forced: z.string().nullable().meta({ description: "What force broke; null: retirable" }),
}).meta({ id: "RetiredKey" });

const Reencrypted = z.object({
  reencrypted: z.array(z.string()),
  current: z.array(z.string()),
  unreadable: z.array(z.string()),
}).meta({ id: "ReencryptedKeys" });

const KidParam = z.object({
  kid: z.string().min(1).max(128).meta({ param: { name: "kid", in: "path" } }),
});

const RetireQuery = z.object({
  force: z.enum(["true", "false"], { error: "force must be true or false" }).optional(),
});

const common = adminResponses;

/** Registers the admin API for signing keys. */
export function adminKeyRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireAdmin, logger } = ctx;
  const security = [{ bearer: [] }];
  const middleware = requireAdmin;

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/keys",
      summary: "Signing keys (the HS256 secrets' kids under HS256), their states and times",
      security,
      middleware,
      responses: {
        200: {
          content: { "application/json": { schema: z.object({ keys: z.array(KeyInfo) }) } },
          description: "As deno task keys list --json",
        },
        ...common,
      },
    }),
    async (c) => c.json({ keys: await services.keyAdmin.list() }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/keys",
      summary: "Rotate: publish a new key that signs KEY_PUBLISH_AHEAD later",
      security,
      middleware,
      request: { body: jsonBody(RotateBody) },
      responses: {
        201: { content: { "application/json": { schema: Rotated } }, description: "Published" },
        400: errorResponse("alg is HS256 or unknown"),
        409: errorResponse("A next key of that algorithm is already published"),
        ...common,
      },
    }),
    async (c) => {
      const { alg } = c.req.valid("json");
      const key = await secretProblemAsConflict(() => services.keyAdmin.rotate(alg));
      logger.info("admin_key_rotated", {
        admin: c.get("auth").sub,
        kid: key.kid,
        alg: key.alg,
        ...(key.id_token ? { id_token_kid: key.id_token.kid } : {}),
      });
      return c.json(key, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/keys/{kid}",
      summary: "Retire a key once no unexpired token can carry it (force=true: now)",
      security,
      middleware,
      request: { params: KidParam, query: RetireQuery },
      responses: {
        200: { content: { "application/json": { schema: Retired } }, description: "Retired" },
        400: errorResponse("Bad force"),
        404: errorResponse("No such key"),
        409: errorResponse("The active key, or tokens may still carry it"),
        ...common,
      },
    }),
    async (c) => {
      const { kid } = c.req.valid("param");
      const force = c.req.valid("query").force === "true";
      const retired = await services.keyAdmin.retire(kid, { force });
      logger.info("admin_key_retired", {
        admin: c.get("auth").sub,
        kid,
        forced: retired.forced !== null,
      });
      return c.json(retired, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/keys/reencrypt",
      summary: "After a SECRET_KEY change: store every key under SECRET_KEY alone",
      security,
      middleware,
      responses: {
        200: { content: { "application/json": { schema: Reencrypted } }, description: "Done" },
        409: errorResponse("No configured secret decrypts any stored key"),
        ...common,
      },
    }),
    async (c) => {
      const result = await secretProblemAsConflict(() => services.keyAdmin.reencrypt());
      logger.info("admin_keys_reencrypted", {
        admin: c.get("auth").sub,
        count: result.reencrypted.length,
      });
      return c.json({
        reencrypted: [...result.reencrypted],
        current: [...result.current],
        unreadable: [...result.unreadable],
      }, 200);
    },
  );
}

/**
 * A running server's secret has decrypted its own key, but a key of another algorithm may be
 * under a secret it lacks: the request conflicts with the stored set (409), not a server fault.
 */
async function secretProblemAsConflict<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ConfigError) throw new ApiError("conflict", err.message);
    throw err;
  }
}
