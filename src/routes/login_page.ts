/**
 * `POST /authorize/login`: the login form of `/authorize`. It checks the CSRF token first (a
 * form posted from another site is refused before anything else is read), reads the
 * authorization request it carries with the same validator as `GET /authorize`, and checks the
 * credentials through the login service `POST /login` uses (the same per-account, per-client and
 * per-device limits, the same dummy hash for unknown users, a device token kept in an HttpOnly
 * cookie). A wrong password shows the form again with one generic message. On success: a new
 * browser session (any older one of this browser ends: no session fixation) and the code.
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
  redirect,
} from "../browser/authorize_flow.ts";
import {
  cookieNames,
  csrfTokenMatches,
  deriveCsrfKey,
  readCookie,
  setCookieValue,
} from "../browser/cookies.ts";
import { clientIp } from "../client_ip.ts";
import { ApiError } from "../errors.ts";
import { limitBody } from "../middleware/json_body.ts";
import { idTokenKey } from "../oidc/id_token.ts";
import { LoginBody } from "./schemas.ts";

const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";
/** What the form says for a wrong user name, password, or a disabled account alike. */
export const WRONG_CREDENTIALS = "The user name or password is incorrect.";

/** Registers `POST /authorize/login`. */
export function loginPageRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  const names = cookieNames(config.issuer);
  const csrfKey = deriveCsrfKey(config.secretKey);

  app.use("/authorize/login", limitBody());
  app.post("/authorize/login", async (c) => {
    try {
      const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
      if (mediaType !== FORM_MEDIA_TYPE) {
        return messagePage(ctx, 415, "Sign-in failed", "The form was not sent as a form.");
      }
      const form = new URLSearchParams(await c.req.text());
      const cookies = c.req.header("Cookie");
      if (
        !csrfTokenMatches(csrfKey, readCookie(cookies, names.csrf), form.get("csrf_token") ?? "")
      ) {
        return messagePage(
          ctx,
          403,
          "Sign-in failed",
          "This form has expired or did not come from this site. Go back to the application " +
            "and start signing in again.",
        );
      }
      const read = await readAuthorizationRequest(form.get("request") ?? "", services.clients, {
        openidAvailable: idTokenKey(services.keys()) !== undefined,
      });
      if (!read.ok) {
        return "page" in read
          ? messagePage(ctx, 400, "Sign-in failed", read.page)
          : redirect(errorUrl(read.redirect, config.issuer), 303);
      }
      const request = read.request;
      const userId = form.get("user_id") ?? "";
      const parsed = LoginBody.safeParse({ user_id: userId, password: form.get("password") ?? "" });
      if (!parsed.success) {
        return loginForm(c, ctx, request, {
          status: 400,
          error: userId === "" ? "Enter your user name." : "Enter your user name and password.",
          userId: userId.slice(0, 128),
        });
      }
      let signedIn;
      try {
        signedIn = await services.login.signIn({
          userId: parsed.data.user_id,
          password: parsed.data.password,
          client: clientIp(c, config.trustProxy),
          deviceToken: readCookie(cookies, names.device),
        });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.code === "invalid_credentials") {
          return loginForm(c, ctx, request, { status: 401, error: WRONG_CREDENTIALS, userId });
        }
        if (err.code === "too_many_attempts") {
          const response = loginForm(c, ctx, request, {
            status: 429,
            error: `Too many attempts. Try again in ${
              err.headers["Retry-After"] ?? "a few"
            } seconds.`,
            userId,
          });
          response.headers.set("retry-after", err.headers["Retry-After"] ?? "60");
          return response;
        }
        throw err;
      }
      await services.browserSessions.end(readCookie(cookies, names.session));
      const { cookieValue, session } = await services.browserSessions.start(signedIn.user, [
        "pwd",
      ]);
      const user = { value: signedIn.user, versionstamp: signedIn.user.versionstamp };
      const location = await codeRedirect(ctx, request, { session, user });
      const now = services.now();
      return redirect(location, 303, [
        setCookieValue(names, names.session, cookieValue, {
          maxAge: (session.expiresAt - now) / 1000,
          sameSite: "Lax",
        }),
        setCookieValue(names, names.device, signedIn.deviceToken, {
          maxAge: config.deviceTokenTtl,
          sameSite: "Strict",
        }),
      ]);
    } catch (err) {
      return failurePage(ctx, "/authorize/login", err);
    }
  });
}
