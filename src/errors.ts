/**
 * Typed errors with stable snake_case codes, and the one table that maps them to HTTP status.
 *
 * Handlers and services throw `ApiError`; the store throws `StoreUnavailableError` and
 * `ContendedError`. The one mapper, {@link toApiError}, turns any of them into an `ApiError`,
 * and `app.onError` answers it as the contract's JSON body `{"error", "code"}`. Nothing else
 * decides a status code.
 *
 * @module
 */

/** Every code the server can answer with, and its HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  invalid_enrolment_code: 400,
  invalid_credentials: 401,
  invalid_token: 401,
  missing_token: 401,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  refresh_conflict: 401,
  session_revoked: 401,
  invalid_code: 401,
  invalid_mfa_token: 401,
  invalid_passkey: 401,
  role_not_allowed: 403,
  mfa_required: 403,
  insufficient_role: 403,
  insufficient_scope: 403,
  subject_not_allowed: 403,
  metrics_token_required: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_attempts: 429,
  not_ready: 503,
  keys_out_of_date: 503,
  busy: 503,
  unavailable: 503,
  internal_error: 500,
} as const;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The status a code maps to. */
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

/** The JSON body of every error answer (its wire schema, checked against this: `wire.ts`). */
export interface ErrorBody {
  readonly error: string;
  readonly code: ErrorCode;
}

/**
 * An expected failure the API answers with its code: a bad request, bad credentials, a refused
 * token, a missing user, a busy or unreachable store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ApiError } from "./errors.ts";
 * const err = new ApiError("invalid_credentials", "invalid credentials");
 * assert(err.status === 401);
 * ```
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  /** Extra response headers, such as `Retry-After` or `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ApiError";
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

/**
 * An `ApiError` as a plain `Response`, for the one answer made outside Hono (a draining server).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ApiError, apiErrorResponse } from "./errors.ts";
 * const res = apiErrorResponse(new ApiError("not_ready", "shutting down", { "Retry-After": "1" }));
 * assert(res.status === 503 && res.headers.get("Retry-After") === "1");
 * ```
 */
export function apiErrorResponse(err: ApiError, headers: Record<string, string> = {}): Response {
  return Response.json(err.toJSON(), {
    status: err.status,
    headers: { ...err.headers, ...headers },
  });
}

/** The 429 answer of every limit, with `Retry-After` in seconds. */
export function tooManyAttempts(retryAfter: number): ApiError {
  return new ApiError("too_many_attempts", "too many attempts; try again later", {
    "Retry-After": String(retryAfter),
  });
}

/**
 * The store could not be read or written (Deno KV closed, unreachable, failing). The store's
 * implementations throw it for every failure of the KV itself; the API answers 503
 * `unavailable` with `Retry-After`, never 401 or 500: the client's credentials are not at fault.
 */
export class StoreUnavailableError extends Error {
  /** The store call that failed (`commitRotation`, `take`, ...), when known: for the log. */
  readonly operation: string | undefined;
  /** The store's own words for the failure, when known: for the log. */
  readonly reason: string | undefined;

  constructor(message: string, options?: ErrorOptions & { operation?: string; reason?: string }) {
    super(message, options);
    this.name = "StoreUnavailableError";
    this.operation = options?.operation;
    this.reason = options?.reason;
  }
}

/** Too many lost commit races in a row on one key: the API answers 503 `busy`, retry. */
export class ContendedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContendedError";
  }
}

/** A list cursor the store did not issue: the API answers 400 `validation_failed`. */
export class InvalidCursorError extends Error {
  constructor() {
    super("cursor is invalid");
    this.name = "InvalidCursorError";
  }
}

/**
 * The one mapping of a thrown value to an API answer; `undefined` for anything unexpected
 * (which the caller logs and answers 500).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContendedError, StoreUnavailableError, toApiError } from "./errors.ts";
 * assert(toApiError(new StoreUnavailableError("kv closed"))?.code === "unavailable");
 * assert(toApiError(new ContendedError("hot key"))?.headers["Retry-After"] === "1");
 * assert(toApiError(new TypeError("bug")) === undefined);
 * ```
 */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreUnavailableError) {
    return new ApiError("unavailable", "the store is unavailable; try again", RETRY_SOON);
  }
  if (err instanceof ContendedError) {
    return new ApiError("busy", "the request is contended; try again", RETRY_SOON);
  }
  if (err instanceof InvalidCursorError) return new ApiError("validation_failed", err.message);
  return undefined;
}

const RETRY_SOON = { "Retry-After": "1" } as const;
