/**
 * Typed errors with stable snake_case codes, and the one table that maps them to HTTP status.
 *
 * Handlers and services throw `AuthError`; `app.onError` turns it into the contract's JSON
 * body `{"error", "code"}`. Nothing else decides a status code.
 *
 * @module
 */

/** Every code the server can answer with, and its HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  invalid_credentials: 401,
  invalid_token: 401,
  missing_token: 401,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  refresh_conflict: 401,
  session_revoked: 401,
  forbidden: 403,
  role_not_allowed: 403,
  insufficient_role: 403,
  insufficient_scope: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_attempts: 429,
  not_ready: 503,
  busy: 503,
  internal_error: 500,
} as const;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The status a code maps to. */
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
}

/**
 * An expected failure: a bad request, bad credentials, a refused token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AuthError } from "./errors.ts";
 * const err = new AuthError("invalid_credentials", "invalid credentials");
 * assert(err.status === 401);
 * ```
 */
export class AuthError extends Error {
  readonly code: ErrorCode;
  /** Extra response headers, such as `Retry-After` or `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "AuthError";
    this.code = code;
    this.headers = headers;
  }

  get status(): ErrorStatus {
    return ERROR_STATUS[this.code];
  }

  toJSON(): ErrorBody {
    return { error: this.message, code: this.code };
  }
}

/** The 429 answer of every limit, with `Retry-After` in seconds. */
export function tooManyAttempts(retryAfter: number): AuthError {
  return new AuthError("too_many_attempts", "too many attempts; try again later", {
    "Retry-After": String(retryAfter),
  });
}
