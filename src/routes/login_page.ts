/**
 * The forms of the login page of `/authorize`:
 *
 * - `POST /authorize/login`: user name and password, through the login service `POST /login`
 *   uses (the same per-account, per-client and per-device limits, the same dummy hash for
 *   unknown users). A wrong password shows the form again with one generic message. A user with
 *   a second factor gets the second step: an `mfa_token` (`mfa/mfa_login.ts`) in an HttpOnly
 *   cookie that lives 5 minutes, bound to this browser's CSRF cookie, and the code form.
 * - `POST /authorize/mfa`: the second step's code, recovery code or passkey, checked by the
 *   rules of `POST /login/mfa` (one definition: `mfaLogin.pass`).
 * - `POST /authorize/passkey`: a discoverable passkey alone (the page's script posts the
 *   assertion), under the client's login limit.
 * - `GET /authorize/passkey.js`: that script (the page's CSP admits it by nonce).
 * - `POST /authorize/continue`: the "Continue as" page a signed-in browser answers before a
 *   public client gets its code (`mustConfirm` in `browser/authorize_flow.ts`): the code for
 *   the browser session the page was shown for, or `access_denied` for Cancel. No new sign-in:
 *   the browser session, and what it issued to other applications, stay as they are.
 *
 * Every form checks its CSRF token first (a form posted from another site is refused before
 * anything else is read) and reads the authorization request it carries with the validator of
 * `GET /authorize`. On success: a new browser session with the `amr` the sign-in proved, a
 * device token in an HttpOnly cookie, and the code.
 *
 * @module
 */
import type { Context } from "hono";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { AppContext, AppRouter } from "../app_types.ts";
import { type AuthorizationRequest, errorUrl } from "../browser/authorization_request.ts";
import {
  codeRedirect,
  failurePage,
  loginForm,
  messagePage,
  mustConfirm,
  mustSignIn,
  readRequest,
  redirect,
  secondStepForm,
  signedInRedirect,
} from "../browser/authorize_flow.ts";
import {
  browserBinding,
  cookieNames,
  csrfTokenMatches,
  deriveCsrfKey,
  readCookie,
  setCookieValue,
} from "../browser/cookies.ts";
import { LOGIN_SCRIPT } from "../browser/login_page.ts";
import { clientIp } from "../client_ip.ts";
import { ApiError } from "../errors.ts";
import { AMR_PASSWORD, MFA_TOKEN_TTL_MS, type PresentedFactor } from "../mfa/mfa_login.ts";
import { limitBody } from "../middleware/json_body.ts";
import { isCredentialId } from "../passkeys/credential_id.ts";
import { passkeyUser } from "../passkeys/passkey_service.ts";
import { type UserRecord, userUid } from "../users/user_store.ts";
import { isFormBody } from "../http/form_body.ts";
import { readText } from "../http/read_body.ts";
import { LoginBody } from "./schemas.ts";

/** What the form says for a wrong user name, password, or a disabled account alike. */
export const WRONG_CREDENTIALS = "The user name or password is incorrect.";
/** What the second step says for a wrong, expired or used code. */
export const WRONG_CODE = "The code is incorrect or was already used.";
/** What the login form says when the second step is gone (expired, spent, never started). */
export const STEP_ENDED = "Your sign-in took too long or was interrupted. Sign in again.";
const PASSKEY_REFUSED = "The passkey was not accepted. Try again, or sign in with your password.";
/** The longest passkey assertion read (a few hundred bytes in practice). */
const MAX_ASSERTION = 8192;

/** A form that passed its CSRF check and carries a valid authorization request. */
interface CheckedForm {
  readonly form: URLSearchParams;
  readonly request: AuthorizationRequest;
  readonly cookies: string | undefined;
  readonly csrfCookie: string;
}

/** Registers the login page's forms and script. */
export function loginPageRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config } = ctx;
  const names = cookieNames(config.issuer);
  const csrfKey = deriveCsrfKey(config.secretKey);
  /** The pending second step's cookie (`maxAge` 0 clears it). */
  const stepCookie = (value: string, maxAge: number) =>
    setCookieValue(names, names.mfa, value, { maxAge, sameSite: "Strict" });
  const clearStep = stepCookie("", 0);

  /** The CSRF check and the carried request, or the page that refuses the form. */
  async function checkForm(c: Context): Promise<CheckedForm | Response> {
    if (!isFormBody(c.req.header("Content-Type"))) {
      return messagePage(ctx, 415, "Sign-in failed", "The form was not sent as a form.");
    }
    const form = new URLSearchParams(await readText(c));
    const cookies = c.req.header("Cookie");
    const csrfCookie = readCookie(cookies, names.csrf);
    if (!csrfTokenMatches(csrfKey, csrfCookie, form.get("csrf_token") ?? "")) {
      return messagePage(
        ctx,
        403,
        "Sign-in failed",
        "This form has expired or did not come from this site. Go back to the application " +
          "and start signing in again.",
      );
    }
    const read = await readRequest(ctx, form.get("request") ?? "");
    if (!read.ok) {
      return "page" in read
        ? messagePage(ctx, 400, "Sign-in failed", read.page)
        : redirect(errorUrl(read.redirect, config.issuer), 303);
    }
    return { form, request: read.request, cookies, csrfCookie: csrfCookie! };
  }

  /** The form again for a refused attempt: 429 with Retry-After, else `undefined`. */
  function tooMany(err: ApiError, show: (error: string) => Response): Response | undefined {
    if (err.code !== "too_many_attempts") return undefined;
    const response = show(
      `Too many attempts. Try again in ${err.headers["Retry-After"] ?? "a few"} seconds.`,
    );
    response.headers.set("retry-after", err.headers["Retry-After"] ?? "60");
    return response;
  }

  /** What the second step offers a user: recovery codes when some are left, their passkeys. */
  async function offered(user: UserRecord) {
    const methods = services.mfa.methodsOf((await services.mfa.read(user))?.value) ?? [];
    const passkeys = services.passkeys.relyingParty !== undefined &&
      (await services.stores.passkeys.listPasskeys(userUid(user))).length > 0;
    return { recoveryCodes: methods.includes("recovery_code"), passkeys };
  }

  app.use("/authorize/login", limitBody());
  app.post("/authorize/login", async (c) => {
    try {
      const checked = await checkForm(c);
      if (checked instanceof Response) return checked;
      const { form, request, cookies } = checked;
      const userId = form.get("user_id") ?? "";
      const parsed = LoginBody.safeParse({ user_id: userId, password: form.get("password") ?? "" });
      if (!parsed.success) {
        return loginForm(c, ctx, request, {
          status: 400,
          error: userId === "" ? "Enter your user name." : "Enter your user name and password.",
          userId: userId.slice(0, 128),
        });
      }
      const client = clientIp(c, config.trustProxy);
      let signedIn;
      try {
        signedIn = await services.login.signIn({
          userId: parsed.data.user_id,
          password: parsed.data.password,
          client,
          deviceToken: readCookie(cookies, names.device),
        });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.code === "invalid_credentials") {
          return loginForm(c, ctx, request, { status: 401, error: WRONG_CREDENTIALS, userId });
        }
        const refused = tooMany(
          err,
          (error) => loginForm(c, ctx, request, { status: 429, error, userId }),
        );
        if (refused) return refused;
        throw err;
      }
      const { user, budget } = signedIn;
      // A user with a second factor: the step, bound to this browser; never a session yet.
      const step = await services.mfaLogin.challenge(
        user,
        request.role ?? user.roles[0] ?? "",
        undefined,
        budget,
        client,
        browserBinding(checked.csrfCookie),
      );
      if (step) {
        return secondStepForm(c, ctx, request, {
          ...(await offered(user)),
          cookies: [stepCookie(step.mfa_token, MFA_TOKEN_TTL_MS / 1000)],
        });
      }
      const versioned = { value: user, versionstamp: user.versionstamp };
      // No second step: the user had no active factor when `challenge` looked.
      const proof = { amr: AMR_PASSWORD, factors: undefined };
      return await signedInRedirect(c, ctx, request, { user: versioned, proof, client });
    } catch (err) {
      return failurePage(ctx, "/authorize/login", err);
    }
  });

  app.use("/authorize/mfa", limitBody());
  app.post("/authorize/mfa", async (c) => {
    try {
      const checked = await checkForm(c);
      if (checked instanceof Response) return checked;
      const { form, request, cookies } = checked;
      const mfaToken = readCookie(cookies, names.mfa);
      const ended = () =>
        loginForm(c, ctx, request, { status: 401, error: STEP_ENDED, cookies: [clearStep] });
      if (mfaToken === undefined || mfaToken === "") return ended();
      const presented = presentedFactor(form);
      if (presented === undefined) {
        return stepAgain(c, request, 400, "Enter the code.");
      }
      if ("invalid" in presented) return stepAgain(c, request, 400, PASSKEY_REFUSED);
      const client = clientIp(c, config.trustProxy);
      let passed;
      try {
        passed = await services.mfaLogin.pass({
          ...presented,
          mfaToken,
          client,
          browser: browserBinding(checked.csrfCookie),
        });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.code === "invalid_mfa_token") return ended();
        if (err.code === "invalid_code" || err.code === "invalid_passkey") {
          const message = err.code === "invalid_code" ? WRONG_CODE : PASSKEY_REFUSED;
          return stepAgain(c, request, 401, message);
        }
        const refused = tooMany(err, (error) => stepAgain(c, request, 429, error));
        if (refused) return refused;
        throw err;
      }
      const user = { value: passed.user, versionstamp: passed.user.versionstamp };
      return await signedInRedirect(c, ctx, request, { user, proof: passed, client }, [
        clearStep,
      ]);
    } catch (err) {
      return failurePage(ctx, "/authorize/mfa", err);
    }
  });

  /** The second step's form again, with what the user still has to offer. */
  function stepAgain(
    c: Context,
    request: AuthorizationRequest,
    status: 400 | 401 | 429,
    error: string,
  ): Response {
    // Shown again without reading whose step it is (a step from another browser learns
    // nothing): the code, a recovery code, and a passkey where the server has a relying party.
    return secondStepForm(c, ctx, request, {
      status,
      error,
      recoveryCodes: true,
      passkeys: services.passkeys.relyingParty !== undefined,
    });
  }

  app.use("/authorize/passkey", limitBody());
  app.post("/authorize/passkey", async (c) => {
    try {
      const checked = await checkForm(c);
      if (checked instanceof Response) return checked;
      const { form, request } = checked;
      const presented = presentedFactor(form);
      const refusedForm = (status: 400 | 401) =>
        loginForm(c, ctx, request, { status, error: PASSKEY_REFUSED });
      if (presented === undefined || !("passkey" in presented)) return refusedForm(400);
      const client = clientIp(c, config.trustProxy);
      let user;
      let amr;
      try {
        // Every passkey sign-in spends from the client's login limit, as a password does.
        await services.login.spendClientAttempt(client);
        const signIn = await services.passkeys.authenticate(
          presented.passkey.challengeId,
          presented.passkey.response,
        );
        user = await passkeyUser(services.stores.users, signIn);
        amr = signIn.amr;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.code === "invalid_passkey" || err.code === "invalid_credentials") {
          return refusedForm(401);
        }
        const refused = tooMany(err, (error) => loginForm(c, ctx, request, { status: 429, error }));
        if (refused) return refused;
        throw err;
      }
      // A passkey proved possession: its device token counts under the factor the user has now.
      const proof = { amr, factors: await services.mfaLogin.factorStamp(user.value) };
      return await signedInRedirect(c, ctx, request, { user, proof, client });
    } catch (err) {
      return failurePage(ctx, "/authorize/passkey", err);
    }
  });

  app.use("/authorize/continue", limitBody());
  app.post("/authorize/continue", async (c) => {
    try {
      const checked = await checkForm(c);
      if (checked instanceof Response) return checked;
      const { form, request, cookies } = checked;
      if (form.get("decision") === "cancel") {
        return redirect(
          errorUrl({
            redirectUri: request.redirectUri,
            state: request.state,
            error: "access_denied",
            description: "the user declined",
          }, config.issuer),
          303,
        );
      }
      const live = await services.browserSessions.current(readCookie(cookies, names.session));
      // Only the session the page was shown for, and only while it still would get a code: a
      // browser signed out, or signed in as someone else meanwhile, signs in again.
      if (
        form.get("decision") !== "continue" || !mustConfirm(request) || live === undefined ||
        form.get("session") !== live.session.sid || mustSignIn(request, live, services.now())
      ) {
        return loginForm(c, ctx, request);
      }
      return redirect(await codeRedirect(ctx, request, live), 303);
    } catch (err) {
      return failurePage(ctx, "/authorize/continue", err);
    }
  });

  app.get("/authorize/passkey.js", () =>
    new Response(LOGIN_SCRIPT, {
      headers: {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      },
    }));
}

/**
 * The factor a second-step (or passkey) form presents: a TOTP code, a recovery code, or a
 * passkey assertion (`{invalid}` when its JSON is malformed); `undefined` when none is filled in.
 */
function presentedFactor(
  form: URLSearchParams,
): PresentedFactor | { invalid: true } | undefined {
  const code = (form.get("code") ?? "").trim();
  if (code !== "") return { code: code.slice(0, 64) };
  const recoveryCode = (form.get("recovery_code") ?? "").trim();
  if (recoveryCode !== "") return { recoveryCode: recoveryCode.slice(0, 64) };
  const challengeId = form.get("passkey_challenge_id") ?? "";
  const json = form.get("passkey_response") ?? "";
  if (challengeId === "" && json === "") return undefined;
  const response = assertionOf(json);
  if (challengeId.length > 64 || response === undefined) return { invalid: true };
  return { passkey: { challengeId, response } };
}

/** A WebAuthn assertion as `PublicKeyCredential.toJSON()` gives it; the library checks the rest. */
function assertionOf(json: string): AuthenticationResponseJSON | undefined {
  if (json.length > MAX_ASSERTION) return undefined;
  try {
    const value = JSON.parse(json);
    const wellFormed = typeof value === "object" && value !== null &&
      typeof value.id === "string" && isCredentialId(value.id) &&
      typeof value.rawId === "string" && value.type === "public-key" &&
      typeof value.response === "object" && value.response !== null;
    return wellFormed ? value as AuthenticationResponseJSON : undefined;
  } catch {
    return undefined;
  }
}
