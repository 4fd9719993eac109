/**
 * `GET` and `POST /end-session`: OpenID Connect RP-Initiated Logout 1.0. Parameters:
 * `id_token_hint`, `client_id`, `post_logout_redirect_uri`, `state`.
 *
 * - `post_logout_redirect_uri` is honoured only when it is, as an exact string, one the client
 *   registered (section 3; RFC 9700 section 4.11.1: never an open redirector), the client named
 *   by the hint's `aud` or by `client_id` (which must then agree). Otherwise: our own page, no
 *   redirect.
 * - With a valid hint for the browser's current session (or when the browser has none), the
 *   session ends at once. Without one, anyone could log a user out with a link or an image tag
 *   (logout CSRF), so the person is asked first (section 2: "the OP SHOULD ask the End-User"): a
 *   form with a CSRF token, posted back here with `confirm=yes`.
 *
 * Ending it deletes the browser session (single sign-on ends), clears its cookie, and revokes
 * every token session that sign-in issued to applications (`browser/sign_out.ts`). Each address
 * has a budget of requests (`browser/page_limits.ts`); past it, a 429 page with `Retry-After`.
 *
 * @module
 */
import type { Context } from "hono";
import type { AppContext, AppRouter } from "../app_types.ts";
import {
  csrfFor,
  failurePage,
  messagePage,
  redirect,
  tooManyRequests,
} from "../browser/authorize_flow.ts";
import { responseUrlWithoutIssuer } from "../browser/authorization_request.ts";
import {
  cookieNames,
  csrfTokenMatches,
  deriveCsrfKey,
  readCookie,
  setCookieValue,
} from "../browser/cookies.ts";
import { basePath, newNonce, pageHeaders, renderLogoutConfirmPage } from "../browser/login_page.ts";
import { clientIp } from "../client_ip.ts";
import { isFormBody } from "../http/form_body.ts";
import { readText } from "../http/read_body.ts";
import { limitBody } from "../middleware/json_body.ts";
import { readIdTokenHint } from "../oidc/id_token_hint.ts";

const MAX_STATE = 2048;

/** Registers `/end-session`. */
export function endSessionRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  const names = cookieNames(config.issuer);
  const csrfKey = deriveCsrfKey(config.secretKey);

  async function endSession(c: Context, params: URLSearchParams, posted: boolean) {
    const wait = services.pageLimits.count("end_session", clientIp(c, config.trustProxy));
    if (wait !== undefined) return tooManyRequests(ctx, wait);
    for (const name of params.keys()) {
      if (params.getAll(name).length > 1) {
        return messagePage(ctx, 400, "Sign-out failed", `${name.slice(0, 64)} is repeated.`);
      }
    }
    const get = (name: string) => params.get(name) || undefined;
    const hintToken = get("id_token_hint");
    const hint = hintToken === undefined
      ? undefined
      : await readIdTokenHint(hintToken, services.keys(), config.issuer);
    if (hintToken !== undefined && !hint) {
      return messagePage(ctx, 400, "Sign-out failed", "The id_token_hint is not valid.");
    }
    const clientId = get("client_id");
    if (hint && clientId !== undefined && clientId !== hint.clientId) {
      return messagePage(ctx, 400, "Sign-out failed", "client_id differs from the hint's.");
    }
    const state = get("state");
    if (state !== undefined && state.length > MAX_STATE) {
      return messagePage(ctx, 400, "Sign-out failed", "state is too long.");
    }
    const target = get("post_logout_redirect_uri");
    const client = hint?.clientId ?? clientId;
    if (target !== undefined) {
      const registered = client === undefined
        ? undefined
        : (await services.clients.lookup(client))?.postLogoutRedirectUris;
      if (!registered?.includes(target)) {
        return messagePage(
          ctx,
          400,
          "Sign-out failed",
          "The post_logout_redirect_uri is not one this application registered.",
        );
      }
    }

    const cookie = readCookie(c.req.header("Cookie"), names.session);
    const live = await services.browserSessions.current(cookie);
    const confirmed = posted && get("confirm") === "yes" &&
      csrfTokenMatches(csrfKey, readCookie(c.req.header("Cookie"), names.csrf), get("csrf_token"));
    const proven = hint !== undefined && (live === undefined || live.session.sid === hint.sid);
    if (live && !proven && !confirmed) {
      const csrf = csrfFor(c, ctx);
      const nonce = newNonce();
      const hidden: Record<string, string> = { csrf_token: csrf.token };
      if (client !== undefined) hidden.client_id = client;
      if (target !== undefined) hidden.post_logout_redirect_uri = target;
      if (state !== undefined) hidden.state = state;
      const headers = new Headers(pageHeaders(nonce));
      headers.append("set-cookie", csrf.setCookie);
      return new Response(
        renderLogoutConfirmPage(
          config.branding,
          nonce,
          `${basePath(config.issuer)}/end-session`,
          hidden,
        ),
        {
          status: 200,
          headers,
        },
      );
    }

    // Read, not deleted: endSignIn deletes it after revoking what it issued (a retry of a
    // sign-out that failed partway finds it again).
    const ended = await services.browserSessions.stored(cookie);
    if (ended) {
      // The sign-in ends whole: the token sessions it issued to applications too (sign_out.ts).
      await services.signOut.endSignIn(
        { userUid: ended.value.userUid, browserSessionKey: ended.value.key },
        "end-session",
      );
    }
    const cleared = setCookieValue(names, names.session, "", { maxAge: 0, sameSite: "Lax" });
    if (target !== undefined) {
      return redirect(responseUrlWithoutIssuer(target, { state }), posted ? 303 : 302, [cleared]);
    }
    const page = messagePage(ctx, 200, "Signed out", "You are signed out.");
    page.headers.append("set-cookie", cleared);
    return page;
  }

  app.get("/end-session", async (c) => {
    try {
      return await endSession(c, new URL(c.req.url).searchParams, false);
    } catch (err) {
      return failurePage(ctx, "/end-session", err);
    }
  });
  app.use("/end-session", limitBody());
  app.post("/end-session", async (c) => {
    try {
      const body = isFormBody(c.req.header("Content-Type")) ? await readText(c) : "";
      return await endSession(c, new URLSearchParams(body), true);
    } catch (err) {
      return failurePage(ctx, "/end-session", err);
    }
  });
}
