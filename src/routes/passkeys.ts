/**
 * Passkeys: `GET /me/passkeys`, `DELETE /me/passkeys/{id}`, registration options and response
 * (signed in), sign-in options and response (no password), and the small page `GET /passkeys`
 * with its script. The rules are in `passkeys/passkey_service.ts`.
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import type { AppContext, AppRouter } from "../app_types.ts";
import { clientIp } from "../client_ip.ts";
import { ApiError } from "../errors.ts";
import { basePath } from "../browser/login_page.ts";
import { PAGE_CSP, PASSKEY_SCRIPT, passkeyPage } from "../passkeys/passkey_page.ts";
import { passkeyUser } from "../passkeys/passkey_service.ts";
import { CREDENTIAL_ID_PATTERN, MAX_CREDENTIAL_ID_LENGTH } from "../passkeys/credential_id.ts";
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

/** A credential id (`passkeys/credential_id.ts`): unpadded base64url of at most 1,023 bytes. */
function credentialId(name: string) {
  return z.string({ error: `${name} is required` })
    .min(1, `${name} is required`)
    .max(MAX_CREDENTIAL_ID_LENGTH, `${name} must be at most ${MAX_CREDENTIAL_ID_LENGTH} characters`)
    .regex(CREDENTIAL_ID_PATTERN, `${name} must be base64url without padding`);
}

/** A WebAuthn response as `PublicKeyCredential.toJSON()` gives it; the library checks the rest. */
const CredentialJson = z.looseObject({
  id: credentialId("response.id"),
  rawId: credentialId("response.rawId"),
  type: z.literal("public-key", { error: 'response.type must be "public-key"' }),
  response: z.looseObject({}),
}).meta({ id: "PublicKeyCredentialJSON" });

/** The shape of a credential (what the browser's `toJSON()` gives), shortened. */
const credentialExample = {
  id: "3q2-7w",
  rawId: "3q2-7w",
  type: "public-key",
  response: { clientDataJSON: "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0" },
};
const RegistrationBody = bodyObject({ response: CredentialJson }).meta({
  id: "PasskeyRegistration",
  example: { response: credentialExample },
});
const SignInBody = bodyObject({
  challenge_id: z.string({ error: "challenge_id is required" }).min(1).max(64),
  response: CredentialJson,
}).meta({
  id: "PasskeySignIn",
  example: {
    challenge_id: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A",
    response: credentialExample,
  },
});
const EmptyBody = bodyObject({}).meta({ id: "Empty" });
const RegistrationOptionsBody = bodyObject({
  password: submittedPassword("password"),
  code: totpCode.optional().meta({
    description: "A current TOTP code: required when the user has TOTP active",
  }),
  device_token: deviceToken,
}).meta({
  id: "PasskeyRegistrationOptionsRequest",
  example: { password: "correct horse battery staple" },
});

const Passkey = z.object({
  id: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  backed_up: z.boolean(),
}).meta({ id: "Passkey" });
const PasskeyList = z.object({ passkeys: z.array(Passkey) }).meta({ id: "PasskeyList" });
const WebAuthnOptions = z.looseObject({ challenge: z.string() }).meta({
  id: "WebAuthnOptions",
  description: "PublicKeyCredentialCreationOptionsJSON or ...RequestOptionsJSON (WebAuthn L3)",
});
const SignInOptions = z.object({ challenge_id: z.string(), options: WebAuthnOptions })
  .meta({ id: "PasskeySignInOptions" });
const IdParam = z.object({
  id: credentialId("id").meta({ param: { name: "id", in: "path" } }),
});

const unauthorized = errorResponse("No valid bearer token");
const tooLarge = errorResponse("The body is over 16 KiB (`payload_too_large`)");
const notJson = errorResponse("Content-Type is not application/json (`unsupported_media_type`)");
const noRp = errorResponse("ISSUER is not an http(s) URL: no relying party (`not_found`)");
const iso = (ms: number) => new Date(ms).toISOString();
/** WebAuthn options as the plain JSON they are (optional members left out when unset). */
const plain = (options: { challenge: string }) =>
  JSON.parse(JSON.stringify(options)) as z.infer<typeof WebAuthnOptions>;

/** Registers the passkey routes and the page. */
export function passkeyRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config, requireUser } = ctx;
  const proofs = meProofs(ctx);

  app.openapi(
    createRoute({
      method: "get",
      path: "/passkeys",
      summary: "A small page to register a passkey and to sign in with one",
      responses: { 200: { content: { "text/html": { schema: z.string() } }, description: "Page" } },
    }),
    (c) => {
      c.header("Content-Security-Policy", PAGE_CSP);
      return c.html(passkeyPage(basePath(config.issuer)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/passkeys/page.js",
      summary: "The passkey page's script",
      responses: {
        200: { content: { "text/javascript": { schema: z.string() } }, description: "Script" },
      },
    }),
    (c) => c.body(PASSKEY_SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/me/passkeys",
      summary: "The signed-in user's passkeys",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      responses: {
        200: { content: { "application/json": { schema: PasskeyList } }, description: "List" },
        401: unauthorized,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const user = await services.users.get(c.get("auth").sub);
      const passkeys = (await services.passkeys.list(user)).map((p) => ({
        id: p.id,
        created_at: iso(p.createdAt),
        last_used_at: p.lastUsedAt === undefined ? null : iso(p.lastUsedAt),
        backed_up: p.backedUp,
      }));
      return c.json({ passkeys }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/me/passkeys/{id}",
      summary: "Remove one of the signed-in user's passkeys",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { params: IdParam },
      responses: {
        204: { description: "Removed" },
        400: errorResponse("An id that is no credential id (`validation_failed`)"),
        401: unauthorized,
        404: errorResponse("Not a passkey of this user (`not_found`)"),
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const user = await services.users.get(c.get("auth").sub);
      await services.passkeys.remove(user, c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/me/passkeys/registration/options",
      summary: "Options for navigator.credentials.create (a discoverable passkey, UV required), " +
        "proven with the password (and a current TOTP code when TOTP is active)",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { body: jsonBody(RegistrationOptionsBody) },
      responses: {
        200: {
          content: { "application/json": { schema: WebAuthnOptions } },
          description: "WebAuthn options",
        },
        400: errorResponse("A malformed body"),
        401: errorResponse(
          "No valid bearer token, `invalid_credentials` (wrong password), or `invalid_code` " +
            "(TOTP is active and the code is missing, wrong or used)",
        ),
        404: noRp,
        409: errorResponse("The user has the most passkeys allowed (`conflict`)"),
        413: tooLarge,
        415: notJson,
        429: errorResponse(
          "Too many attempts for this client, account or session (`too_many_attempts`); " +
            "see Retry-After",
        ),
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const claims = c.get("auth");
      const user = await services.users.get(claims.sub);
      // An access token alone may be stolen: a passkey would outlive it, a password change
      // and a global logout, so adding one takes proof of the user now (me_proofs.ts). The
      // registration itself answers only the challenge made here.
      await proofs.requirePresence(c, claims, user, c.req.valid("json"));
      return c.json(plain(await services.passkeys.registrationOptions(user)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/me/passkeys/registration",
      summary: "Register a passkey: the response of navigator.credentials.create, as JSON",
      security: [{ bearer: [] }],
      middleware: [requireUser] as const,
      request: { body: jsonBody(RegistrationBody) },
      responses: {
        201: { content: { "application/json": { schema: Passkey } }, description: "Registered" },
        400: errorResponse("A malformed body"),
        401: errorResponse("No valid bearer token, or `invalid_passkey` (not verified)"),
        404: noRp,
        409: errorResponse("Already registered (`conflict`)"),
        413: tooLarge,
        415: notJson,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const user = await services.users.get(c.get("auth").sub);
      const { response } = c.req.valid("json");
      const passkey = await services.passkeys.register(
        user,
        response as unknown as RegistrationResponseJSON,
      );
      return c.json({
        id: passkey.id,
        created_at: iso(passkey.createdAt),
        last_used_at: null,
        backed_up: passkey.backedUp,
      }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/passkeys/authentication/options",
      summary: "Options for navigator.credentials.get: sign in with any passkey of this server",
      request: { body: jsonBody(EmptyBody) },
      responses: {
        200: {
          content: { "application/json": { schema: SignInOptions } },
          description: "WebAuthn options",
        },
        404: noRp,
        413: tooLarge,
        415: notJson,
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const { challenge_id, options } = await services.passkeys.authenticationOptions();
      return c.json({ challenge_id, options: plain(options) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/passkeys/authentication",
      summary: "Sign in with a passkey alone: the response of navigator.credentials.get",
      request: { body: jsonBody(SignInBody) },
      responses: {
        200: {
          content: { "application/json": { schema: LoginAnswer } },
          description: 'Signed in (the /login answer); amr ["hwk", "user"] (or "swk")',
        },
        400: errorResponse("A malformed body"),
        401: errorResponse(
          "`invalid_passkey` (unknown passkey, used or expired challenge, wrong origin or RP, " +
            "no user verification, a counter that did not grow), `invalid_credentials` (the " +
            "user is disabled or gone)",
        ),
        404: noRp,
        413: tooLarge,
        415: notJson,
        429: errorResponse("The client's login limit (`too_many_attempts`, Retry-After)"),
        503: storeUnavailable,
      },
    }),
    async (c) => {
      const { challenge_id, response } = c.req.valid("json");
      const client = clientIp(c, config.trustProxy);
      // Every sign-in spends from the client's login limit, as a password does.
      await services.login.spendClientAttempt(client);
      const signIn = await services.passkeys.authenticate(
        challenge_id,
        response as unknown as AuthenticationResponseJSON,
      );
      const user = await passkeyUser(services.stores.users, signIn);
      const role = user.value.roles[0];
      if (role === undefined) throw new ApiError("invalid_credentials", "invalid credentials");
      const answer = await services.login.steps.finish(
        { ...user.value, versionstamp: user.versionstamp },
        role,
        client,
        undefined,
        // A passkey proved possession: its device token counts under the factor the user has now.
        { amr: signIn.amr, factors: await services.mfaLogin.factorStamp(user.value) },
      );
      return c.json(answer, 200);
    },
  );
}
