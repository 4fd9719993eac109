/**
 * The JSON shapes the API answers with, defined once as zod schemas; their TypeScript types are
 * derived with `z.infer`. Plain zod (no Hono): the services and the CLI use the types, and
 * `routes/schemas.ts` names them for `/openapi.json`.
 *
 * @module
 */
import { z } from "zod";
import { ERROR_STATUS, type ErrorCode } from "./errors.ts";

export const TokenPairSchema = z.object({
  token: z.string().describe("The access token, a signed JWT"),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int().describe("Seconds until the access token expires"),
  refresh_token: z.string().describe("Opaque; spent by POST /refresh"),
});
/** The `/login` and `/refresh` answer. */
export type TokenPair = z.infer<typeof TokenPairSchema>;

export const ErrorBodySchema = z.object({
  error: z.string(),
  code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
});
/** The JSON body of every error answer. */
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const ClaimsSchema = z.object({
  sub: z.string(),
  role: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
  iss: z.string(),
  jti: z.string(),
  sid: z.string().exactOptional(),
  aud: z.union([z.string(), z.array(z.string())]).exactOptional(),
});
/** The claims of a verified access token, as `/me` shows them. */
export type Claims = z.infer<typeof ClaimsSchema>;

export const MeSchema = z.object({
  claims: ClaimsSchema,
  roles: z.array(z.string()),
});
/** The `/me` answer. */
export type Me = z.infer<typeof MeSchema>;

export const PublicUserSchema = z.object({
  user_id: z.string(),
  roles: z.array(z.string()),
  disabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
/** A user as shown to people and the admin API: never the hash. */
export type PublicUser = z.infer<typeof PublicUserSchema>;
