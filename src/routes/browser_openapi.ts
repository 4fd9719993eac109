/**
 * The OpenAPI entries of the browser sign-in routes (`/authorize`, its login form, `/userinfo`,
 * `/end-session`): pages and redirects for a browser, documented beside the JSON API so the
 * document lists every route the app serves.
 *
 * @module
 */
import type { AppRouter } from "../app_types.ts";
import { errorResponse, storeUnavailable, z } from "./schemas.ts";
import { UserinfoSchema } from "../wire.ts";

const page = (description: string) => ({
  content: { "text/html": { schema: z.string() } },
  description,
});
const redirect = (description: string) => ({
  description,
  headers: { Location: { schema: { type: "string" as const } } },
});
const form = (schema: z.ZodType) => ({
  content: { "application/x-www-form-urlencoded": { schema } },
  required: true,
});
const htmlUnavailable = page("The store is unavailable (a page, with Retry-After)");

const AuthorizeQuery = z.object({
  response_type: z.literal("code"),
  client_id: z.string(),
  redirect_uri: z.string().meta({ description: "Exactly as registered" }),
  scope: z.string().optional().meta({
    description: "`openid` for an ID token (asymmetric JWT_ALG only); at most one role name",
  }),
  state: z.string().optional(),
  code_challenge: z.string().optional().meta({ description: "Required for public clients" }),
  code_challenge_method: z.literal("S256").optional(),
  nonce: z.string().optional(),
  prompt: z.enum(["none", "login", "consent", "select_account"]).optional(),
  max_age: z.string().optional(),
  login_hint: z.string().optional(),
  id_token_hint: z.string().optional().meta({
    description:
      "An ID token this server issued (expired is fine): single sign-on for its user only",
  }),
});

const ContinueForm = z.object({
  csrf_token: z.string(),
  request: z.string().meta({ description: "The authorization request's query, as shown" }),
  session: z.string().meta({ description: "The browser session (sid) the page was shown for" }),
  decision: z.enum(["continue", "cancel"]),
});

const LoginForm = z.object({
  csrf_token: z.string(),
  request: z.string().meta({ description: "The authorization request's query, as shown" }),
  user_id: z.string(),
  password: z.string(),
});

const StepForm = z.object({
  csrf_token: z.string(),
  request: z.string().meta({ description: "The authorization request's query, as shown" }),
  code: z.string().optional().meta({ description: "The TOTP code" }),
  recovery_code: z.string().optional(),
  passkey_challenge_id: z.string().optional(),
  passkey_response: z.string().optional().meta({
    description: "PublicKeyCredential.toJSON() of navigator.credentials.get, as JSON",
  }),
});

const PasskeyForm = z.object({
  csrf_token: z.string(),
  request: z.string().meta({ description: "The authorization request's query, as shown" }),
  passkey_challenge_id: z.string(),
  passkey_response: z.string().meta({
    description: "PublicKeyCredential.toJSON() of navigator.credentials.get, as JSON",
  }),
});

const EndSession = z.object({
  id_token_hint: z.string().optional(),
  client_id: z.string().optional(),
  post_logout_redirect_uri: z.string().optional().meta({ description: "Exactly as registered" }),
  state: z.string().optional(),
});

const UserInfo = UserinfoSchema.meta({ id: "UserInfo" });

/** Registers the documentation of the browser sign-in routes. */
export function documentBrowserRoutes(app: AppRouter): void {
  const registry = app.openAPIRegistry;
  const authorizeResponses = {
    200: page(
      "The login form (no single sign-on session, prompt=login, max_age passed, or an " +
        "id_token_hint for another user), or, signed in, the confirmation a public client needs",
    ),
    302: redirect(
      "To the redirect URI with `code`, `state`, `iss`; or with `error` (invalid_request, " +
        "unsupported_response_type, invalid_scope, login_required, interaction_required, ...)",
    ),
    400: page("Unknown client, or a redirect_uri it did not register: never redirected"),
    414: page("The request is over 8 KiB"),
    429: page("Too many requests from this address (Retry-After): never redirected"),
    503: htmlUnavailable,
  };
  registry.registerPath({
    method: "get",
    path: "/authorize",
    summary: "Authorization endpoint (code + PKCE, OpenID Connect): the login page or a redirect",
    request: { query: AuthorizeQuery },
    responses: authorizeResponses,
  });
  registry.registerPath({
    method: "post",
    path: "/authorize",
    summary: "The authorization endpoint with its parameters in a form (OpenID Connect Core " +
      "3.1.2.1): the same answers as GET",
    request: { body: form(AuthorizeQuery) },
    responses: {
      ...authorizeResponses,
      413: errorResponse("The body is over 8 KiB (`payload_too_large`)"),
      415: page("Not a form"),
    },
  });
  registry.registerPath({
    method: "post",
    path: "/authorize/continue",
    summary: "The confirmation a signed-in browser gives before a public client gets its code",
    request: { body: form(ContinueForm) },
    responses: {
      200: page("The login form: no longer signed in, or signed in as another user meanwhile"),
      303: redirect("To the redirect URI with `code`; or `error=access_denied` for Cancel"),
      400: page("The carried request is invalid"),
      403: page("Missing or wrong CSRF token"),
      413: errorResponse("The body is over 16 KiB (`payload_too_large`)"),
      415: page("Not a form"),
      503: htmlUnavailable,
    },
  });
  registry.registerPath({
    method: "post",
    path: "/authorize/login",
    summary: "The login form of /authorize (CSRF token; the limits of POST /login)",
    request: { body: form(LoginForm) },
    responses: {
      200: page("The second step (a user with a second factor): the code form"),
      303: redirect("Signed in: to the redirect URI with `code`, `state`, `iss`"),
      400: page("A field is missing, or the carried request is invalid"),
      401: page("The form again with one message for a wrong user name or password"),
      403: page("Missing or wrong CSRF token"),
      413: errorResponse("The body is over 16 KiB (`payload_too_large`)"),
      415: page("Not a form"),
      429: page("The form again: too many attempts (Retry-After)"),
      503: htmlUnavailable,
    },
  });
  registry.registerPath({
    method: "post",
    path: "/authorize/mfa",
    summary: "The login form's second step: a TOTP code, a recovery code or a passkey",
    request: { body: form(StepForm) },
    responses: {
      303: redirect("Signed in (amr pwd+otp): to the redirect URI with `code`, `state`, `iss`"),
      400: page("Nothing entered, or the carried request is invalid"),
      401: page(
        "The step again (a wrong or used code), or the login form (the step expired, ended " +
          "or belongs to another browser)",
      ),
      403: page("Missing or wrong CSRF token"),
      413: errorResponse("The body is over 16 KiB (`payload_too_large`)"),
      415: page("Not a form"),
      429: page("The step again: too many attempts (Retry-After)"),
      503: htmlUnavailable,
    },
  });
  registry.registerPath({
    method: "post",
    path: "/authorize/passkey",
    summary: "The login form's passkey sign-in (no password; the page's script posts it)",
    request: { body: form(PasskeyForm) },
    responses: {
      303: redirect("Signed in: to the redirect URI with `code`, `state`, `iss`"),
      400: page("A malformed assertion, or the carried request is invalid"),
      401: page("The login form again: the passkey was not accepted"),
      403: page("Missing or wrong CSRF token"),
      413: errorResponse("The body is over 16 KiB (`payload_too_large`)"),
      415: page("Not a form"),
      429: page("The login form again: too many attempts (Retry-After)"),
      503: htmlUnavailable,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/authorize/passkey.js",
    summary: "The login page's script (the passkey button)",
    responses: {
      200: { content: { "text/javascript": { schema: z.string() } }, description: "Script" },
    },
  });
  for (const method of ["get", "post"] as const) {
    registry.registerPath({
      method,
      path: "/userinfo",
      summary: "OpenID Connect UserInfo: the bearer token's user",
      security: [{ bearer: [] }],
      responses: {
        200: { content: { "application/json": { schema: UserInfo } }, description: "Claims" },
        401: errorResponse("No valid bearer token (`missing_token`, `invalid_token`)"),
        403: errorResponse("A service-account token (`subject_not_allowed`)"),
        503: storeUnavailable,
      },
    });
  }
  registry.registerPath({
    method: "get",
    path: "/end-session",
    summary: "OpenID Connect RP-Initiated Logout: ends the browser session",
    request: { query: EndSession },
    responses: {
      200: page("Signed out, or (without a hint for this session) asked to confirm"),
      302: redirect("To the registered post_logout_redirect_uri, with `state`"),
      400: page("An invalid hint, or an unregistered post_logout_redirect_uri: never redirected"),
      429: page("Too many requests from this address (Retry-After)"),
      503: htmlUnavailable,
    },
  });
  registry.registerPath({
    method: "post",
    path: "/end-session",
    summary: "RP-Initiated Logout by form (and the confirmation form, with its CSRF token)",
    request: { body: form(EndSession) },
    responses: {
      200: page("Signed out, or asked to confirm"),
      303: redirect("To the registered post_logout_redirect_uri, with `state`"),
      400: page("An invalid hint, or an unregistered post_logout_redirect_uri"),
      413: errorResponse("The body is over 16 KiB (`payload_too_large`)"),
      429: page("Too many requests from this address (Retry-After)"),
      503: htmlUnavailable,
    },
  });
}
