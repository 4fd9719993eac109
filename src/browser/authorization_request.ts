/**
 * Reading `GET /authorize` (RFC 6749 section 4.1.1, RFC 7636 section 4.3, OpenID Connect Core
 * 3.1.2.1) in the order the errors must be told apart (RFC 6749 section 4.1.2.1):
 *
 * 1. the client and its redirect URI: an unknown client, a missing, repeated or unregistered
 *    `redirect_uri` (exact string match) can only be shown to the person, on our own error page,
 *    never sent anywhere (an open redirector otherwise, RFC 9700 section 4.11.1);
 * 2. everything else: refused by sending the browser back to the now trusted redirect URI with
 *    `error`, `error_description`, `state` and `iss` (RFC 9207).
 *
 * @module
 */
import type { ClientService } from "../oauth/client_service.ts";
import type { ClientRecord } from "../oauth/client_store.ts";
import { matchesRegistered } from "../oauth/redirect_uris.ts";
import { S256_CHALLENGE } from "./pkce.ts";

/** OpenID Connect scope values we accept; `openid` is the one that changes the answer. */
const OIDC_SCOPES: readonly string[] = ["openid", "profile", "email", "offline_access"];
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
const MAX_STATE = 2048;
const MAX_NONCE = 512;
const MAX_LOGIN_HINT = 128;

/** A valid authorization request. */
export interface AuthorizationRequest {
  readonly client: ClientRecord;
  readonly redirectUri: string;
  readonly state: string | undefined;
  /** Scope values granted besides the role: `openid` (and the other OpenID ones, ignored). */
  readonly openid: boolean;
  /** A role asked for in `scope` (one at most), as the password grant reads it. */
  readonly role: string | undefined;
  readonly codeChallenge: string | undefined;
  readonly nonce: string | undefined;
  readonly prompt: "none" | "login" | undefined;
  /** Seconds (`max_age`). */
  readonly maxAge: number | undefined;
  readonly loginHint: string | undefined;
  /**
   * The `sub` of a valid `id_token_hint` (Core 3.1.2.1): single sign-on only for that user
   * (`mustSignIn`).
   */
  readonly hintedSubject: string | undefined;
  /** The query it was read from: the login form carries it back (`routes/login_page.ts`). */
  readonly query: string;
}

/** Error codes of an authorization error response (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6). */
export type AuthorizationErrorCode =
  | "invalid_request"
  | "unauthorized_client"
  | "access_denied"
  | "unsupported_response_type"
  | "invalid_scope"
  | "server_error"
  | "temporarily_unavailable"
  | "login_required"
  | "interaction_required"
  | "request_not_supported"
  | "request_uri_not_supported";

/** What reading a request came to. */
export type ReadRequest =
  | { readonly ok: true; readonly request: AuthorizationRequest }
  /** Shown on our own page, never redirected. */
  | { readonly ok: false; readonly page: string }
  /** Sent back to the (validated) redirect URI. */
  | {
    readonly ok: false;
    readonly redirect: AuthorizationError;
  };

/** An error to send back to the client's redirect URI. */
export interface AuthorizationError {
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly error: AuthorizationErrorCode;
  readonly description: string;
}

/** Reads an authorization request from its query string. */
export async function readAuthorizationRequest(
  query: string,
  clients: Pick<ClientService, "lookup">,
  options: {
    readonly openidAvailable: boolean;
    /**
     * The claims of an ID token this server signed (an expired one too, as Core 3.1.2.1
     * allows), else `undefined` (`oidc/id_token_hint.ts`).
     */
    readonly readIdTokenHint: (token: string) => Promise<{ readonly sub: string } | undefined>;
  },
): Promise<ReadRequest> {
  const params = new URLSearchParams(query);
  const one = (name: string): string | undefined | null => {
    const all = params.getAll(name);
    if (all.length > 1) return null; // repeated (RFC 6749 section 3.1)
    return all[0] === "" ? undefined : all[0];
  };

  // 1. Client and redirect URI: shown on our page when wrong.
  const clientId = one("client_id");
  if (clientId === null) return { ok: false, page: "client_id is repeated." };
  if (clientId === undefined) return { ok: false, page: "The request names no client." };
  const client = await clients.lookup(clientId);
  if (!client || !client.grantTypes.includes("authorization_code")) {
    return { ok: false, page: "The application that sent you here is not registered." };
  }
  const redirectUri = one("redirect_uri");
  if (redirectUri === null) return { ok: false, page: "redirect_uri is repeated." };
  if (redirectUri === undefined) {
    // OpenID Connect Core 3.1.2.1 makes it required; one fewer way to get it wrong.
    return { ok: false, page: "The request has no redirect_uri." };
  }
  if (!matchesRegistered(client.redirectUris ?? [], redirectUri)) {
    return {
      ok: false,
      page: "The redirect_uri is not one this application registered.",
    };
  }

  // 2. Everything else: back to the client.
  const stateValue = one("state");
  const state = stateValue === null ? undefined : stateValue;
  const refuse = (error: AuthorizationErrorCode, description: string): ReadRequest => ({
    ok: false,
    redirect: { redirectUri, state, error, description },
  });
  if (stateValue === null) return refuse("invalid_request", "state is repeated");
  if (state !== undefined && state.length > MAX_STATE) {
    return refuse("invalid_request", `state is over ${MAX_STATE} characters`);
  }
  for (const name of params.keys()) {
    if (one(name) === null) return refuse("invalid_request", `${name.slice(0, 64)} is repeated`);
  }
  // No parameter is repeated from here on.
  const value = (name: string): string | undefined => one(name) ?? undefined;
  if (params.has("request")) {
    return refuse("request_not_supported", "request objects are not supported");
  }
  if (params.has("request_uri")) {
    return refuse("request_uri_not_supported", "request_uri is not supported");
  }
  const responseType = value("response_type");
  if (responseType === undefined) return refuse("invalid_request", "response_type is required");
  if (responseType !== "code") {
    return refuse("unsupported_response_type", "response_type must be code");
  }
  const responseMode = value("response_mode");
  if (responseMode !== undefined && responseMode !== "query") {
    return refuse("invalid_request", "response_mode must be query");
  }

  const scope = value("scope") ?? "";
  const tokens = scope === "" ? [] : scope.split(" ");
  if (tokens.some((t) => !SCOPE_TOKEN.test(t))) {
    return refuse("invalid_scope", "scope tokens are separated by single spaces");
  }
  const roles = tokens.filter((t) => !OIDC_SCOPES.includes(t));
  if (roles.length > 1) return refuse("invalid_scope", "ask for at most one role in scope");
  const openid = tokens.includes("openid");
  if (openid && !options.openidAvailable) {
    return refuse(
      "invalid_scope",
      "openid needs ID tokens, which this server signs only under an asymmetric JWT_ALG",
    );
  }

  const challenge = value("code_challenge");
  const method = value("code_challenge_method");
  if (challenge === undefined) {
    if (method !== undefined) {
      return refuse("invalid_request", "code_challenge_method without code_challenge");
    }
    if (client.public) {
      return refuse("invalid_request", "a public client must use PKCE (code_challenge, S256)");
    }
  } else {
    // An absent method means `plain` (RFC 7636 section 4.3): refused like an explicit one.
    if (method !== "S256") {
      return refuse("invalid_request", "code_challenge_method must be S256 (plain is refused)");
    }
    if (!S256_CHALLENGE.test(challenge)) {
      return refuse("invalid_request", "code_challenge must be 43 base64url characters");
    }
  }

  const nonce = value("nonce");
  if (nonce !== undefined && nonce.length > MAX_NONCE) {
    return refuse("invalid_request", `nonce is over ${MAX_NONCE} characters`);
  }
  const promptValue = value("prompt");
  const prompts = promptValue === undefined ? [] : promptValue.split(" ");
  if (prompts.some((p) => !["none", "login", "consent", "select_account"].includes(p))) {
    return refuse("invalid_request", "prompt must be none, login, consent or select_account");
  }
  if (prompts.includes("none") && prompts.length > 1) {
    return refuse("invalid_request", "prompt=none cannot be combined with another value");
  }
  // First-party clients need no consent; choosing an account is signing in again.
  const prompt = prompts.includes("none")
    ? "none"
    : prompts.includes("login") || prompts.includes("select_account")
    ? "login"
    : undefined;
  const maxAgeValue = value("max_age");
  if (maxAgeValue !== undefined && !/^\d{1,10}$/.test(maxAgeValue)) {
    return refuse("invalid_request", "max_age must be a whole number of seconds");
  }
  const loginHint = value("login_hint");
  const hintToken = value("id_token_hint");
  const hint = hintToken === undefined ? undefined : await options.readIdTokenHint(hintToken);
  if (hintToken !== undefined && hint === undefined) {
    return refuse("invalid_request", "id_token_hint is not an ID token this server issued");
  }

  return {
    ok: true,
    request: {
      client,
      redirectUri,
      state,
      openid,
      role: roles[0],
      codeChallenge: challenge,
      nonce,
      prompt,
      maxAge: maxAgeValue === undefined ? undefined : Number(maxAgeValue),
      loginHint: loginHint !== undefined && loginHint.length <= MAX_LOGIN_HINT
        ? loginHint
        : undefined,
      hintedSubject: hint?.sub,
      query,
    },
  };
}

/**
 * The redirect URI with the authorization response's parameters added (RFC 6749 section 4.1.2),
 * `iss` always (RFC 9207 section 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { responseUrl } from "./authorization_request.ts";
 * assert.equal(
 *   responseUrl("https://app.example/cb?x=1", { code: "c", state: "s" }, "https://auth.example"),
 *   "https://app.example/cb?x=1&code=c&state=s&iss=https%3A%2F%2Fauth.example",
 * );
 * ```
 */
export function responseUrl(
  redirectUri: string,
  params: Readonly<Record<string, string | undefined>>,
  issuer: string,
): string {
  return responseUrlWithoutIssuer(redirectUri, { ...params, iss: issuer });
}

/** The URI with `params` appended to its query (a post-logout redirect carries no `iss`). */
export function responseUrlWithoutIssuer(
  uri: string,
  params: Readonly<Record<string, string | undefined>>,
): string {
  // Appended to the registered string as it is: its own query stays byte for byte.
  const added = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) added.append(name, value);
  }
  const query = added.toString();
  if (query === "") return uri;
  return `${uri}${uri.includes("?") ? "&" : "?"}${query}`;
}

/** The redirect URL of an authorization error. */
export function errorUrl(error: AuthorizationError, issuer: string): string {
  return responseUrl(error.redirectUri, {
    error: error.error,
    error_description: error.description,
    state: error.state,
  }, issuer);
}
