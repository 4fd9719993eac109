/**
 * `GET /authorize` (RFC 6749 section 4.1.1, OpenID Connect Core 3.1.2): the browser arrives from
 * a client. An unknown client or an unregistered redirect URI is shown on our page; any other
 * refusal goes back to the client with `state` and `iss`. A browser already signed in (single
 * sign-on) gets a code at once, unless `prompt=login` or `max_age` ask for credentials again;
 * `prompt=none` never shows the form (`login_required` instead). Otherwise: the login form,
 * which posts to `routes/login_page.ts`. Each address has a budget of requests
 * (`browser/page_limits.ts`); past it, a 429 page with `Retry-After`.
 *
 * @module
 */
import type { AppContext, AppRouter } from "../app_types.ts";
import { errorUrl, readAuthorizationRequest } from "../browser/authorization_request.ts";
import {
  codeRedirect,
  failurePage,
  loginForm,
  messagePage,
  mustSignIn,
  redirect,
  tooManyRequests,
} from "../browser/authorize_flow.ts";
import { cookieNames, readCookie } from "../browser/cookies.ts";
import { clientIp } from "../client_ip.ts";
import { idTokenKey } from "../oidc/id_token.ts";

/** The longest query `/authorize` reads (a state, a nonce and a challenge fit many times). */
const MAX_QUERY = 8192;

/** Registers `GET /authorize`. */
export function authorizeRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  const names = cookieNames(config.issuer);

  app.get("/authorize", async (c) => {
    try {
      // Before any store read, and before the redirect URI is known: our own page, not a redirect.
      const wait = services.pageLimits.count("authorize", clientIp(c, config.trustProxy));
      if (wait !== undefined) return tooManyRequests(ctx, wait);
      const query = new URL(c.req.url).search.slice(1);
      if (query.length > MAX_QUERY) {
        return messagePage(ctx, 414, "Sign-in failed", "The sign-in request is too long.");
      }
      const read = await readAuthorizationRequest(query, services.clients, {
        openidAvailable: idTokenKey(services.keys()) !== undefined,
      });
      if (!read.ok) {
        return "page" in read
          ? messagePage(ctx, 400, "Sign-in failed", read.page)
          : redirect(errorUrl(read.redirect, config.issuer), 302);
      }
      const request = read.request;
      const live = await services.browserSessions.current(
        readCookie(c.req.header("Cookie"), names.session),
      );
      if (!mustSignIn(request, live, services.now())) {
        return redirect(await codeRedirect(ctx, request, live!), 302);
      }
      if (request.prompt === "none") {
        return redirect(
          errorUrl({
            redirectUri: request.redirectUri,
            state: request.state,
            error: "login_required",
            description: "the user is not signed in",
          }, config.issuer),
          302,
        );
      }
      return loginForm(c, ctx, request);
    } catch (err) {
      return failurePage(ctx, "/authorize", err);
    }
  });
}
