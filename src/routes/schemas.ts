/**
 * Request and response schemas: they validate requests and generate `/openapi.json`, so the
 * documentation cannot drift from the behaviour.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { MAX_PASSWORD_LENGTH } from "../crypto/passwords.ts";
import { ERROR_STATUS } from "../errors.ts";
import { hasControlCharacter } from "../text.ts";
import { MAX_USER_ID_LENGTH } from "../users/user_service.ts";

/** A string field whose messages name it: "x is required", "x must be a string". */
function text(name: string) {
  return z.string({
    error: (issue) =>
      issue.input === undefined ? `${name} is required` : `${name} must be a string`,
  });
}

const userId = text("user_id")
  .min(1, "user_id is required")
  .max(MAX_USER_ID_LENGTH, `user_id must be at most ${MAX_USER_ID_LENGTH} characters`)
  .refine((id) => !hasControlCharacter(id), "user_id must not contain control characters")
  .refine((id) => id.isWellFormed(), "user_id must be valid Unicode")
  .openapi({ example: "ada" });

const role = text("role").min(1, "role must not be empty").max(
  64,
  "role must be at most 64 characters",
);

export const LoginBody = z.object({
  user_id: userId,
  password: text("password")
    .min(1, "password is required")
    .max(MAX_PASSWORD_LENGTH, `password must be at most ${MAX_PASSWORD_LENGTH} characters`)
    .openapi({ example: "correct horse battery staple" }),
  role: role.optional().openapi({ example: "user" }),
}).openapi("LoginRequest", {
  example: { user_id: "ada", password: "correct horse battery staple", role: "user" },
});

export const RefreshBody = z.object({
  refresh_token: text("refresh_token")
    .min(1, "refresh_token is required")
    .max(512, "refresh_token is too long")
    .openapi({ example: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A" }),
}).openapi("RefreshRequest", {
  example: { refresh_token: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A" },
});

export const TokenPair = z.object({
  token: z.string().openapi({ description: "The access token, a signed JWT" }),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int().openapi({ example: 1800 }),
  refresh_token: z.string().openapi({ description: "Opaque; spent by POST /refresh" }),
}).openapi("TokenPair", {
  example: {
    token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiJhZGEifQ.c2ln",
    token_type: "Bearer",
    expires_in: 1800,
    refresh_token: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A",
  },
});

export const ErrorBody = z.object({
  error: z.string().openapi({ example: "invalid credentials" }),
  code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]).openapi({
    example: "invalid_credentials",
  }),
}).openapi("Error", { example: { error: "invalid credentials", code: "invalid_credentials" } });

export const Claims = z.object({
  sub: z.string(),
  role: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
  iss: z.string(),
  jti: z.string(),
  sid: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
}).openapi("Claims", {
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

export const MeResponse = z.object({
  claims: Claims,
  roles: z.array(z.string()),
}).openapi("Me");

export const User = z.object({
  user_id: z.string(),
  roles: z.array(z.string()),
  disabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("User", {
  example: {
    user_id: "ada",
    roles: ["user"],
    disabled: false,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
  },
});

export const NewUserBody = z.object({
  user_id: userId,
  password: text("password").min(8, "password must be at least 8 characters")
    .max(MAX_PASSWORD_LENGTH, `password must be at most ${MAX_PASSWORD_LENGTH} characters`),
  roles: z.array(role, { error: "roles must be an array of strings" }).optional(),
}).openapi("NewUser", {
  example: { user_id: "grace", password: "a long passphrase", roles: ["user", "editor"] },
});

export const UserPatchBody = z.object({
  roles: z.array(role, { error: "roles must be an array of strings" }).optional(),
  disabled: z.boolean({ error: "disabled must be true or false" }).optional(),
  password: text("password").min(8, "password must be at least 8 characters")
    .max(MAX_PASSWORD_LENGTH, `password must be at most ${MAX_PASSWORD_LENGTH} characters`)
    .optional(),
}).openapi("UserPatch", { example: { roles: ["user"], disabled: false } });

export const UserList = z.object({
  users: z.array(User),
  next_cursor: z.string().nullable(),
}).openapi("UserList");

/** An error answer in an OpenAPI `responses` table. */
export function errorResponse(description: string) {
  return { content: { "application/json": { schema: ErrorBody } }, description };
}

/** A JSON request body in an OpenAPI route. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { "application/json": { schema } }, required: true } as const;
}
