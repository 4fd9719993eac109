/**
 * What the shared rate limiter needs from storage: GCRA cells, one timestamp per subject and
 * limit (the "theoretical arrival time"). Implemented over Deno KV by `store/kv_counters.ts`; the
 * arithmetic is `gcra.ts`, shared by every implementation.
 *
 * @module
 */

/** One subject's budget under one limit. */
export interface LimitCell {
  readonly bucket: string;
  readonly subject: string;
  /** What one attempt costs, in ms: the window divided by the number of attempts it allows. */
  readonly costMs: number;
  /** How far ahead of now the cell may run: the window (so a burst of `max` is allowed). */
  readonly windowMs: number;
}

/**
 * GCRA cells that expire once they have run back to the present. Every method throws
 * `StoreUnavailableError` when the store fails and `ContendedError` when a commit keeps losing
 * races (or too much already waits on one cell).
 */
export interface CounterStore {
  /**
   * Spends one attempt from each cell, all or none, in one atomic commit. Per cell: 0 when it
   * allowed the attempt, else the ms until it would. Nothing is written unless every cell allows.
   */
  take(cells: readonly LimitCell[], now: number): Promise<number[]>;
  /** Gives one attempt back to a cell (a login that succeeded is no failure). */
  giveBack(cell: LimitCell, now: number): Promise<void>;
}
