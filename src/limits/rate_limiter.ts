/**
 * Fixed-window attempt counters in Deno KV, so every instance sharing the store shares them.
 * Counters expire with their window through KV expiry.
 *
 * @module
 */
import type { Rate } from "../duration.ts";
import type { KvStore } from "../store/kv_store.ts";

/** The outcome of counting an attempt. */
export interface LimitState {
  readonly limited: boolean;
  /** Whole seconds until the window ends (for `Retry-After`). */
  readonly retryAfter: number;
}

/** An attempt counted in a given window, which `refund` can give back. */
export interface CountedAttempt extends LimitState {
  readonly windowStart: number;
}

/** Creates a limiter over the store, with an injected clock (epoch ms). */
export function createRateLimiter(store: KvStore, now: () => number) {
  function window(rate: Rate, at: number) {
    const windowMs = rate.windowSeconds * 1000;
    const start = Math.floor(at / windowMs) * windowMs;
    return { start, windowMs, retryAfter: Math.max(1, Math.ceil((start + windowMs - at) / 1000)) };
  }

  return {
    /** Counts an attempt; limited when it is past `rate.max` in this window. */
    async hit(bucket: string, subject: string, rate: Rate): Promise<CountedAttempt> {
      const at = now();
      const { start, windowMs, retryAfter } = window(rate, at);
      const count = await store.hit(bucket, subject, start, windowMs, at);
      return { limited: count > rate.max, retryAfter, windowStart: start };
    },
    /**
     * Gives a counted attempt back (a login that succeeded is no failure). Counting first and
     * refunding after means concurrent attempts cannot all slip under the limit before any of
     * them is counted.
     */
    async refund(bucket: string, subject: string, rate: Rate, attempt: CountedAttempt) {
      const windowMs = rate.windowSeconds * 1000;
      await store.hit(bucket, subject, attempt.windowStart, windowMs, now(), -1);
    },
  };
}

/** The limiter's interface. */
export type RateLimiter = ReturnType<typeof createRateLimiter>;
