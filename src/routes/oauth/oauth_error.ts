/**
 * Errors of the OAuth endpoints in RFC 6749 section 5.2's shape, `{"error", "error_description"}`,
 * translated at this edge from what the one mapper (`toApiError` in `errors.ts`) makes of a
 * failure: the services' `ApiError` codes, a store outage, contention.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, toApiError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { OAUTH_ERROR_CODES, OAuthErrorBody } from "../../wire.ts";

/** RFC 6749 section 5.2 and RFC 7009 section 2.2.1 codes, plus our 429 and 503. */
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];

const STATUS: Readonly<Record<OAuthErrorCode, ContentfulStatusCode>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_token_type: 400,
  too_many_attempts: 429,
  mfa_required: 403,
  temporarily_unavailable: 503,
  server_error: 500,
};

/** How the API's error codes read at the OAuth door. */
const FROM_API_ERROR: Partial<Record<ErrorCode, OAuthErrorCode>> = {
  invalid_credentials: "invalid_grant",
  invalid_refresh_token: "invalid_grant",
  invalid_code: "invalid_grant",
  invalid_mfa_token: "invalid_grant",
  refresh_token_reused: "invalid_grant",
  refresh_conflict: "invalid_grant",
  session_revoked: "invalid_grant",
  role_not_allowed: "invalid_scope",
  too_many_attempts: "too_many_attempts",
  busy: "temporarily_unavailable",
  not_ready: "temporarily_unavailable",
  unavailable: "temporarily_unavailable",
};

/**
 * A refusal at an OAuth endpoint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OAuthError } from "./oauth_error.ts";
 * const err = new OAuthError("invalid_client", "client authentication failed");
 * assert.equal(err.status, 401);
 * assert.deepEqual(err.toJSON(), {
 *   error: "invalid_client",
 *   error_description: "client authentication failed",
 * });
 * ```
 */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  readonly #status: ContentfulStatusCode | undefined;

  /** `status` overrides the code's usual one (a 413 `invalid_request`, say). */
  constructor(
    code: OAuthErrorCode,
    description: string,
    headers: Record<string, string> = {},
    status?: ContentfulStatusCode,
  ) {
    super(description);
    this.name = "OAuthError";
    this.code = code;
    this.headers = headers;
    this.#status = status;
  }

  get status(): ContentfulStatusCode {
    return this.#status ?? STATUS[this.code];
  }

  toJSON(): OAuthErrorBody {
    return { error: this.code, error_description: this.message };
  }
}

/** Any failure under `/oauth/*` as an RFC 6749 error answer (the app's `onError` calls it). */
export function oauthErrorResponse(err: unknown, c: Context, logger: Logger): Response {
  const error = toOAuthError(err);
  if (error.code === "server_error") {
    logger.error("unhandled_error", {
      path: c.req.path,
      error: err instanceof Error ? err.name : typeof err,
      message: err instanceof Error ? err.message.slice(0, 500) : undefined,
    });
  }
  c.header("Cache-Control", "no-store");
  c.header("Pragma", "no-cache");
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(error.toJSON(), error.status);
}

function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof HTTPException && err.status < 500) {
    return new OAuthError("invalid_request", err.message || "request is invalid");
  }
  const known = toApiError(err);
  if (!known) return new OAuthError("server_error", "internal error");
  const retryAfter = known.headers["Retry-After"];
  const headers = retryAfter ? { "Retry-After": retryAfter } : {};
  const code = FROM_API_ERROR[known.code];
  if (code !== undefined) return new OAuthError(code, known.message, headers);
  // Any other refusal is invalid_request, with the JSON API's status for it (413 for a body
  // over 16 KiB, as on every route; RFC 6749 section 5.2 allows another 4xx than 400).
  return known.status < 500
    ? new OAuthError("invalid_request", known.message, headers, known.status)
    : new OAuthError("server_error", known.message, headers);
}
