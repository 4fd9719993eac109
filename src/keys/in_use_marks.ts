/**
 * An instance's in-use marks: it tells the store which key it signs with, at start and then
 * every half {@link IN_USE_PERIOD_MS}, so `keys retire` knows when a key really stopped signing
 * (across `JWT_ALG` switches too).
 *
 * @module
 */
import { IN_USE_PERIOD_MS } from "./key_set.ts";
import type { KeyStore } from "./key_store.ts";

/** Writes an instance's in-use mark on schedule. */
export class InUseMarks {
  readonly #store: Pick<KeyStore, "markInUse">;
  readonly #now: () => number;
  #lastMarkAt: number | undefined;

  constructor(store: Pick<KeyStore, "markInUse">, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  /**
   * Marks `kids` (the access-token key, and the ID-token key when it is another) in use unless a
   * mark was written less than half a period ago.
   */
  async mark(kids: readonly string[]): Promise<void> {
    const now = this.#now();
    // Not on every switch of key: a mark on schedule bounds the last signing time just as well
    // (see `lastSignedAt`), with fewer writes meeting other processes' writes.
    if (this.#lastMarkAt !== undefined && now - this.#lastMarkAt < IN_USE_PERIOD_MS / 2) return;
    for (const kid of new Set(kids)) await this.#store.markInUse(kid, now);
    this.#lastMarkAt = now;
  }
}
