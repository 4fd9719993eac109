/**
 * `/.well-known/jwks.json` (public keys only; empty under HS256) and
 * `/.well-known/openid-configuration` (where things are).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext, AppRouter } from "../app_types.ts";

const JWKS_CACHE = "public, max-age=300";

/** Registers the discovery documents. */
export function wellKnownRoutes(app: AppRouter, ctx: AppContext): void {
  const { config } = ctx;
  const { keys } = ctx.services;
  const base = config.issuer.replace(/\/+$/, "");

  app.openapi(
    createRoute({
      method: "get",
      path: "/.well-known/jwks.json",
      summary: "Public keys that verify access tokens (never a secret; empty under HS256)",
      responses: {
        200: {
          content: {
            "application/json": {
              schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi(
                "Jwks",
              ),
            },
          },
          description: "JSON Web Key Set",
        },
      },
    }),
    (c) => {
      c.header("Cache-Control", JWKS_CACHE);
      return c.json({ keys: keys().jwks.keys.map((k) => ({ ...k })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/.well-known/openid-configuration",
      summary: "Discovery: issuer, JWKS location, endpoints, algorithms",
      responses: {
        200: {
          content: {
            "application/json": {
              schema: z.record(z.string(), z.unknown()).openapi("Discovery"),
            },
          },
          description: "Discovery document",
        },
      },
    }),
    (c) => {
      c.header("Cache-Control", JWKS_CACHE);
      return c.json({
        issuer: config.issuer,
        jwks_uri: `${base}/.well-known/jwks.json`,
        token_endpoint: `${base}/login`,
        refresh_endpoint: `${base}/refresh`,
        revocation_endpoint: `${base}/logout`,
        userinfo_endpoint: `${base}/me`,
        // Not an OpenID provider (no ID tokens, no authorization endpoint): only what a resource
        // service needs, plus the algorithm access tokens are signed with now.
        access_token_signing_alg_values_supported: [keys().signing.alg],
        grant_types_supported: ["password", "refresh_token"],
        claims_supported: ["sub", "role", "iat", "exp", "iss", "jti", "sid", "aud"],
      }, 200);
    },
  );
}
