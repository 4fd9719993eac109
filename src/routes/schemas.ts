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
}).openapi("LoginRequest");

export const RefreshBody = z.object({
  refresh_token: text("refresh_token")
    .min(1, "refresh_token is required")
    .max(512, "refresh_token is too long")
    .openapi({ example: "Jx0yq0kN1n5cVQm8mQ5e9dV3Jz3lJb0X2c5fYt2pQ4A" }),
}).openapi("RefreshRequest");

export const TokenPair = z.object({
  token: z.string().openapi({ description: "The access token, a signed JWT" }),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int().openapi({ example: 1800 }),
  refresh_token: z.string().openapi({ description: "Opaque; spent by POST /refresh" }),
}).openapi("TokenPair");

export const ErrorBody = z.object({
  error: z.string().openapi({ example: "invalid credentials" }),
  code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]).openapi({
    example: "invalid_credentials",
  }),
}).openapi("Error");

export const Claims = z.object({
  sub: z.string(),
  role: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
  iss: z.string(),
  jti: z.string(),
  sid: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
}).openapi("Claims");

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
}).openapi("User");

export const NewUserBody = z.object({
  user_id: userId,
  password: text("password").min(8, "password must be at least 8 characters")
    .max(MAX_PASSWORD_LENGTH, `password must be at most ${MAX_PASSWORD_LENGTH} characters`),
  roles: z.array(role, { error: "roles must be an array of strings" }).optional(),
}).openapi("NewUser");

export const UserPatchBody = z.object({
  roles: z.array(role, { error: "roles must be an array of strings" }).optional(),
  disabled: z.boolean({ error: "disabled must be true or false" }).optional(),
  password: text("password").min(8, "password must be at least 8 characters")
    .max(MAX_PASSWORD_LENGTH, `password must be at most ${MAX_PASSWORD_LENGTH} characters`)
    .optional(),
}).openapi("UserPatch");

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
