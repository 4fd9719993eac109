/**
 * `grant_type=authorization_code` (RFC 6749 section 4.1.3, RFC 7636 section 4.5, OpenID Connect
 * Core 3.1.3): a confidential client authenticates; a public one names itself with `client_id`
 * and proves the code with its PKCE verifier. The answer is what `/login` gives (an access token
 * with `sid`), a refresh token when the client has that grant (the same sessions, rotation and
 * client binding as the password grant's), and an ID token when `openid` was granted.
 *
 * @module
 */
import { decodeJwt } from "./jwt.ts";
import type { AppContext } from "../../app_types.ts";
import { InvalidCodeError } from "../../browser/authorization_codes.ts";
import { idTokenKey, idTokenSubject, signIdToken } from "../../oidc/id_token.ts";
import type { OAuthTokenResponse } from "../../wire.ts";
import { OAuthError } from "./oauth_error.ts";
import type { GrantRequest } from "./grants.ts";

type GrantContext = Pick<AppContext, "services" | "config">;

/** Exchanges a code for tokens. */
export async function authorizationCodeGrant(
  ctx: GrantContext,
  { form, client }: GrantRequest<"authorization_code">,
): Promise<OAuthTokenResponse> {
  if (!client) {
    throw new OAuthError(
      "invalid_client",
      "authorization_code needs a registered client: its credentials, or client_id when public",
    );
  }
  if (!client.grantTypes.includes("authorization_code")) {
    throw new OAuthError("unauthorized_client", "this client may not use authorization_code");
  }
  const code = form.get("code");
  if (code === undefined) throw new OAuthError("invalid_request", "code is required");
  if (code.length > 512) throw new OAuthError("invalid_grant", "authorization code is invalid");
  const { services, config } = ctx;
  const { code: granted, pair } = await services.codes.redeem({
    code,
    client,
    redirectUri: form.get("redirect_uri"),
    codeVerifier: form.get("code_verifier"),
  }).catch((err) => {
    throw err instanceof InvalidCodeError ? new OAuthError("invalid_grant", err.message) : err;
  });
  let idToken: string | undefined;
  if (granted.scopes.includes("openid")) {
    const key = idTokenKey(services.keys());
    if (!key) {
      await services.sessions.revoke(tokenSid(pair.token), "no ID token key");
      throw new OAuthError("invalid_grant", "openid needs an asymmetric JWT_ALG");
    }
    idToken = await signIdToken(key, {
      issuer: config.issuer,
      subject: idTokenSubject(granted),
      clientId: client.clientId,
      nonce: granted.nonce,
      authTime: granted.authTime,
      sid: granted.browserSid,
      amr: granted.amr,
      accessToken: pair.token,
      ttl: config.tokenTtl,
      now: services.now(),
    });
  }
  return {
    access_token: pair.token,
    token_type: "Bearer",
    expires_in: pair.expires_in,
    ...(client.grantTypes.includes("refresh_token") ? { refresh_token: pair.refresh_token } : {}),
    scope: granted.scopes.join(" "),
    ...(idToken !== undefined ? { id_token: idToken } : {}),
  };
}

function tokenSid(token: string): string {
  return String(decodeJwt(token).sid);
}
