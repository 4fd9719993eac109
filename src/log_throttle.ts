/**
 * At most one log line per cause per interval, so a failing store under load writes a few lines
 * a second, not one per request, and the line after a quiet spell says how many it stood for.
 *
 * @module
 */

/** Causes remembered at once; past it, new causes stay quiet until old ones age out. */
export const MAX_THROTTLED_CAUSES = 256;

/** A throttle over causes (any string that names one). */
export interface LogThrottle {
  /**
   * `undefined` when a line for `cause` was written less than the interval ago (counted);
   * otherwise the line may be written now, and this is how many were kept quiet since the last.
   */
  admit(cause: string): number | undefined;
}

/**
 * Creates a throttle: one line per cause per `intervalMs` by the clock `now`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogThrottle } from "./log_throttle.ts";
 * let now = 0;
 * const throttle = createLogThrottle(() => now, 1000);
 * assert.equal(throttle.admit("kv locked"), 0);
 * assert.equal(throttle.admit("kv locked"), undefined);
 * assert.equal(throttle.admit("kv closed"), 0);
 * now = 1000;
 * assert.equal(throttle.admit("kv locked"), 1);
 * ```
 */
export function createLogThrottle(now: () => number, intervalMs = 1000): LogThrottle {
  const last = new Map<string, { at: number; quiet: number }>();
  return {
    admit(cause) {
      const at = now();
      const seen = last.get(cause);
      if (seen !== undefined && at - seen.at < intervalMs) {
        seen.quiet++;
        return undefined;
      }
      if (seen === undefined && last.size >= MAX_THROTTLED_CAUSES) {
        for (const [key, entry] of last) if (at - entry.at >= intervalMs) last.delete(key);
        if (last.size >= MAX_THROTTLED_CAUSES) return undefined;
      }
      last.set(cause, { at, quiet: 0 });
      return seen?.quiet ?? 0;
    },
  };
}
