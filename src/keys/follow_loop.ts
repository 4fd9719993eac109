/**
 * The schedule an instance follows the key set by: one round now, then a round every interval,
 * and at once when the store says something changed (PostgreSQL's NOTIFY). Rounds never overlap:
 * a wake-up during a round runs the next one right after it.
 *
 * @module
 */

/** A store's push of changes: calls `onChange` soon after a write; resolves with a stop. */
export type Watch = (onChange: () => void) => Promise<() => Promise<void>>;

/** Runs a round of work on a schedule until stopped. */
export class FollowLoop {
  readonly #round: () => Promise<void>;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unwatch: (() => Promise<void>) | undefined;
  #running = false;
  #again = false;

  /** `round` must not throw (it reports its own errors). */
  constructor(round: () => Promise<void>, intervalMs: number) {
    this.#round = round;
    this.#intervalMs = intervalMs;
  }

  /**
   * Runs the first round, then keeps going every interval; `watch` (where the store has one)
   * wakes it early, and a failure to watch goes to `onWatchError` (the poll goes on). Resolves
   * after the first round.
   */
  async start(watch: Watch | undefined, onWatchError: (err: unknown) => void): Promise<void> {
    await this.#round();
    this.#timer = setTimeout(this.#loop, this.#intervalMs);
    try {
      this.#unwatch = await watch?.(this.#wake);
    } catch (err) {
      onWatchError(err);
    }
  }

  /** Stops: no round starts after this. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#unwatch?.().catch(() => {});
    this.#unwatch = undefined;
  }

  readonly #loop = async () => {
    this.#running = true;
    await this.#round();
    this.#running = false;
    const delay = this.#again ? 0 : this.#intervalMs;
    this.#again = false;
    if (this.#timer !== undefined) this.#timer = setTimeout(this.#loop, delay);
  };

  readonly #wake = () => {
    if (this.#timer === undefined) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#loop, 0);
  };
}
