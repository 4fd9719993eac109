/**
 * Typed errors with stable snake_case codes, and the one table that maps them to HTTP status.
 *
 * Handlers and services throw `ApiError`; the store throws `StoreUnavailableError` and
 * `ContendedError`, which carry internal codes ({@link INTERNAL_ERROR_CODES}). The one mapper, {@link toApiError}, turns any of them into an `ApiError`,
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
 * The codes of the errors the server raises inside itself: stable and snake_case like the API's
 * {@link ErrorCode}s, so that callers tell them apart by `code` (as jose's errors are). None is
 * sent to a client as such: {@link toApiError} answers the store's with an API code, and the
 * CLI and the start-up print the others in one line.
 */
export const INTERNAL_ERROR_CODES = [
  /** {@link StoreUnavailableError} */
  "store_unavailable",
  /** {@link ContendedError} */
  "store_contended",
  /** {@link InvalidCursorError} */
  "invalid_cursor",
  /** `BusyError` (store/busy_retry.ts): a busy store outlasted every retry. */
  "store_busy",
  /** `ConfigError` (config/config_error.ts): a configuration value that cannot be used. */
  "config_invalid",
  /** `TransferError` (store/transfer.ts): a line that cannot be imported, a target not empty. */
  "transfer_refused",
  /** `CliError` (cli/output.ts): a CLI command failed, with its exit code. */
  "command_failed",
] as const;

/** The code of an internal error. */
export type InternalErrorCode = (typeof INTERNAL_ERROR_CODES)[number];

/**
 * The internal error code `err` carries, or `undefined` for anything else (an `ApiError`, a
 * bug, a library's error).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContendedError, internalErrorCode } from "./errors.ts";
 * assert.equal(internalErrorCode(new ContendedError("hot key")), "store_contended");
 * assert.equal(internalErrorCode(new TypeError("bug")), undefined);
 * ```
 */
export function internalErrorCode(err: unknown): InternalErrorCode | undefined {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return (INTERNAL_ERROR_CODES as readonly unknown[]).includes(code)
    ? code as InternalErrorCode
    : undefined;
}

/**
 * The store could not be read or written (Deno KV closed, unreachable, failing). The store's
 * implementations throw it for every failure of the KV itself; the API answers 503
 * `unavailable` with `Retry-After`, never 401 or 500: the client's credentials are not at fault.
 */
export class StoreUnavailableError extends Error {
  readonly code = "store_unavailable";
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
  readonly code = "store_contended";
  constructor(message: string) {
    super(message);
    this.name = "ContendedError";
  }
}

/** A list cursor the store did not issue: the API answers 400 `validation_failed`. */
export class InvalidCursorError extends Error {
  readonly code = "invalid_cursor";
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
  const code = internalErrorCode(err);
  return code === undefined ? undefined : INTERNAL_ANSWERS[code]?.(err as Error);
}

const RETRY_SOON = { "Retry-After": "1" } as const;

/** The answer to a request that ends with an internal error; none: a bug, answered 500. */
const INTERNAL_ANSWERS: Partial<Record<InternalErrorCode, (err: Error) => ApiError>> = {
  store_unavailable: () =>
    new ApiError("unavailable", "the store is unavailable; try again", RETRY_SOON),
  store_contended: () => new ApiError("busy", "the request is contended; try again", RETRY_SOON),
  invalid_cursor: (err) => new ApiError("validation_failed", err.message),
};
