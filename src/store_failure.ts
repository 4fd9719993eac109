/**
 * Why the store made a request fail: found on the thrown error (or its causes) so the app can
 * emit one `store_failed` event per 503 the store caused, which the log writes at error level
 * (`events.ts`, at most one line per cause per second).
 *
 * @module
 */
import { ContendedError, ERROR_STATUS, StoreUnavailableError, toApiError } from "./errors.ts";
import type { DomainEvent } from "./events.ts";

/** The event of a request the store made fail. */
export type StoreFailedEvent = Extract<DomainEvent, { type: "store_failed" }>;

/** Causes looked through: a route may wrap a store failure (`/readyz` answers `not_ready`). */
const MAX_CAUSE_DEPTH = 4;

/**
 * The `store_failed` event for `err`, or `undefined` when the store is not why it failed (or
 * the answer is not a 503).
 * `answer` is the code the request is answered with; `cause` is the store's own words, cut to
 * 200 characters, with any password in a URL or connection string masked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoreUnavailableError } from "./errors.ts";
 * import { storeFailure } from "./store_failure.ts";
 * const err = new StoreUnavailableError("store failed (take): database is locked", {
 *   operation: "take",
 *   reason: "database is locked (10 tries)",
 * });
 * assert.deepEqual(storeFailure(err), {
 *   type: "store_failed",
 *   answer: "unavailable",
 *   operation: "take",
 *   cause: "database is locked (10 tries)",
 * });
 * assert.equal(storeFailure(new TypeError("a bug")), undefined);
 * ```
 */
export function storeFailure(err: unknown): StoreFailedEvent | undefined {
  const answer = toApiError(err)?.code;
  if (answer !== undefined && ERROR_STATUS[answer] !== 503) return undefined;
  let current: unknown = err;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current instanceof Error; depth++) {
    if (current instanceof StoreUnavailableError) {
      return {
        type: "store_failed",
        answer: answer ?? "unavailable",
        operation: current.operation,
        cause: maskSecrets(current.reason ?? current.message),
      };
    }
    if (current instanceof ContendedError) {
      return {
        type: "store_failed",
        answer: answer ?? "busy",
        cause: maskSecrets(current.message),
      };
    }
    current = current.cause;
  }
  return undefined;
}

/**
 * `text` with the password of a URL (`postgres://user:secret@host`, also when the text was cut
 * inside it) and of a connection string (`password=secret`) replaced by `***`, cut to 200
 * characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskSecrets } from "./store_failure.ts";
 * assert.equal(maskSecrets("connect postgres://app:s3cr3t@db:5432/auth failed"), "connect postgres://app:***@db:5432/auth failed");
 * assert.equal(maskSecrets("host=db password='a b' user=app"), "host=db password=*** user=app");
 * assert.equal(maskSecrets("at postgres://app:s3c"), "at postgres://app:***@");
 * assert.equal(maskSecrets("at postgres://db:5432/auth"), "at postgres://db:5432/auth");
 * ```
 */
export function maskSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):(?:[^\s@]*@|[^\s@/]*$)/gi, "$1:***@")
    .replace(/\b(password|passwd|pwd)=('[^']*'|"[^"]*"|\S*)/gi, "$1=***")
    .slice(0, 200);
}
