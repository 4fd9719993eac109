/**
 * `/.well-known/jwks.json` (public keys only; empty under HS256),
 * `/.well-known/oauth-authorization-server` (RFC 8414 metadata) and
 * `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, the same metadata and the
 * OpenID fields; 404 under HS256, where no ID token can be signed).
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { issuerUrl } from "../config/issuer.ts";
import { ApiError } from "../errors.ts";
import { GRANT_TYPES } from "../oauth/grant_types.ts";
import { ACCESS_TOKEN_CLAIMS, OPENID_CLAIMS } from "../oidc/claims.ts";
import { idTokenKey } from "../oidc/id_token.ts";
import { errorResponse, z } from "./schemas.ts";

const JWKS_CACHE = "public, max-age=300";
const Metadata = z.record(z.string(), z.unknown()).meta({ id: "AuthorizationServerMetadata" });
const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).meta({ id: "Jwks" });
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
              schema: Jwks,
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

  // RFC 8414 metadata: only endpoints that speak the protocol their field names, only what
  // works. No store read: anonymous GETs cost nothing and cannot fail with the store. So no
  // `scopes_supported` of the service accounts (RFC 8414 section 2: RECOMMENDED, not required):
  // listing the registered clients' scopes meant a scan of every client per GET, and told anyone
  // the vocabulary of our service accounts. A user's roles (a scope too) are never listed.
  const metadata = (): Record<string, unknown> => {
    const clientAuth = ["client_secret_basic", "client_secret_post"];
    return {
      issuer: config.issuer,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/oauth/token`,
      revocation_endpoint: `${base}/oauth/revoke`,
      introspection_endpoint: `${base}/oauth/introspect`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: [...GRANT_TYPES],
      // RFC 7636 and RFC 9700 section 2.1.1: S256 only, `plain` refused.
      code_challenge_methods_supported: ["S256"],
      // RFC 9207: every authorization response carries `iss`.
      authorization_response_iss_parameter_supported: true,
      token_endpoint_auth_methods_supported: [...clientAuth, "none"],
      revocation_endpoint_auth_methods_supported: [...clientAuth, "none"],
      introspection_endpoint_auth_methods_supported: clientAuth,
      // Not a metadata name RFC 8414 registers; kept for the resource services that read it.
      access_token_signing_alg_values_supported: [keys().signing.alg],
      service_documentation: `${base}/openapi.json`,
    };
  };
  /**
   * OpenID Connect Discovery 1.0 section 3, only when ID tokens can be signed (an asymmetric
   * `JWT_ALG`; see `oidc/id_token.ts`). `request_uri_parameter_supported` defaults to true, so
   * it is said false; the claims are those of the ID token and `/userinfo`.
   */
  const openidMetadata = (alg: string): Record<string, unknown> => ({
    ...metadata(),
    userinfo_endpoint: `${base}/userinfo`,
    end_session_endpoint: `${base}/end-session`,
    scopes_supported: ["openid", "profile"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [alg],
    prompt_values_supported: ["none", "login", "consent", "select_account"],
    claims_supported: [...OPENID_CLAIMS],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  });
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
      return c.json({ ...metadata(), claims_supported: [...ACCESS_TOKEN_CLAIMS] }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/.well-known/openid-configuration",
      summary: "OpenID Connect Discovery 1.0 (only under an asymmetric JWT_ALG)",
      responses: {
        200: {
          content: { "application/json": { schema: Metadata } },
          description: "OpenID Provider metadata",
        },
        404: errorResponse(
          "Under JWT_ALG=HS256 this server signs no ID tokens, so it is no OpenID provider " +
            "(`not_found`)",
        ),
      },
    }),
    (c) => {
      if (noDiscovery) throw noDiscovery;
      const key = idTokenKey(keys());
      if (!key) {
        throw new ApiError(
          "not_found",
          "OpenID Connect needs ID tokens, which this server signs only under an asymmetric " +
            "JWT_ALG (RS256, ES256 or EdDSA); OAuth metadata is at " +
            "/.well-known/oauth-authorization-server",
        );
      }
      c.header("Cache-Control", METADATA_CACHE);
      return c.json(openidMetadata(key.alg), 200);
    },
  );
}
