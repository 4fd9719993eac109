/**
 * What the shared rate limiter needs from storage: fixed-window counters. Implemented over
 * Deno KV by `store/kv_counters.ts`.
 *
 * @module
 */

/** One fixed-window counter and how much to add to it. */
export interface CounterUpdate {
  readonly bucket: string;
  readonly subject: string;
  readonly windowStart: number;
  readonly windowMs: number;
  /** Default 1. */
  readonly delta?: number;
}

/**
 * Fixed-window counters that expire with their window. Every method throws
 * `StoreUnavailableError` when the store fails and `ContendedError` when a commit keeps losing
 * races.
 */
export interface CounterStore {
  /** Adds to several counters in one atomic commit; their new counts (never below zero). */
  increment(counters: readonly CounterUpdate[], now: number): Promise<number[]>;
  /** Gives one attempt back to a counter (a login that succeeded is no failure). */
  refund(counter: Omit<CounterUpdate, "delta">, now: number): Promise<void>;
}
