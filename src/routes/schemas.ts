/**
 * Request and response schemas: they validate requests and generate `/openapi.json`, so the
 * documentation cannot drift from the behaviour.
 *
 * @module
 */
// The route modules take zod from here, and this module from wire.ts, not from "zod": Deno
// resolves each npm import of a module reached only through import() on its own at start-up
// (about 3 ms each, whether or not the module is ever loaded), and the route groups are loaded
// that way (lazy_routes.ts).
import {
  MAX_PASSWORD_LENGTH,
  MAX_ROLES,
  MAX_USER_ID_LENGTH,
  MIN_PASSWORD_LENGTH,
  newUserIdProblem,
  roleProblem,
  unicodeProblem,
  userIdProblem,
} from "../users/user_rules.ts";
import { MAX_DEVICE_TOKEN_LENGTH } from "../users/device_tokens.ts";
import { OPTIONAL_ACCESS_TOKEN_CLAIMS, type OptionalAccessTokenClaimName } from "../oidc/claims.ts";
import {
  ClaimsSchema,
  ErrorBodySchema,
  LoginAnswerSchema,
  MeSchema,
  PublicUserSchema,
  SessionInfoSchema,
  TokenPairSchema,
  z,
} from "../wire.ts";
export { z };

/** A string field whose messages name it: "x is required", "x must be a string". */
function text(name: string) {
  return z.string({
    error: (issue) =>
      issue.input === undefined ? `${name} is required` : `${name} must be a string`,
  });
}

/** A string field checked by one of the rules of `users/user_rules.ts`, with its message. */
function ruled(name: string, problem: (value: string) => string | undefined) {
  return text(name).superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: "custom", message });
  });
}

/** The message of a body that is JSON but not an object (`[]`, `"x"`, `null`). */
export const NOT_AN_OBJECT = "request body must be a JSON object";

/** A JSON request body's object schema, with our message when the body is not an object. */
export function bodyObject<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape, { error: NOT_AN_OBJECT });
}

const userId = ruled("user_id", userIdProblem)
  .meta({ example: "ada", minLength: 1, maxLength: MAX_USER_ID_LENGTH });
/** The id of a user being created: nothing that does not show (`newUserIdProblem`). */
const newUserId = ruled("user_id", newUserIdProblem)
  .meta({ example: "grace", minLength: 1, maxLength: MAX_USER_ID_LENGTH });
const role = ruled("role", roleProblem);
const roles = z.array(role, { error: "roles must be an array of strings" })
  .max(MAX_ROLES, `at most ${MAX_ROLES} roles`);
/** A password field (new or submitted) must be valid Unicode: see `unicodeProblem`. */
function wellFormed<T extends z.ZodType<string>>(name: string, field: T) {
  return field.superRefine((value, ctx) => {
    const message = unicodeProblem(name, value);
    if (message !== undefined) ctx.addIssue({ code: "custom", message });
  });
}

/** A new password: the rules of `passwordProblem`. */
const newPassword = wellFormed(
  "password",
  text("password")
    .min(MIN_PASSWORD_LENGTH, `password must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(MAX_PASSWORD_LENGTH, `password must be at most ${MAX_PASSWORD_LENGTH} characters`),
);

/** A password the caller submits to prove it is the user (checked, never stored). */
export function submittedPassword(name: string) {
  return wellFormed(
    name,
    text(name)
      .min(1, `${name} is required`)
      .max(MAX_PASSWORD_LENGTH, `${name} must be at most ${MAX_PASSWORD_LENGTH} characters`),
  );
}

/** A current TOTP code (`/me/mfa/*`, and a passkey registration while TOTP is active). */
export const totpCode = text("code")
  .min(1, "code is required")
  .max(16, "code must be at most 16 characters")
  .meta({ example: "123456", description: "A 6-digit TOTP code" });

/** A device token presented with a password: that device's own failure budget judges it. */
export const deviceToken = text("device_token")
  .max(
    MAX_DEVICE_TOKEN_LENGTH,
    `device_token must be at most ${MAX_DEVICE_TOKEN_LENGTH} characters`,
  )
  .optional()
  .meta({
    description:
      "The device_token of an earlier 200 for this user: judged by this device's own failure budget",
  });

export const LoginBody = bodyObject({
  user_id: userId,
  password: submittedPassword("password").meta({ example: "correct horse battery staple" }),
  role: role.optional().meta({ example: "user" }),
  device_token: deviceToken,
}).meta({
  id: "LoginRequest",
  example: { user_id: "ada", password: "correct horse battery staple", role: "user" },
});

export const RefreshBody = bodyObject({
  refresh_token: text("refresh_token")
    .min(1, "refresh_token is required")
    .max(512, "refresh_token is too long")
    .meta({ example: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A" }),
}).meta({
  id: "RefreshRequest",
  example: { refresh_token: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A" },
});

export const PasswordChangeBody = bodyObject({
  current_password: submittedPassword("current_password"),
  new_password: wellFormed(
    "new_password",
    text("new_password")
      .min(MIN_PASSWORD_LENGTH, `new_password must be at least ${MIN_PASSWORD_LENGTH} characters`)
      .max(MAX_PASSWORD_LENGTH, `new_password must be at most ${MAX_PASSWORD_LENGTH} characters`),
  ),
  device_token: deviceToken,
}).meta({
  id: "PasswordChangeRequest",
  example: { current_password: "correct horse battery staple", new_password: "a new long one" },
});

export const LogoutBody = RefreshBody.partial().meta({
  id: "LogoutRequest",
  example: { refresh_token: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A" },
});

export const SessionList = z.object({
  sessions: z.array(SessionInfoSchema.meta({ id: "Session" })),
}).meta({ id: "SessionList" });

export const TokenPair = TokenPairSchema.meta({
  id: "TokenPair",
  example: {
    token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiJhZGEifQ.c2ln",
    token_type: "Bearer",
    expires_in: 1800,
    refresh_token: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A",
  },
});

export const LoginAnswer = LoginAnswerSchema.meta({
  id: "LoginAnswer",
  example: {
    token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiJhZGEifQ.c2ln",
    token_type: "Bearer",
    expires_in: 1800,
    refresh_token: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A",
    device_token: "dt1.eyJ1IjoiYWRhIn0.c2ln",
  },
});

// `.exactOptional()` fields come out of the OpenAPI generator as required: `.partial` documents
// them as optional (the schema still accepts the same values).
export const Claims = ClaimsSchema.partial(
  Object.fromEntries(OPTIONAL_ACCESS_TOKEN_CLAIMS.map((name) => [name, true])) as {
    [K in OptionalAccessTokenClaimName]: true;
  },
).meta({
  id: "Claims",
  example: {
    sub: "ada",
    role: "user",
    iat: 1767225600,
    exp: 1767227400,
    iss: "http://localhost:10000",
    jti: "6f1c2b9e-1d7a-4c55-9a53-0f3e2d1c4b5a",
    sid: "0b7e0f4e-6a0e-4d39-8d9c-2d4b9d0f6a11",
  },
});

export const MeResponse = MeSchema.extend({ claims: Claims }).meta({ id: "Me" });

export const User = PublicUserSchema.meta({
  id: "User",
  example: {
    user_id: "ada",
    roles: ["user"],
    disabled: false,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
  },
});

export const NewUserBody = bodyObject({
  user_id: newUserId,
  password: newPassword,
  roles: roles.optional(),
}).meta({
  id: "NewUser",
  example: { user_id: "grace", password: "a long passphrase", roles: ["user", "editor"] },
});

export const UserPatchBody = bodyObject({
  roles: roles.optional(),
  disabled: z.boolean({ error: "disabled must be true or false" }).optional(),
  password: newPassword.optional(),
}).meta({ id: "UserPatch", example: { roles: ["user"], disabled: false } });

export const UserList = z.object({
  users: z.array(User),
  next_cursor: z.string().nullable(),
}).meta({ id: "UserList" });

/** An error answer in an OpenAPI `responses` table. */
export function errorResponse(description: string) {
  return { content: { "application/json": { schema: ErrorBodySchema } }, description };
}

/** The 503 of every route that touches the store (see `toApiError`). */
export const storeUnavailable = errorResponse(
  "The store is unavailable (`unavailable`) or contended (`busy`); retry after Retry-After, " +
    "with the same tokens",
);

/** The answers every `/admin` route shares: no token, not an admin, the store. */
export const adminResponses = {
  401: errorResponse("No valid bearer token"),
  403: errorResponse("The token's role is not admin"),
  503: storeUnavailable,
};

/** A JSON request body in an OpenAPI route. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { "application/json": { schema } }, required: true } as const;
}
