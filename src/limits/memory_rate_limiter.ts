/**
 * Fixed-window counters in this process's memory, for limits that guard this instance's own
 * resources rather than a secret: the per-client `/refresh` limit. Refresh tokens are 256-bit
 * random values that cannot be guessed, so that limit stops floods, not brute force, and each
 * instance guarding its own CPU and store budget is the point. (Login limits, which do guard
 * passwords, are in Deno KV and shared by every instance: see `rate_limiter.ts`.)
 *
 * Costs no KV commit, so a refresh stays one commit. Bounded: at most `maxSubjects` counters.
 *
 * @module
 */
import type { Rate } from "../duration.ts";
import type { LimitState } from "./rate_limiter.ts";

interface Counter {
  windowStart: number;
  count: number;
}

/**
 * Creates an in-memory limiter with an injected clock (epoch ms).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryRateLimiter } from "./memory_rate_limiter.ts";
 * let now = 0;
 * const limiter = createMemoryRateLimiter(() => now);
 * const rate = { max: 2, windowSeconds: 60 };
 * assert(!limiter.hit("refresh", "203.0.113.1", rate).limited);
 * assert(!limiter.hit("refresh", "203.0.113.1", rate).limited);
 * assert(limiter.hit("refresh", "203.0.113.1", rate).limited);
 * now += 60_000;
 * assert(!limiter.hit("refresh", "203.0.113.1", rate).limited);
 * ```
 */
export function createMemoryRateLimiter(now: () => number, maxSubjects = 100_000) {
  const counters = new Map<string, Counter>();

  return {
    /** Counts an attempt; limited when it is past `rate.max` in this window. */
    hit(bucket: string, subject: string, rate: Rate): LimitState {
      const at = now();
      const windowMs = rate.windowSeconds * 1000;
      const windowStart = Math.floor(at / windowMs) * windowMs;
      const key = `${bucket}\u0000${subject}`;
      let counter = counters.get(key);
      if (counter === undefined || counter.windowStart !== windowStart) {
        // Full: forget the counter created longest ago (O(1); an attacker spraying addresses
        // only makes it forget its own older ones sooner).
        if (counter === undefined && counters.size >= maxSubjects) {
          counters.delete(counters.keys().next().value!);
        }
        counter = { windowStart, count: 0 };
        counters.set(key, counter);
      }
      counter.count++;
      const retryAfter = Math.max(1, Math.ceil((windowStart + windowMs - at) / 1000));
      return { limited: counter.count > rate.max, retryAfter };
    },
    /**
     * Whether the next attempt would be refused, without counting it: a caller already over
     * its limit is refused before anything that costs a store read.
     */
    peek(bucket: string, subject: string, rate: Rate): LimitState {
      const at = now();
      const windowMs = rate.windowSeconds * 1000;
      const windowStart = Math.floor(at / windowMs) * windowMs;
      const counter = counters.get(`${bucket}\u0000${subject}`);
      const retryAfter = Math.max(1, Math.ceil((windowStart + windowMs - at) / 1000));
      const count = counter?.windowStart === windowStart ? counter.count : 0;
      return { limited: count >= rate.max, retryAfter };
    },
  };
}

/** The in-memory limiter's interface. */
export type MemoryRateLimiter = ReturnType<typeof createMemoryRateLimiter>;
