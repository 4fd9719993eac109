/**
 * `/.well-known/jwks.json` (public keys only; empty under HS256) and
 * `/.well-known/oauth-authorization-server` (RFC 8414 metadata, also served at
 * `/.well-known/openid-configuration`).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext, AppRouter } from "../app_types.ts";
import { issuerUrl } from "../config.ts";
import { ApiError } from "../errors.ts";
import { errorResponse } from "./schemas.ts";

const JWKS_CACHE = "public, max-age=300";
const Metadata = z.record(z.string(), z.unknown()).openapi("AuthorizationServerMetadata");
/** Short: the signing algorithm follows `JWT_ALG` and key rotations. */
const METADATA_CACHE = "public, max-age=60";

/** Registers the discovery documents. */
export function wellKnownRoutes(app: AppRouter, ctx: AppContext): void {
  const { config } = ctx;
  const { keys } = ctx.services;
  const base = config.issuer.replace(/\/+$/, "");
  // Discovery documents are built on the issuer's URL (RFC 8414 section 2): with a non-URL
  // issuer (a StringOrURI name such as the tutorial's `your identity`) there is none to serve.
  const noDiscovery = issuerUrl(config.issuer) === undefined
    ? new ApiError(
      "not_found",
      `discovery needs an issuer that is a URL, and this server's issuer is "${config.issuer}": ` +
        "set ISSUER to the server's public URL (tokens and the JWKS work without it)",
    )
    : undefined;

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

  // RFC 8414 metadata: only endpoints that speak the protocol their field names. Served at the
  // OpenID path too, where resource services already look for `jwks_uri`; it is not an OpenID
  // provider (no ID tokens, no authorization endpoint), and the document does not pretend to be.
  // No store read: anonymous GETs cost nothing and cannot fail with the store. So no
  // `scopes_supported` (RFC 8414 section 2: RECOMMENDED, not required, and a server may leave
  // scopes out): listing the registered clients' scopes meant a scan of every client per GET, and
  // told anyone the vocabulary of our service accounts. Each client is told its scopes when it
  // is registered; a user's roles (the password grant's scope) were never listed.
  const metadata = (): Record<string, string | string[]> => {
    const clientAuth = ["client_secret_basic", "client_secret_post"];
    return {
      issuer: config.issuer,
      token_endpoint: `${base}/oauth/token`,
      revocation_endpoint: `${base}/oauth/revoke`,
      introspection_endpoint: `${base}/oauth/introspect`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      // No response_types_supported: there is no authorization endpoint, so there is no value,
      // and RFC 8414 section 3.2 says an empty array must be omitted (see its erratum 7793).
      grant_types_supported: ["password", "refresh_token", "client_credentials"],
      token_endpoint_auth_methods_supported: [...clientAuth, "none"],
      revocation_endpoint_auth_methods_supported: [...clientAuth, "none"],
      introspection_endpoint_auth_methods_supported: clientAuth,
      // Not a metadata name RFC 8414 registers; kept for the resource services that read it.
      access_token_signing_alg_values_supported: [keys().signing.alg],
      claims_supported: [
        "sub",
        "role",
        "iat",
        "exp",
        "iss",
        "jti",
        "sid",
        "aud",
        "client_id",
        "scope",
        "client_gen",
      ],
      service_documentation: `${base}/openapi.json`,
    };
  };
  const discovery = (path: string, summary: string) =>
    createRoute({
      method: "get",
      path,
      summary,
      responses: {
        200: {
          content: {
            "application/json": { schema: Metadata },
          },
          description: "Authorization server metadata (RFC 8414)",
        },
        404: errorResponse("The issuer (ISSUER) is not a URL, so there is no discovery"),
      },
    });
  app.openapi(
    discovery(
      "/.well-known/oauth-authorization-server",
      "RFC 8414 metadata: issuer, OAuth endpoints, JWKS, grant types, client auth methods",
    ),
    (c) => {
      if (noDiscovery) throw noDiscovery;
      c.header("Cache-Control", METADATA_CACHE);
      return c.json(metadata(), 200);
    },
  );
  app.openapi(
    discovery(
      "/.well-known/openid-configuration",
      "The same metadata at the OpenID path (not an OpenID provider: no ID tokens)",
    ),
    (c) => {
      if (noDiscovery) throw noDiscovery;
      c.header("Cache-Control", METADATA_CACHE);
      return c.json(metadata(), 200);
    },
  );
}
