/**
 * Retrying the store's transient "busy" failures: bounded attempts, jittered exponential backoff.
 *
 * Why KV needs it: a Deno KV file is SQLite in WAL mode, one connection per process. An atomic
 * commit with checks reads the checked keys and then writes, inside one deferred transaction;
 * when another process committed in between, SQLite cannot upgrade that read snapshot to a write
 * and answers `SQLITE_BUSY` at once, without waiting on its busy timeout (waiting could not help:
 * the snapshot is stale). denokv retries `SQLITE_BUSY` only around the transaction as a whole;
 * a failure inside one commit's statements is returned as that commit's result (`sqlite/
 * backend.rs`, `atomic_write_batched` and `sqlite_retry_loop`, denoland/denokv 0.12), so it
 * reaches JavaScript as `TypeError: database is locked`. Two server processes on one file under
 * load saw it on most logins (issue 20). Nothing was written (SQLite takes the write lock at a
 * commit's first write, or fails there), so the whole store call can run again: every call
 * re-reads what it checks.
 *
 * @module
 */
import { type InternalErrorCode, internalErrorCode } from "../errors.ts";

/** How often and how long a busy store call is tried again. */
export interface RetryPolicy {
  /** Tries in all, the first included (at least 1). */
  readonly attempts: number;
  /** The ceiling of the first wait; each next ceiling doubles, up to `maxDelayMs`. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * The default: 20 tries, waits drawn from [c/2, c] with c = 2, 4, 8, ... 100 ms: at most about
 * 1.4 s of waiting before the call becomes a 503 (whose `Retry-After` asks for 1 s anyway).
 * Under the load (two processes on one file, on a loaded 2-core machine) about half of
 * the commits found the file busy on a try, whatever the wait; the most tries one needed in a
 * 15 s run was 11, and 10 tries left one call in about 1,500 failing.
 */
export const BUSY_RETRY: RetryPolicy = { attempts: 20, firstDelayMs: 2, maxDelayMs: 100 };

/** What {@link retryTransient} waits with and draws jitter from (tests pass their own). */
export interface RetryOptions {
  readonly policy?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  readonly random?: () => number;
}

/** SQLite's words for `SQLITE_BUSY` and `SQLITE_LOCKED`, as Deno KV passes them on. */
const TRANSIENT_MESSAGE = /\bdatabase (?:table )?is locked\b|\bdatabase is busy\b|\bSQLITE_BUSY\b/i;

/**
 * Is `err` a busy store that may answer on a second try? Only SQLite's busy and locked errors;
 * never a closed store, a bad value, or the store's own typed errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTransientStoreError } from "./busy_retry.ts";
 * assert(isTransientStoreError(new TypeError("database is locked")));
 * assert(!isTransientStoreError(new Deno.errors.BadResource("Bad resource ID")));
 * ```
 */
export function isTransientStoreError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // The store's own typed errors; store_busy: tried enough already (a nested store call).
  if (internalErrorCode(err) !== undefined) return false;
  return TRANSIENT_MESSAGE.test(err.message);
}

/**
 * The wait before try `attempt + 1` ("equal jitter": half the ceiling plus a random half, so
 * processes that collided do not collide again in step, and no wait is zero).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay, BUSY_RETRY } from "./busy_retry.ts";
 * assert.equal(backoffDelay(1, BUSY_RETRY, () => 0), 1);
 * assert.equal(backoffDelay(30, BUSY_RETRY, () => 0.999999), 99.99995);
 * ```
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/**
 * Runs `operation`; while it fails with a transient error and tries are left, waits and runs it
 * again. The last error is thrown as it is, with the tries made in `attempts` when it was
 * transient (the caller wraps it).
 */
export async function retryTransient<T>(
  operation: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const policy = options.policy ?? BUSY_RETRY;
  const sleep = options.sleep ?? delay;
  const random = options.random ?? Math.random;
  for (let attempt = 1;; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (!isTransientStoreError(err)) throw err;
      if (attempt >= policy.attempts) throw new BusyError(err as Error, attempt);
      await sleep(backoffDelay(attempt, policy, random));
    }
  }
}

/** A transient error that outlasted every try. */
export class BusyError extends Error {
  readonly code = "store_busy" satisfies InternalErrorCode;
  readonly attempts: number;

  constructor(last: Error, attempts: number) {
    super(`${last.message} (${attempts} tries)`, { cause: last });
    this.name = "BusyError";
    this.attempts = attempts;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
