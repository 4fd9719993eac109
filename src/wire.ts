/**
 * The JSON shapes the API answers with, defined once as zod schemas; their TypeScript types are
 * derived with `z.infer`. Plain zod (no Hono): the services and the CLI use the types, and
 * `routes/schemas.ts` names them for `/openapi.json` (`.meta({ id })`).
 *
 * @module
 */
import { z } from "zod";
// Every module of the HTTP layer takes zod from here (through routes/schemas.ts): Deno resolves
// each npm import of a module reached only through import() on its own at start-up, about 3 ms
// each, and the route groups are loaded that way.
export { z };
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from "./errors.ts";
import {
  ACCESS_TOKEN_CLAIMS,
  type AccessTokenClaimName,
  type ClaimDefinition,
  CLAIMS,
  type ClaimType,
  type ClaimValues,
  USERINFO_CLAIMS,
  type UserinfoClaimName,
} from "./oidc/claims.ts";

export const TokenPairSchema = z.object({
  token: z.string().describe("The access token, a signed JWT"),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int().describe("Seconds until the access token expires"),
  refresh_token: z.string().describe("Opaque; spent by POST /refresh"),
});
/** The `/login` and `/refresh` answer. */
export type TokenPair = z.infer<typeof TokenPairSchema>;

export const LoginAnswerSchema = TokenPairSchema.extend({
  device_token: z.string().describe(
    "Opaque device token (OWASP device cookie): present it at the next login of this user",
  ),
});
/** The `/login` answer: a token pair and a device token. */
export type LoginAnswer = z.infer<typeof LoginAnswerSchema>;

export const MfaRequiredSchema = z.object({
  error: z.string(),
  code: z.literal("mfa_required"),
  mfa_token: z.string().describe("For POST /login/mfa; lives 5 minutes, passes once"),
  methods: z.array(z.enum(["totp", "recovery_code"])).describe("What POST /login/mfa accepts"),
});
/** The 403 of `/login` for a user with an active second factor. */
export type MfaRequiredBody = z.infer<typeof MfaRequiredSchema>;

export const TotpEnrolmentSchema = z.object({
  secret: z.string().describe("Base32 (RFC 4648), for typing into an authenticator app"),
  otpauth_uri: z.string().describe("The same secret as an otpauth:// URI (for a QR code)"),
  qr_svg: z.string().describe("otpauth_uri as an SVG QR code, for an authenticator app to scan"),
});
/** `POST /me/mfa/totp`. */
export type TotpEnrolment = z.infer<typeof TotpEnrolmentSchema>;

export const RecoveryCodesSchema = z.object({
  recovery_codes: z.array(z.string()).describe("Ten codes, each good for one sign-in; shown once"),
});
/** `POST /me/mfa/totp/confirm` and `POST /me/mfa/recovery-codes`. */
export type RecoveryCodes = z.infer<typeof RecoveryCodesSchema>;

export const MfaStatusSchema = z.object({
  totp: z.enum(["none", "pending", "active"]),
  recovery_codes_left: z.number().int(),
});
/** `GET /me/mfa`. */
export type MfaStatus = z.infer<typeof MfaStatusSchema>;

/**
 * The JSON body of every error answer (`Error` in `/openapi.json`): the one schema of
 * `ErrorBody` (`errors.ts`), which it must accept.
 */
export const ErrorBodySchema = z.object({
  error: z.string(),
  code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
}).meta({
  id: "Error",
  example: { error: "invalid credentials", code: "invalid_credentials" },
}) satisfies z.ZodType<ErrorBody>;

/** Each claim type of `oidc/claims.ts` as a zod schema. */
const CLAIM_SCHEMAS = {
  text: z.string(),
  string: z.string(),
  number: z.number().int(),
  strings: z.array(z.string()),
  audience: z.union([z.string(), z.array(z.string())]),
} satisfies { [T in ClaimType]: z.ZodType<ClaimValues[T]> };
type ClaimShape = {
  [K in AccessTokenClaimName]: (typeof CLAIMS)[K] extends { access: "optional" }
    ? z.ZodExactOptional<z.ZodType<ClaimValues[(typeof CLAIMS)[K]["type"]]>>
    : z.ZodType<ClaimValues[(typeof CLAIMS)[K]["type"]]>;
};

/** The claims of an access token, built from `CLAIMS` (`oidc/claims.ts`): one definition. */
export const ClaimsSchema = z.object(
  Object.fromEntries(ACCESS_TOKEN_CLAIMS.map((name) => {
    const { type, access, description } = CLAIMS[name] as ClaimDefinition;
    const schema = CLAIM_SCHEMAS[type].describe(description);
    return [name, access === "optional" ? schema.exactOptional() : schema];
  })) as unknown as ClaimShape,
);
/** The claims of a verified access token, as `/me` shows them. */
export type Claims = z.infer<typeof ClaimsSchema>;

/** The `/userinfo` answer, built from `CLAIMS` too. */
export const UserinfoSchema = z.object(
  Object.fromEntries(USERINFO_CLAIMS.map((name) => {
    const { type, description } = CLAIMS[name] as ClaimDefinition;
    return [name, CLAIM_SCHEMAS[type].describe(description)];
  })) as unknown as {
    [K in UserinfoClaimName]: z.ZodType<ClaimValues[(typeof CLAIMS)[K]["type"]]>;
  },
);

export const MeSchema = z.object({
  claims: ClaimsSchema,
  roles: z.array(z.string()),
});
/** The `/me` answer. */
export type Me = z.infer<typeof MeSchema>;

/** One of the signed-in user's sessions (`GET /sessions`). Times are ISO 8601. */
export const SessionInfoSchema = z.object({
  sid: z.string(),
  role: z.string(),
  created_at: z.string(),
  last_refreshed_at: z.string(),
  expires_at: z.string(),
  /** The session of the access token that asked. */
  current: z.boolean(),
});
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

export const PublicUserSchema = z.object({
  user_id: z.string(),
  roles: z.array(z.string()),
  disabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
/** A user as shown to people and the admin API: never the hash. */
export type PublicUser = z.infer<typeof PublicUserSchema>;

export const PublicClientSchema = z.object({
  client_id: z.string(),
  scopes: z.array(z.string()),
  grant_types: z.array(z.string()),
  redirect_uris: z.array(z.string()),
  post_logout_redirect_uris: z.array(z.string()),
  public: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
/** An OAuth client as shown to people and the admin API: never the secret or its hash. */
export type PublicClient = z.infer<typeof PublicClientSchema>;

export const OAuthTokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int(),
  refresh_token: z.string().exactOptional().describe("Not for client_credentials"),
  scope: z.string().exactOptional().describe("The role (password, refresh) or scopes"),
  id_token: z.string().exactOptional().describe(
    "authorization_code grant with scope openid: the OpenID Connect ID token",
  ),
  device_token: z.string().exactOptional().describe(
    "password grant only: a device token, as /login returns (an extra parameter, RFC 6749 5.1)",
  ),
});
/** The `POST /oauth/token` answer (RFC 6749 section 5.1). */
export type OAuthTokenResponse = z.infer<typeof OAuthTokenResponseSchema>;

export const IntrospectionResponseSchema = z.union([
  z.object({ active: z.literal(false) }),
  z.object({
    active: z.literal(true),
    token_type: z.literal("Bearer"),
    sub: z.string(),
    iss: z.string(),
    iat: z.number(),
    exp: z.number(),
    jti: z.string(),
    role: z.string(),
    scope: z.string().exactOptional(),
    client_id: z.string().exactOptional(),
    username: z.string().exactOptional(),
    sid: z.string().exactOptional(),
    aud: z.union([z.string(), z.array(z.string())]).exactOptional(),
  }),
]);
/** The `POST /oauth/introspect` answer (RFC 7662). */
export type IntrospectionResponse = z.infer<typeof IntrospectionResponseSchema>;

/** RFC 6749 section 5.2 and RFC 7009 section 2.2.1 codes, plus our 429 and 503. */
export const OAUTH_ERROR_CODES = [
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
  "unsupported_token_type",
  "too_many_attempts",
  "mfa_required",
  "temporarily_unavailable",
  "server_error",
] as const;

export const OAuthErrorBodySchema = z.object({
  error: z.enum(OAUTH_ERROR_CODES),
  error_description: z.string(),
});
/** The error body of the OAuth endpoints (RFC 6749 section 5.2). */
export type OAuthErrorBody = z.infer<typeof OAuthErrorBodySchema>;
