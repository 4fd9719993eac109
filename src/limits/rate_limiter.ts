/**
 * Fixed-window attempt counters in Deno KV, so every instance sharing the store shares them.
 * Counters expire with their window through KV expiry.
 *
 * @module
 */
import type { Rate } from "../duration.ts";
import { ContendedError, type KvStore } from "../store/kv_store.ts";

/** The outcome of counting an attempt. */
export interface LimitState {
  readonly limited: boolean;
  /** Whole seconds until the window ends (for `Retry-After`). */
  readonly retryAfter: number;
}

/** An attempt counted in a given window, which `refund` can give back. */
export interface CountedAttempt extends LimitState {
  readonly windowStart: number;
  /** Refused without being counted (the counter was too contended); nothing to refund. */
  readonly uncounted?: boolean;
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
      const [attempt] = await this.hitAll([{ bucket, subject, rate }]);
      return attempt!;
    },
    /** Counts one attempt against several limits in one commit. */
    async hitAll(
      limits: readonly { bucket: string; subject: string; rate: Rate }[],
    ): Promise<CountedAttempt[]> {
      const at = now();
      const windows = limits.map((limit) => window(limit.rate, at));
      let counts: number[];
      try {
        counts = await store.hitMany(
          limits.map((limit, i) => ({
            bucket: limit.bucket,
            subject: limit.subject,
            windowStart: windows[i]!.start,
            windowMs: windows[i]!.windowMs,
          })),
          at,
        );
      } catch (err) {
        // Could not count it: refuse it, uncounted, and ask for a retry in a second.
        if (!(err instanceof ContendedError)) throw err;
        return windows.map((w) => ({
          limited: true,
          retryAfter: 1,
          uncounted: true,
          windowStart: w.start,
        }));
      }
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
      if (attempt.uncounted) return;
      const windowMs = rate.windowSeconds * 1000;
      try {
        await store.hit(bucket, subject, attempt.windowStart, windowMs, now(), -1);
      } catch (err) {
        // An attempt not given back only makes the limit stricter: safe to drop.
        if (!(err instanceof ContendedError)) throw err;
      }
    },
  };
}

/** The limiter's interface. */
export type RateLimiter = ReturnType<typeof createRateLimiter>;
