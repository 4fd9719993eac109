/**
 * `GET` and `POST /authorize` (RFC 6749 section 4.1.1, OpenID Connect Core 3.1.2: the
 * authorization endpoint takes the same parameters in the query or in a form body): the browser
 * arrives from a client. An unknown client or an unregistered redirect URI is shown on our page;
 * any other refusal goes back to the client with `state` and `iss`. A browser already signed in
 * (single sign-on) gets a code at once for a confidential client, and a "Continue as" page for a
 * public one (`mustConfirm`: its identity cannot be proven), unless `prompt=login`, `max_age` or
 * an `id_token_hint` for another user ask for credentials again; `prompt=none` never shows a
 * page (`login_required`, or `interaction_required` for the confirmation). Otherwise: the login
 * form, which posts to `routes/login_page.ts`. Each address has a budget of requests
 * (`browser/page_limits.ts`); past it, a 429 page with `Retry-After`.
 *
 * @module
 */
import type { Context } from "hono";
import type { AppContext, AppRouter } from "../app_types.ts";
import { type AuthorizationErrorCode, errorUrl } from "../browser/authorization_request.ts";
import {
  codeRedirect,
  continuePage,
  failurePage,
  loginForm,
  messagePage,
  mustConfirm,
  mustSignIn,
  readRequest,
  redirect,
  tooManyRequests,
} from "../browser/authorize_flow.ts";
import { cookieNames, readCookie } from "../browser/cookies.ts";
import { clientIp } from "../client_ip.ts";
import { isFormBody } from "../http/form_body.ts";
import { readText } from "../http/read_body.ts";
import { limitBody } from "../middleware/json_body.ts";

/** The longest request `/authorize` reads (a state, a nonce and a challenge fit many times). */
const MAX_QUERY = 8192;

/** Registers `GET` and `POST /authorize`. */
export function authorizeRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  const names = cookieNames(config.issuer);

  /** One code path for both methods: the parameters as a query string. */
  async function authorize(c: Context, query: string): Promise<Response> {
    // Before any store read, and before the redirect URI is known: our own page, not a redirect.
    const wait = services.pageLimits.count("authorize", clientIp(c, config.trustProxy));
    if (wait !== undefined) return tooManyRequests(ctx, wait);
    if (query.length > MAX_QUERY) {
      return messagePage(ctx, 414, "Sign-in failed", "The sign-in request is too long.");
    }
    const read = await readRequest(ctx, query);
    if (!read.ok) {
      return "page" in read
        ? messagePage(ctx, 400, "Sign-in failed", read.page)
        : redirect(errorUrl(read.redirect, config.issuer), 302);
    }
    const request = read.request;
    const refuse = (error: AuthorizationErrorCode, description: string) =>
      redirect(
        errorUrl(
          { redirectUri: request.redirectUri, state: request.state, error, description },
          config.issuer,
        ),
        302,
      );
    const live = await services.browserSessions.current(
      readCookie(c.req.header("Cookie"), names.session),
    );
    if (!mustSignIn(request, live, services.now())) {
      if (!mustConfirm(request)) return redirect(await codeRedirect(ctx, request, live!), 302);
      // OpenID Connect Core 3.1.2.6: a page is needed, and it is no consent to record (one
      // given would not let the next prompt=none through): interaction_required.
      if (request.prompt === "none") {
        return refuse("interaction_required", "the user must confirm this application");
      }
      return continuePage(c, ctx, request, live!);
    }
    if (request.prompt === "none") {
      return refuse(
        "login_required",
        live === undefined
          ? "the user is not signed in"
          : "the user must sign in again (id_token_hint names another user, or max_age passed)",
      );
    }
    return loginForm(c, ctx, request);
  }

  app.get("/authorize", async (c) => {
    try {
      return await authorize(c, new URL(c.req.url).search.slice(1));
    } catch (err) {
      return failurePage(ctx, "/authorize", err);
    }
  });
  // A form body over the query's limit is refused before it is read (413).
  app.use("/authorize", limitBody(MAX_QUERY));
  app.post("/authorize", async (c) => {
    try {
      if (!isFormBody(c.req.header("Content-Type"))) {
        return messagePage(ctx, 415, "Sign-in failed", "The request was not sent as a form.");
      }
      return await authorize(c, await readText(c));
    } catch (err) {
      return failurePage(ctx, "/authorize", err);
    }
  });
}
