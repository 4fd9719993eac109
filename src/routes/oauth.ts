/**
 * The OAuth 2 endpoints: `POST /oauth/token` (RFC 6749), `POST /oauth/revoke` (RFC 7009) and
 * `POST /oauth/introspect` (RFC 7662). Form bodies in, JSON out, `Cache-Control: no-store`;
 * errors in RFC 6749 section 5.2's shape (see `routes/oauth/oauth_error.ts`). The logic is in
 * `routes/oauth/grants.ts`; this file reads the request and documents it.
 *
 * @module
 */
import { z } from "./schemas.ts";
import type { Context } from "hono";
import type { AppContext, AppRouter } from "../app_types.ts";
import { canonicalAddress } from "../client_address.ts";
import { clientIp } from "../client_ip.ts";
import { introspectToken, revokeToken, tokenGrant } from "./oauth/grants.ts";
import { authenticateClient, clientCredentials, readForm } from "./oauth/oauth_request.ts";
import { OAuthError } from "./oauth/oauth_error.ts";
import type { ClientRecord } from "../oauth/client_store.ts";
import { endpointLimitOf, GRANT_TYPES, oneOf, tokenFormFields } from "../oauth/grant_types.ts";
import {
  IntrospectionResponseSchema,
  OAuthErrorBodySchema,
  OAuthTokenResponseSchema,
} from "../wire.ts";

/** The header a trusted client names its end user's address in (see `forwardedEndUser`). */
export const END_USER_ADDRESS = "End-User-Address";

const OAuthErrorBody = OAuthErrorBodySchema.meta({ id: "OAuthError" });

// The form as `GRANTS` (`oauth/grant_types.ts`) defines it: every grant type, every field a
// grant reads, and client authentication.
const TokenRequest = z.object({
  grant_type: z.enum(GRANT_TYPES),
  ...Object.fromEntries(
    Object.entries(tokenFormFields()).map((
      [name, description],
    ) => [name, z.string().optional().meta({ description })]),
  ),
  client_id: z.string().optional(),
  client_secret: z.string().optional().meta({ description: "client_secret_post" }),
}).meta({ id: "OAuthTokenRequest" });

// `.exactOptional()` fields come out of the OpenAPI generator as required: `.partial` documents
// them as optional.
const TokenResponse = OAuthTokenResponseSchema.partial({
  refresh_token: true,
  scope: true,
  id_token: true,
  device_token: true,
})
  .meta({ id: "OAuthTokenResponse" });

const TokenForm = z.object({
  token: z.string(),
  token_type_hint: z.enum(["access_token", "refresh_token"]).optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
});

const [inactive, active] = IntrospectionResponseSchema.options;
const IntrospectionResponse = z.union([
  inactive,
  active.partial({ scope: true, client_id: true, username: true, sid: true, aud: true }),
]).meta({ id: "IntrospectionResponse" });

const form = <T extends z.ZodType>(schema: T) => ({
  content: { "application/x-www-form-urlencoded": { schema } },
  required: true,
});
const oauthError = (description: string) => ({
  content: { "application/json": { schema: OAuthErrorBody } },
  description,
});
const security = [{ clientBasic: [] }, {}];
/** The JSON API's body limit applies here too (status 413, RFC 6749's shape). */
const tooLarge = oauthError("invalid_request: body over 16 KiB");
/** The limits of `oauth/endpoint_limits.ts` (per address, or per authenticated client). */
const endpointLimit = oauthError(
  "too_many_attempts: over REFRESH_LIMIT_PER_CLIENT for this address, or " +
    "REFRESH_LIMIT_PER_OAUTH_CLIENT for this client; see Retry-After",
);
/** Every OAuth endpoint touches the store (the same 503 rule as the JSON routes). */
const temporarilyUnavailable = oauthError(
  "temporarily_unavailable: the store is unavailable or contended; retry after Retry-After",
);

/** Registers the OAuth endpoints and their OpenAPI entries. */
export function oauthRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  app.openAPIRegistry.registerComponent("securitySchemes", "clientBasic", {
    type: "http",
    scheme: "basic",
    description: "client_secret_basic: form-encoded client_id and client_secret (RFC 6749 2.3.1)",
  });

  /**
   * Reads the form and the client; `required` refuses a public caller. A caller over the
   * endpoint limits is refused before the client is read, and a failed authentication counts
   * against its address (`oauth/endpoint_limits.ts`).
   */
  async function start(c: Context, required: boolean) {
    const body = await readForm(c);
    const credentials = clientCredentials(c.req.header("Authorization"), body);
    const address = clientIp(c, config.trustProxy);
    services.oauthLimits.refuseEarly(address, credentials.clientId);
    let client: ClientRecord | undefined;
    try {
      client = await authenticateClient(services.clients, credentials);
    } catch (err) {
      if (err instanceof OAuthError && err.code === "invalid_client") {
        services.oauthLimits.countFailure(address);
      }
      throw err;
    }
    // A public client proves nothing (no secret): not enough where authentication is required.
    if (required && (!client || client.public === true)) {
      services.oauthLimits.countFailure(address);
      throw new OAuthError("invalid_client", "client authentication is required");
    }
    return { body, client, address };
  }
  /**
   * The `End-User-Address` header of a client named in `TRUST_FORWARDING_CLIENTS` (a web app
   * that signs its users in from its backend); ignored from any other caller. Malformed:
   * `invalid_request`, never ignored (that would take the end user off the address budget).
   */
  function forwardedEndUser(c: Context, client: ClientRecord | undefined): string | undefined {
    if (!client || client.public === true) return undefined;
    if (!config.trustForwardingClients.includes(client.clientId)) return undefined;
    const header = c.req.header(END_USER_ADDRESS);
    if (header === undefined) return undefined;
    const address = canonicalAddress(header.trim());
    if (address === undefined) {
      throw new OAuthError("invalid_request", `${END_USER_ADDRESS} must be one IP address`);
    }
    return address;
  }
  /** The id of a client that proved a secret: a public client's id proves nothing. */
  const provenClientId = (client: ClientRecord | undefined) =>
    client?.public === true ? undefined : client?.clientId;
  const noStore = (c: Context) => {
    c.header("Cache-Control", "no-store");
    c.header("Pragma", "no-cache");
  };

  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/oauth/token",
    summary: `OAuth 2 token endpoint: ${oneOf(GRANT_TYPES)} grants`,
    security,
    request: { body: form(TokenRequest) },
    responses: {
      200: { content: { "application/json": { schema: TokenResponse } }, description: "Issued" },
      400: oauthError(
        "invalid_request, invalid_grant (wrong credentials, bad or reused refresh token, or a " +
          "refresh token issued to another client or to none), unauthorized_client, " +
          "unsupported_grant_type, invalid_scope (asks for more, or malformed)",
      ),
      401: oauthError("invalid_client (with WWW-Authenticate: Basic when Basic was used)"),
      403: oauthError(
        "mfa_required (password grant, a user with an active second factor): the body also " +
          "holds mfa_token and methods; finish at POST /login/mfa",
      ),
      413: tooLarge,
      429: oauthError(
        "too_many_attempts: the /login and /refresh limits, or for client_credentials and " +
          "authorization_code (counting its refusals) the OAuth endpoint limits; see Retry-After",
      ),
      503: temporarilyUnavailable,
    },
  });
  app.post("/oauth/token", async (c) => {
    const { body, client, address } = await start(c, false);
    // A grant with no limit of its own (password and refresh_token have): client_credentials
    // counts every request, authorization_code its refusals (`GRANTS`).
    const limit = endpointLimitOf(body.get("grant_type"));
    if (limit === true) services.oauthLimits.count(address, provenClientId(client));
    const answer = await tokenGrant(ctx, {
      form: body,
      client,
      address,
      endUserAddress: forwardedEndUser(c, client),
    }).catch((err) => {
      // A refusal (not a store outage): wrong, spent or foreign codes cost reads, so they count.
      if (limit === "refusals" && err instanceof OAuthError && err.status < 500) {
        services.oauthLimits.countRefusal(address, provenClientId(client));
      }
      throw err;
    });
    noStore(c);
    return c.json(answer, 200);
  });

  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/oauth/revoke",
    summary: "RFC 7009: revoke a refresh token or a session's access token (ends the session)",
    security,
    request: { body: form(TokenForm) },
    responses: {
      200: { description: "Revoked, or nothing to revoke (unknown tokens too)" },
      400: oauthError(
        "invalid_request: no token; unsupported_token_type: a live service-account token " +
          "(not revoked one by one: rotate the client's secret); unauthorized_client: the " +
          "token was issued to another client, or to none (RFC 7009 section 2.1)",
      ),
      401: oauthError(
        "invalid_client: wrong client credentials, or none for a token issued to a client",
      ),
      413: tooLarge,
      429: endpointLimit,
      503: temporarilyUnavailable,
    },
  });
  app.post("/oauth/revoke", async (c) => {
    const { body, client, address } = await start(c, false);
    services.oauthLimits.count(address, provenClientId(client));
    await revokeToken(ctx, body, client);
    noStore(c);
    return c.body(null, 200);
  });

  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/oauth/introspect",
    summary: "RFC 7662: is this access token active, and its claims (registered clients only)",
    security: [{ clientBasic: [] }],
    request: { body: form(TokenForm) },
    responses: {
      200: {
        content: { "application/json": { schema: IntrospectionResponse } },
        description: '{"active": false} for expired, revoked, foreign or garbage tokens',
      },
      400: oauthError("invalid_request: no token"),
      401: oauthError("invalid_client: no or wrong client credentials"),
      413: tooLarge,
      429: endpointLimit,
      503: temporarilyUnavailable,
    },
  });
  app.post("/oauth/introspect", async (c) => {
    const { body, client, address } = await start(c, true);
    services.oauthLimits.count(address, provenClientId(client));
    const answer = await introspectToken(ctx, body);
    noStore(c);
    return c.json(answer, 200);
  });
}
