/**
 * Durations and rates as written in `.env`: `30m`, `15s`, `1h`, `30d`, `1800` (seconds), and
 * rates like `10/15m`.
 *
 * @module
 */

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a duration into whole seconds, or returns `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./duration.ts";
 * assert(parseDuration("30m") === 1800);
 * assert(parseDuration("90") === 90);
 * assert(parseDuration("soon") === undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  const seconds = Number(amount) * (UNIT_SECONDS[unit || "s"] ?? 1);
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** A limit of `max` events per `windowSeconds`. */
export interface Rate {
  readonly max: number;
  readonly windowSeconds: number;
}

/**
 * Parses a rate written `N/duration`, such as `10/15m`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRate } from "./duration.ts";
 * const rate = parseRate("10/15m");
 * assert(rate?.max === 10 && rate.windowSeconds === 900);
 * ```
 */
export function parseRate(text: string): Rate | undefined {
  const match = /^(\d{1,9})\/(.+)$/.exec(text.trim());
  if (!match) return undefined;
  const max = Number(match[1]);
  const windowSeconds = parseDuration(match[2] ?? "");
  if (windowSeconds === undefined || windowSeconds === 0 || max === 0) return undefined;
  return { max, windowSeconds };
}
