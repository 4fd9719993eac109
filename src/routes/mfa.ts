/**
 * The second factor's routes: `POST /login/mfa` (a login's second step) and the signed-in user's
 * own factors under `/me/mfa` (TOTP enrolment, its removal, new recovery codes). The rules live
 * in `mfa/mfa_service.ts` and `mfa/mfa_login.ts`; this file parses and answers.
 *
 * Every code checked here for an active factor spends from the client's login limit and the
 * session's own budget first, and starting an enrolment takes the password (`me_proofs.ts`).
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { Context } from "hono";
import type { AppContext, AppEnv, AppRouter } from "../app_types.ts";
import { clientIp } from "../client_ip.ts";
import { ApiError } from "../errors.ts";
import type { PresentedCode } from "../mfa/mfa_service.ts";
import { MfaStatusSchema, RecoveryCodesSchema, TotpEnrolmentSchema } from "../wire.ts";
import { meProofs } from "./me_proofs.ts";
import {
  bodyObject,
  deviceToken,
  errorResponse,
  jsonBody,
  LoginAnswer,
  storeUnavailable,
  submittedPassword,
  totpCode,
  z,
} from "./schemas.ts";

/** A string field whose messages name it. */
function text(name: string, max: number) {
  return z.string({
    error: (issue) =>
      issue.input === undefined ? `${name} is required` : `${name} must be a string`,
  }).min(1, `${name} is required`).max(max, `${name} must be at most ${max} characters`);
}

const code = totpCode;
const recoveryCode = text("recovery_code", 64).meta({ example: "abcd-efgh-ijkl-mnop" });

const SecondStepBody = bodyObject({
  mfa_token: text("mfa_token", 64),
  code: code.optional(),
  recovery_code: recoveryCode.optional(),
}).meta({
  id: "SecondStepRequest",
  example: { mfa_token: "q7m0kQ3o1mYb7Jm2m3u0kq6o0ZpM2C1cRk4n4fQh0aA", code: "123456" },
});
const CodeBody = bodyObject({ code }).meta({ id: "CodeRequest", example: { code: "123456" } });
const EnrolBody = bodyObject({
  password: submittedPassword("password"),
  device_token: deviceToken,
}).meta({
  id: "TotpEnrolmentRequest",
  example: { password: "correct horse battery staple" },
});
const RemoveBody = bodyObject({
  code: code.optional(),
  recovery_code: recoveryCode.optional(),
}).meta({ id: "MfaRemoveRequest", example: { code: "123456" } });

const TotpEnrolment = TotpEnrolmentSchema.meta({ id: "TotpEnrolment" });
const RecoveryCodes = RecoveryCodesSchema.meta({ id: "RecoveryCodes" });
const MfaStatus = MfaStatusSchema.meta({ id: "MfaStatus" });

const unauthorized = errorResponse("No valid bearer token (`invalid_token`, `missing_token`)");
const tooLarge = errorResponse("The body is over 16 KiB (`payload_too_large`)");
const notJson = errorResponse("Content-Type is not application/json (`unsupported_media_type`)");
const tooMany = errorResponse(
  "Too many attempts for this client, account or session (`too_many_attempts`); see Retry-After",
);

/** Exactly one of `code` and `recovery_code`. */
function oneOf<A extends string, B extends string>(
  body: { readonly [K in A | B]?: string | undefined },
  a: A,
  b: B,
): void {
  if ((body[a] === undefined) === (body[b] === undefined)) {
    throw new ApiError("validation_failed", `give exactly one of ${a} and ${b}`);
  }
}

/** Registers `POST /login/mfa` and the `/me/mfa` routes. */
export function mfaRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config, requireUser } = ctx;
  const client = (c: Context<AppEnv>) => clientIp(c, config.trustProxy);
  const proofs = meProofs(ctx);

  app.openapi(
    createRoute({
      method: "post",
      path: "/login/mfa",
      summary: "Finish a login with a second factor: the mfa_token of POST /login and a code",
      request: { body: jsonBody(SecondStepBody) },
      responses: {
        200: {
          content: { "application/json": { schema: LoginAnswer } },
          description: "Signed in (the /login answer); the tokens carry amr [pwd, otp]",
        },
        400: errorResponse("Malformed JSON, a missing field, or both or neither of the codes"),
        401: errorResponse(
          "`invalid_code` (wrong, expired or used), `invalid_mfa_token` (unknown, expired, " +
            "spent, or ended by the fifth wrong code; sign in again)",
        ),
        413: tooLarge,
        415: notJson,
        429: tooMany,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      oneOf(body, "code", "recovery_code");
      const presented: PresentedCode = body.code !== undefined
        ? { code: body.code }
        : { recoveryCode: body.recovery_code! };
      const answer = await services.mfaLogin.complete({
        mfaToken: body.mfa_token,
        client: client(c),
        ...presented,
      });
      return c.json(answer, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/me/mfa",
      summary: "The signed-in user's second factors",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      responses: {
        200: { content: { "application/json": { schema: MfaStatus } }, description: "Status" },
        401: unauthorized,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const user = await services.users.get(c.get("auth").sub);
      const record = (await services.mfa.read(user))?.value;
      return c.json({
        totp: record?.totp
          ? "active" as const
          : record?.pending
          ? "pending" as const
          : "none" as const,
        recovery_codes_left: record?.totp ? record.recoveryCodes.length : 0,
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/me/mfa/totp",
      summary:
        "Start TOTP enrolment, proven with the password: a new secret, pending until confirmed",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { body: jsonBody(EnrolBody) },
      responses: {
        200: {
          content: { "application/json": { schema: TotpEnrolment } },
          description: "The secret and its otpauth URI; a new call replaces a pending one",
        },
        400: errorResponse("A malformed body"),
        401: errorResponse("No valid bearer token, or `invalid_credentials` (wrong password)"),
        409: errorResponse("TOTP is already active (`conflict`): remove it first"),
        413: tooLarge,
        415: notJson,
        429: tooMany,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      // An access token alone may be stolen: a factor that would lock the user out of their
      // own logins takes the password (under the login limits, as POST /me/password).
      await proofs.requirePassword(c, claims, c.req.valid("json"));
      const user = await services.users.get(claims.sub);
      return c.json(await services.mfa.enrolTotp(user), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/me/mfa/totp/confirm",
      summary: "Confirm TOTP enrolment with a first code; answers the recovery codes, once",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { body: jsonBody(CodeBody) },
      responses: {
        200: {
          content: { "application/json": { schema: RecoveryCodes } },
          description: "Active: logins now ask for a second step. Ten recovery codes, shown once",
        },
        400: errorResponse("A malformed body, or `invalid_enrolment_code` (wrong code)"),
        401: unauthorized,
        404: errorResponse("No pending enrolment (`not_found`)"),
        413: tooLarge,
        415: notJson,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const user = await services.users.get(claims.sub);
      const answer = await services.mfa.confirmTotp(user, c.req.valid("json").code);
      // Every session signed in before the factor existed (token and browser sessions alike)
      // proved the password alone: they end here, all but the caller's, as a password change
      // ends them. Else a session stolen earlier would outlive the new factor.
      const keep = claims.sid !== undefined ? { keepSession: claims.sid } : {};
      await services.users.update(user.id, { endSessions: true, ...keep });
      return c.json(answer, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/me/mfa/totp",
      summary: "Remove TOTP and the recovery codes, proven with a current code or a recovery code",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { body: jsonBody(RemoveBody) },
      responses: {
        204: { description: "Removed: logins ask for the password alone" },
        400: errorResponse("A malformed body, or both or neither of code and recovery_code"),
        401: errorResponse("No valid bearer token, or `invalid_code` (wrong, used or spent)"),
        404: errorResponse("No active second factor (`not_found`)"),
        413: tooLarge,
        415: notJson,
        429: tooMany,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const body = c.req.valid("json");
      oneOf(body, "code", "recovery_code");
      const presented: PresentedCode = body.code !== undefined
        ? { code: body.code }
        : { recoveryCode: body.recovery_code! };
      const user = await services.users.get(claims.sub);
      await proofs.underCodeLimits(c, claims, () => services.mfa.removeWithCode(user, presented));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/me/mfa/recovery-codes",
      summary: "A new set of recovery codes, proven with a current TOTP code; the old set dies",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { body: jsonBody(CodeBody) },
      responses: {
        200: {
          content: { "application/json": { schema: RecoveryCodes } },
          description: "Ten new codes, shown once",
        },
        400: errorResponse("A malformed body"),
        401: errorResponse("No valid bearer token, or `invalid_code`"),
        404: errorResponse("No active second factor (`not_found`)"),
        413: tooLarge,
        415: notJson,
        429: tooMany,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const user = await services.users.get(claims.sub);
      const { code } = c.req.valid("json");
      return c.json(
        await proofs.underCodeLimits(
          c,
          claims,
          () => services.mfa.regenerateRecoveryCodes(user, code),
        ),
        200,
      );
    },
  );
}
