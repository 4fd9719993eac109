/**
 * What `/oauth/token`, `/oauth/revoke` and `/oauth/introspect` do, on top of the same services
 * as `/login`, `/refresh` and `/logout`: no rule, limit or check of those is copied here, only
 * translated (RFC 6749 names, RFC 6749 section 5.2 errors).
 *
 * @module
 */
import { decodeJwt } from "./jwt.ts";
import type { AppContext } from "../../app_types.ts";
import { ApiError } from "../../errors.ts";
import { LoginBody } from "../schemas.ts";
import {
  type AccessClaims,
  keyRingResolver,
  verifyAccessToken,
} from "../../tokens/access_token.ts";
import type { IntrospectionResponse, OAuthTokenResponse, TokenPair } from "../../wire.ts";
import { grantedScopes, scopesProblem } from "../../oauth/client_service.ts";
import {
  GRANT_TYPES,
  type GrantField,
  type GrantType,
  isGrantType,
  oneOf,
} from "../../oauth/grant_types.ts";
import type { ClientRecord } from "../../oauth/client_store.ts";
import { authorizationCodeGrant } from "./code_grant.ts";
import { OAuthError } from "./oauth_error.ts";
import { OAuthMfaRequired } from "./oauth_mfa.ts";
import type { OAuthForm } from "./oauth_request.ts";

type GrantContext = Pick<AppContext, "services" | "config">;

/** One token request: the form, the authenticated client (if any) and the caller's address. */
export interface TokenRequest {
  readonly form: OAuthForm;
  readonly client: ClientRecord | undefined;
  readonly address: string;
  /**
   * The end user's address, named by an authenticated client trusted to forward one
   * (`TRUST_FORWARDING_CLIENTS`); the per-address limits count it.
   */
  readonly endUserAddress?: string | undefined;
}

/**
 * What a grant's handler reads: the form, narrowed to the fields its entry in `GRANTS` declares
 * (reading another is a compile error, so the documented form cannot drift from the handlers).
 */
export interface GrantRequest<G extends GrantType> extends Omit<TokenRequest, "form"> {
  readonly form: { get(name: GrantField<G>): string | undefined };
}

/** A grant type's handler. */
export type GrantHandler<G extends GrantType> = (
  ctx: GrantContext,
  request: GrantRequest<G>,
) => Promise<OAuthTokenResponse>;

/**
 * One handler per grant type of `GRANTS` (`oauth/grant_types.ts`): a grant type without a
 * handler, or a handler for none, does not compile.
 */
const HANDLERS: { readonly [G in GrantType]: GrantHandler<G> } = {
  authorization_code: authorizationCodeGrant,
  password: passwordGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
};

/** `POST /oauth/token`: dispatches on `grant_type`. */
export function tokenGrant(ctx: GrantContext, request: TokenRequest): Promise<OAuthTokenResponse> {
  const grantType = request.form.get("grant_type");
  if (grantType === undefined) throw new OAuthError("invalid_request", "grant_type is required");
  if (!isGrantType(grantType)) {
    throw new OAuthError("unsupported_grant_type", `grant_type must be ${oneOf(GRANT_TYPES)}`);
  }
  return HANDLERS[grantType](ctx, request);
}

/** `grant_type=password`: `/login` behind an OAuth face; `scope` names the role wanted. */
async function passwordGrant(
  ctx: GrantContext,
  { form, client, address, endUserAddress }: GrantRequest<"password">,
): Promise<OAuthTokenResponse> {
  allow(client, "password");
  const roles = scopeTokens(form.get("scope"));
  if (roles.length > 1) {
    throw new OAuthError("invalid_scope", "ask for at most one role in scope");
  }
  const deviceToken = form.get("device_token");
  const parsed = LoginBody.safeParse({
    user_id: form.get("username") ?? "",
    password: form.get("password") ?? "",
    ...(roles[0] !== undefined ? { role: roles[0] } : {}),
    ...(deviceToken !== undefined ? { device_token: deviceToken } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path[0];
    const message = (issue?.message ?? "request is invalid").replace("user_id", "username");
    throw new OAuthError(field === "role" ? "invalid_scope" : "invalid_request", message);
  }
  const { user_id: userId, password, role, device_token } = parsed.data;
  const answer = await ctx.services.login.login({
    userId,
    password,
    role,
    client: address,
    deviceToken: device_token,
    // A public client's id proves nothing: its users stay on their address's budget.
    clientId: client?.public === true ? undefined : client?.clientId,
    oauthClient: client,
    endUserAddress,
  });
  if ("mfa" in answer) throw new OAuthMfaRequired(answer.mfa);
  // An extra parameter of the answer (RFC 6749 section 5.1 allows them): the device token.
  return { ...fromPair(answer), device_token: answer.device_token };
}

/** `grant_type=refresh_token`: `/refresh` behind an OAuth face (same rotation and reuse rules). */
async function refreshTokenGrant(
  ctx: GrantContext,
  { form, client, address, endUserAddress }: GrantRequest<"refresh_token">,
): Promise<OAuthTokenResponse> {
  allow(client, "refresh_token");
  const refreshToken = form.get("refresh_token");
  if (refreshToken === undefined) {
    throw new OAuthError("invalid_request", "refresh_token is required");
  }
  if (refreshToken.length > 512) throw new OAuthError("invalid_grant", "refresh token is invalid");
  // The session checks that this is the client it was issued to (RFC 6749 section 6).
  return fromPair(
    await ctx.services.refresh.refresh({
      refreshToken,
      client: address,
      oauthClient: client,
      endUserAddress,
    }),
  );
}

/** `grant_type=client_credentials`: a service-account token, no refresh token. */
async function clientCredentialsGrant(
  ctx: GrantContext,
  { form, client }: GrantRequest<"client_credentials">,
): Promise<OAuthTokenResponse> {
  if (!client) {
    throw new OAuthError("invalid_client", "client_credentials needs client authentication");
  }
  allow(client, "client_credentials");
  const requested = form.get("scope");
  scopeTokens(requested);
  const scopes = grantedScopes(client.scopes, requested);
  if (scopes === undefined) {
    throw new OAuthError("invalid_scope", "scope asks for more than this client may have");
  }
  const signed = await ctx.services.clients.issueToken(client, scopes);
  return {
    access_token: signed.token,
    token_type: "Bearer",
    expires_in: signed.expiresIn,
    ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}),
  };
}

/**
 * `POST /oauth/revoke` (RFC 7009): a refresh token or a session's access token ends the session;
 * anything unknown, expired or foreign changes nothing (200). A live service-account token is
 * refused with `unsupported_token_type` (RFC 7009 section 2.2.1): it has no session to end and
 * is not revoked one by one; rotating the client's secret ends all of them.
 *
 * The client is checked as RFC 7009 section 2.1 asks: a session issued to an OAuth client is
 * ended only by that client, authenticated (`invalid_client` without authentication,
 * `unauthorized_client` for another client); a session from `/login` only by a caller that
 * authenticated as no client. Nothing changes then.
 */
export async function revokeToken(
  ctx: GrantContext,
  form: OAuthForm,
  client: ClientRecord | undefined,
): Promise<void> {
  const token = form.get("token");
  if (token === undefined) throw new OAuthError("invalid_request", "token is required");
  const hint = form.get("token_type_hint");
  const clientId = client?.clientId;
  const { sessions } = ctx.services;
  const tryRefresh = () =>
    asClient(sessions.revokeByRefreshToken(token, "oauth revoke", clientId).then(Boolean), client);
  if (hint !== "access_token" && await tryRefresh()) return;
  const claims = await verifyOwnToken(ctx, token);
  if (claims?.sid !== undefined) {
    await asClient(sessions.revokeForClient(claims.sid, "oauth revoke", clientId), client);
    return;
  }
  if (claims?.client_id !== undefined) {
    throw new OAuthError(
      "unsupported_token_type",
      "service-account tokens are not revoked one by one: rotate the client's secret to end " +
        "all of its tokens, or let this one expire",
    );
  }
  if (hint === "access_token") await tryRefresh();
}

/** A revocation's outcome, with a session of another client as RFC 7009 section 2.1 refuses it. */
async function asClient(
  revocation: Promise<boolean>,
  client: ClientRecord | undefined,
): Promise<boolean> {
  try {
    return await revocation;
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "invalid_refresh_token") throw err;
    throw client === undefined
      ? new OAuthError("invalid_client", "this token was issued to a client: authenticate as it")
      : new OAuthError("unauthorized_client", "this token was not issued to this client");
  }
}

/**
 * `POST /oauth/introspect` (RFC 7662): active when the signature, issuer, audience and expiry
 * hold and, for a user's token, its session is live and its user still holds its role (the same
 * gate as `/me`), or for a service account's, it was issued to the client as the client is now
 * (same registration and secret generation, scopes still its own).
 */
export async function introspectToken(
  ctx: GrantContext,
  form: OAuthForm,
): Promise<IntrospectionResponse> {
  const token = form.get("token");
  if (token === undefined) throw new OAuthError("invalid_request", "token is required");
  const claims = await verifyOwnToken(ctx, token);
  if (!claims) return { active: false };
  const active = claims.sid !== undefined
    ? await ctx.services.gate.isActive(claims)
    : await ctx.services.clients.isTokenCurrent(claims);
  if (!active) return { active: false };
  return {
    active: true,
    token_type: "Bearer",
    sub: claims.sub,
    iss: claims.iss,
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
    role: claims.role,
    ...(claims.scope !== undefined ? { scope: claims.scope } : {}),
    ...(claims.client_id !== undefined ? { client_id: claims.client_id } : {}),
    ...(claims.sid !== undefined ? { sid: claims.sid, username: claims.sub } : {}),
    ...(claims.aud !== undefined ? { aud: claims.aud } : {}),
  };
}

/** The claims of an access token this server issued and still verifies, else `undefined`. */
async function verifyOwnToken(ctx: GrantContext, token: string): Promise<AccessClaims | undefined> {
  const { keys, now } = ctx.services;
  const ring = keys();
  try {
    return await verifyAccessToken(token, {
      resolveKey: keyRingResolver(keys),
      algorithms: [...new Set([...ring.verification.values()].map((k) => k.alg))],
      issuer: ctx.config.issuer,
      audience: ctx.config.audience,
      now: now(),
    });
  } catch {
    return undefined;
  }
}

/**
 * The tokens of a `scope` parameter (none when absent); `invalid_scope` when it is not RFC 6749
 * section 3.3's `scope-token *( SP scope-token )`: an empty item, a doubled or edge space, a
 * character outside the scope-token alphabet.
 */
function scopeTokens(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  const tokens = scope.split(" ");
  const problem = tokens.includes("")
    ? "scope tokens are separated by single spaces"
    : scopesProblem(tokens);
  if (problem) throw new OAuthError("invalid_scope", `scope is malformed: ${problem}`);
  return tokens;
}

/** `unauthorized_client` when a registered client was not given this grant type. */
function allow(client: ClientRecord | undefined, grantType: GrantType): void {
  if (client && !client.grantTypes.includes(grantType)) {
    throw new OAuthError("unauthorized_client", `this client may not use the ${grantType} grant`);
  }
}

function fromPair(pair: TokenPair): OAuthTokenResponse {
  const { role } = decodeJwt(pair.token);
  return {
    access_token: pair.token,
    token_type: "Bearer",
    expires_in: pair.expires_in,
    refresh_token: pair.refresh_token,
    ...(typeof role === "string" ? { scope: role } : {}),
  };
}
