/**
 * Fixed-window attempt counters in Deno KV, so every instance sharing the store shares them.
 * Counters expire with their window through KV expiry.
 *
 * @module
 */
import type { Rate } from "../duration.ts";
import { ContendedError } from "../errors.ts";
import type { CounterStore } from "./counter_store.ts";

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

/**
 * Creates a limiter over the shared counters, with an injected clock (epoch ms). A counter too
 * contended to count the attempt throws `ContendedError` (the API answers 503 `busy`, retry in
 * a second); nothing was counted then, so there is nothing to give back.
 */
export function createRateLimiter(store: CounterStore, now: () => number) {
  function window(rate: Rate, at: number) {
    const windowMs = rate.windowSeconds * 1000;
    const start = Math.floor(at / windowMs) * windowMs;
    return { start, windowMs, retryAfter: Math.max(1, Math.ceil((start + windowMs - at) / 1000)) };
  }

  return {
    /** Counts one attempt against several limits in one commit; limited past `rate.max`. */
    async hitAll(
      limits: readonly { bucket: string; subject: string; rate: Rate }[],
    ): Promise<CountedAttempt[]> {
      const at = now();
      const windows = limits.map((limit) => window(limit.rate, at));
      const counts = await store.increment(
        limits.map((limit, i) => ({
          bucket: limit.bucket,
          subject: limit.subject,
          windowStart: windows[i]!.start,
          windowMs: windows[i]!.windowMs,
        })),
        at,
      );
      return limits.map((limit, i) => ({
        limited: counts[i]! > limit.rate.max,
        retryAfter: windows[i]!.retryAfter,
        windowStart: windows[i]!.start,
      }));
    },
    /**
     * Gives a counted attempt back (a login that succeeded is no failure). Counting first and
     * refunding after means concurrent attempts cannot all slip under the limit before any of
     * them is counted.
     */
    async refund(bucket: string, subject: string, rate: Rate, attempt: CountedAttempt) {
      const windowMs = rate.windowSeconds * 1000;
      try {
        await store.refund({ bucket, subject, windowStart: attempt.windowStart, windowMs }, now());
      } catch (err) {
        // An attempt not given back only makes the limit stricter: safe to drop.
        if (!(err instanceof ContendedError)) throw err;
      }
    },
  };
}

/** The limiter's interface. */
export type RateLimiter = ReturnType<typeof createRateLimiter>;
