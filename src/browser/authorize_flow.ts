/**
 * The steps `GET /authorize` and the login form's POST share: whether the browser must sign in,
 * the code answer, the login form (with its CSRF cookie) and the HTML answers.
 *
 * @module
 */
import type { Context } from "hono";
import type { AppContext } from "../app_types.ts";
import { toApiError } from "../errors.ts";
import { continuesSignIn, type LiveBrowserSession } from "./browser_sessions.ts";
import {
  type AuthorizationRequest,
  errorUrl,
  readAuthorizationRequest,
  type ReadRequest,
  responseUrl,
} from "./authorization_request.ts";
import {
  cookieNames,
  csrfToken,
  deriveCsrfKey,
  newCookieValue,
  readCookie,
  setCookieValue,
} from "./cookies.ts";
import {
  basePath,
  newNonce,
  pageHeaders,
  type PasskeyButton,
  renderContinuePage,
  renderLoginPage,
  renderMessagePage,
  renderSecondStepPage,
} from "./login_page.ts";
import type { SignInProof } from "../mfa/mfa_login.ts";
import { idTokenKey } from "../oidc/id_token.ts";
import { readIdTokenHint } from "../oidc/id_token_hint.ts";
import { oidcSubject } from "../oidc/subject.ts";
import type { UserRecord } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";

type FlowContext = Pick<AppContext, "services" | "config" | "logger">;

const CSRF_COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;
/** The CSRF cookie outlives a form left open a while, not a day. */
const CSRF_MAX_AGE = 60 * 60;

/**
 * Reads an authorization request (a query, or the form `/authorize` and its pages carry) with
 * what this server knows: whether it signs ID tokens, and the ID tokens it signed
 * (`id_token_hint`).
 */
export function readRequest(ctx: FlowContext, query: string): Promise<ReadRequest> {
  const { services, config } = ctx;
  return readAuthorizationRequest(query, services.clients, {
    openidAvailable: idTokenKey(services.keys()) !== undefined,
    readIdTokenHint: (token) => readIdTokenHint(token, services.keys(), config.issuer),
  });
}

/** Whether the browser must (again) enter credentials before a code is issued. */
export function mustSignIn(
  request: AuthorizationRequest,
  live: LiveBrowserSession | undefined,
  now: number,
): boolean {
  if (live === undefined || request.prompt === "login") return true;
  // OpenID Connect Core 3.1.2.1: the client names the user it expects (id_token_hint); the
  // browser signed in as someone else must sign in (or answer login_required).
  if (
    request.hintedSubject !== undefined &&
    request.hintedSubject !== oidcSubject(live.session.userUid)
  ) {
    return true;
  }
  // OpenID Connect Core 3.1.2.1: max_age bounds the time since the user last authenticated.
  return request.maxAge !== undefined && now - live.session.authTime > request.maxAge * 1000;
}

/**
 * Whether a signed-in browser must still confirm before the client gets a code. A public client
 * (no secret) cannot prove who it is: any program on the device can name its `client_id`, a
 * loopback port of its own and its own PKCE pair, and open the browser (RFC 8252 section 8.6:
 * such requests SHOULD NOT be processed automatically without the user's interaction; RFC 9700
 * section 4.1). So single sign-on never issues its code silently. A confidential client
 * authenticates at the token endpoint: it keeps silent single sign-on.
 */
export function mustConfirm(request: AuthorizationRequest): boolean {
  return request.client.public === true;
}

/** Issues a code for a signed-in browser; the URL to send it to (or an error URL). */
export async function codeRedirect(
  ctx: FlowContext,
  request: AuthorizationRequest,
  live: LiveBrowserSession,
): Promise<string> {
  const { services, config } = ctx;
  const user = live.user.value;
  const role = request.role ?? user.roles[0];
  if (role === undefined || !user.roles.includes(role)) {
    return errorUrl({
      redirectUri: request.redirectUri,
      state: request.state,
      error: "invalid_scope",
      description: `role "${(role ?? "").slice(0, 128)}" is not granted to this user`,
    }, config.issuer);
  }
  const code = await services.codes.issue({
    clientId: request.client.clientId,
    redirectUri: request.redirectUri,
    ...(request.codeChallenge !== undefined ? { codeChallenge: request.codeChallenge } : {}),
    ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
    scopes: [...(request.openid ? ["openid"] : []), role],
    role,
    userId: user.id,
    userUid: live.session.userUid,
    browserSessionKey: live.session.key,
    browserSid: live.session.sid,
    authTime: live.session.authTime,
    amr: live.session.amr,
  });
  return responseUrl(request.redirectUri, { code, state: request.state }, config.issuer);
}

/** The statuses a sign-in form is shown with: 200, or the status of the error it shows. */
type FormStatus = 200 | 400 | 401 | 429;

/** Answers with the login form (status 200, or the status of the error it shows). */
export function loginForm(
  c: Context,
  ctx: FlowContext,
  request: AuthorizationRequest,
  options: { status?: FormStatus; error?: string; userId?: string; cookies?: string[] } = {},
): Response {
  const csrf = csrfFor(c, ctx);
  const nonce = newNonce();
  const passkey = passkeyButton(ctx, "/authorize/passkey");
  const html = renderLoginPage(ctx.config.branding, nonce, {
    query: request.query,
    csrfToken: csrf.token,
    action: `${basePath(ctx.config.issuer)}/authorize/login`,
    userId: options.userId ?? request.loginHint,
    error: options.error,
    passkey,
  });
  return formResponse(html, nonce, passkey !== undefined, options.status, [
    csrf.setCookie,
    ...(options.cookies ?? []),
  ]);
}

/**
 * Answers with the confirmation a signed-in browser gives before a public client gets its code
 * ({@link mustConfirm}): "Continue to <client> as <user>?", posted to `/authorize/continue` with
 * the page's CSRF token and the browser session it was shown for.
 */
export function continuePage(
  c: Context,
  ctx: FlowContext,
  request: AuthorizationRequest,
  live: LiveBrowserSession,
): Response {
  const csrf = csrfFor(c, ctx);
  const nonce = newNonce();
  const html = renderContinuePage(ctx.config.branding, nonce, {
    query: request.query,
    csrfToken: csrf.token,
    action: `${basePath(ctx.config.issuer)}/authorize/continue`,
    clientId: request.client.clientId,
    userId: live.user.value.id,
    role: request.role,
    sessionId: live.session.sid,
  });
  return formResponse(html, nonce, false, 200, [csrf.setCookie]);
}

/**
 * Answers with the second step's form: the code, a recovery code when some are left, a passkey
 * when the user has one (and the server has a relying party).
 */
export function secondStepForm(
  c: Context,
  ctx: FlowContext,
  request: AuthorizationRequest,
  options: {
    status?: FormStatus;
    error?: string;
    recoveryCodes: boolean;
    passkeys: boolean;
    cookies?: string[];
  },
): Response {
  const csrf = csrfFor(c, ctx);
  const nonce = newNonce();
  const passkey = options.passkeys ? passkeyButton(ctx, "/authorize/mfa") : undefined;
  const html = renderSecondStepPage(ctx.config.branding, nonce, {
    query: request.query,
    csrfToken: csrf.token,
    action: `${basePath(ctx.config.issuer)}/authorize/mfa`,
    error: options.error,
    recoveryCodes: options.recoveryCodes,
    passkey,
  });
  return formResponse(html, nonce, passkey !== undefined, options.status, [
    csrf.setCookie,
    ...(options.cookies ?? []),
  ]);
}

function formResponse(
  html: string,
  nonce: string,
  script: boolean,
  status: FormStatus | undefined,
  cookies: string[],
): Response {
  const headers = new Headers(pageHeaders(nonce, { script }));
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(html, { status: status ?? 200, headers });
}

/** The passkey button of a form posting to `path`, when this server has a relying party. */
function passkeyButton(ctx: FlowContext, path: string): PasskeyButton | undefined {
  if (ctx.services.passkeys.relyingParty === undefined) return undefined;
  const base = basePath(ctx.config.issuer);
  return {
    optionsUrl: `${base}/passkeys/authentication/options`,
    action: `${base}${path}`,
    scriptUrl: `${base}/authorize/passkey.js`,
  };
}

/**
 * The end of every sign-in on the page (a password alone, a password and a second factor, a
 * passkey): a new browser session (a new cookie value: no session fixation) with the `amr` the
 * sign-in proved, a fresh device token, and the code for the client. The browser's older
 * session: the same user signing in again (`prompt=login`, `max_age`) re-authenticates (Core
 * 3.1.2.1), so it is continued and its applications' sessions live on (`browser_sessions.ts`);
 * another user's ends whole, its applications' sessions too (`sign_out.ts`).
 */
export async function signedInRedirect(
  c: Context,
  ctx: FlowContext,
  request: AuthorizationRequest,
  signedIn: { user: Versioned<UserRecord>; proof: SignInProof; client: string },
  cookies: string[] = [],
): Promise<Response> {
  const { services, config } = ctx;
  const names = cookieNames(config.issuer);
  const user = signedIn.user.value;
  // Another user's sign-in replaced in this browser ends whole, the sessions it gave
  // applications too: otherwise they would outlive every later logout (which ends the new
  // sign-in only). The same user's is continued: the new session's logout ends them.
  const replaced = await services.browserSessions.stored(
    readCookie(c.req.header("Cookie"), names.session),
  );
  const continued = replaced !== undefined && continuesSignIn(replaced.value, user, services.now())
    ? replaced
    : undefined;
  if (replaced && !continued) {
    await services.signOut.endSignIn(
      { userUid: replaced.value.userUid, browserSessionKey: replaced.value.key },
      "signed_in_again",
    );
  }
  const { cookieValue, session } = await services.browserSessions.start(
    user,
    signedIn.proof.amr,
    continued,
  );
  const deviceToken = services.login.issueDeviceToken(
    user,
    signedIn.client,
    signedIn.proof.factors,
  );
  const location = await codeRedirect(ctx, request, { session, user: signedIn.user });
  return redirect(location, 303, [
    setCookieValue(names, names.session, cookieValue, {
      maxAge: (session.expiresAt - services.now()) / 1000,
      sameSite: "Lax",
    }),
    setCookieValue(names, names.device, deviceToken, {
      maxAge: config.deviceTokenTtl,
      sameSite: "Strict",
    }),
    ...cookies,
  ]);
}

/** The CSRF token for a form on this page, and the cookie (kept or new) it is bound to. */
export function csrfFor(c: Context, ctx: FlowContext): { token: string; setCookie: string } {
  const names = cookieNames(ctx.config.issuer);
  const present = readCookie(c.req.header("Cookie"), names.csrf);
  const csrfCookie = present !== undefined && CSRF_COOKIE_VALUE.test(present)
    ? present
    : newCookieValue();
  return {
    token: csrfToken(deriveCsrfKey(ctx.config.secretKey), csrfCookie),
    setCookie: setCookieValue(names, names.csrf, csrfCookie, {
      maxAge: CSRF_MAX_AGE,
      sameSite: "Strict",
    }),
  };
}

/** A message page (an error that must not be redirected, or a notice). */
export function messagePage(
  ctx: FlowContext,
  status: number,
  title: string,
  message: string,
  extraHeaders: Record<string, string> = {},
): Response {
  const nonce = newNonce();
  return new Response(renderMessagePage(ctx.config.branding, nonce, title, message), {
    status,
    headers: { ...pageHeaders(nonce), ...extraHeaders },
  });
}

/** A redirect (302 after a GET, 303 after a POST), uncached, with cookies to set. */
export function redirect(location: string, status: 302 | 303, cookies: string[] = []): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status, headers });
}

/**
 * A failure under the sign-in pages as a page: a store outage is 503 with `Retry-After` (never a
 * redirect that would tell the client the user refused), anything else 500, logged.
 */
export function failurePage(ctx: FlowContext, path: string, err: unknown): Response {
  const known = toApiError(err);
  if (known && known.status === 503) {
    return messagePage(
      ctx,
      503,
      "Try again shortly",
      "Sign-in is unavailable for a moment. Please try again.",
      known.headers,
    );
  }
  if (known && known.status < 500) {
    return messagePage(ctx, known.status, "Sign-in failed", known.message);
  }
  ctx.logger.error("unhandled_error", {
    path,
    error: err instanceof Error ? err.name : typeof err,
    message: err instanceof Error ? err.message.slice(0, 500) : undefined,
  });
  return messagePage(ctx, 500, "Something went wrong", "Sign-in failed. Please try again.");
}

/**
 * A page's per-address limit refused the request (`page_limits.ts`): a 429 page with
 * `Retry-After`, never a redirect (it is refused before the client and its redirect URI are read).
 */
export function tooManyRequests(ctx: FlowContext, retryAfter: number): Response {
  return messagePage(
    ctx,
    429,
    "Too many requests",
    "Too many sign-in requests from your network. Please wait a moment and try again.",
    { "Retry-After": String(retryAfter) },
  );
}
