/**
 * The generic cell rate algorithm (GCRA), the arithmetic every {@link CounterStore} shares. A cell
 * is one timestamp, the "theoretical arrival time" (TAT): each attempt pushes it `costMs` further;
 * an attempt is allowed while the TAT stays within `windowMs` of now. So a subject may spend its
 * whole budget (`max` attempts) at once and then one more every `window / max`: there is no
 * window edge at which twice the budget gets through, as with fixed windows.
 *
 * @module
 */
import type { CounterStore, LimitCell } from "./counter_store.ts";

export type { CounterStore, LimitCell };

/** The outcome of spending one attempt from a cell. */
export type GcraStep =
  | { readonly allowed: true; readonly tat: number }
  | { readonly allowed: false; readonly waitMs: number };

/**
 * Spends one attempt from a cell whose stored TAT is `tat` (`undefined`: never used or expired).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gcraTake } from "./gcra.ts";
 * const cell = { bucket: "login_account", subject: "ada", costMs: 1000, windowMs: 2000 };
 * const first = gcraTake(undefined, cell, 0);
 * assert(first.allowed && first.tat === 1000);
 * const second = gcraTake(1000, cell, 0);
 * assert(second.allowed && second.tat === 2000);
 * const third = gcraTake(2000, cell, 0);
 * assert(!third.allowed && third.waitMs === 1000);
 * ```
 */
export function gcraTake(tat: number | undefined, cell: LimitCell, now: number): GcraStep {
  const next = Math.max(tat ?? now, now) + cell.costMs;
  if (next - now <= cell.windowMs) return { allowed: true, tat: next };
  return { allowed: false, waitMs: next - cell.windowMs - now };
}

/**
 * The TAT after giving one attempt back; `undefined` when the cell is back at the present.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gcraGiveBack } from "./gcra.ts";
 * const cell = { bucket: "login_account", subject: "ada", costMs: 1000, windowMs: 2000 };
 * assert(gcraGiveBack(2000, cell, 0) === 1000);
 * assert(gcraGiveBack(500, cell, 0) === undefined);
 * ```
 */
export function gcraGiveBack(tat: number | undefined, cell: LimitCell, now: number) {
  if (tat === undefined) return undefined;
  const back = tat - cell.costMs;
  return back > now ? back : undefined;
}
