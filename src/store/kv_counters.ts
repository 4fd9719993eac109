/**
 * {@link CounterStore} over Deno KV: fixed-window counters (keys: `kv_layout.ts`).
 *
 * @module
 */
import { ContendedError } from "../errors.ts";
import type { CounterStore, CounterUpdate } from "../limits/counter_store.ts";
import { KEYS, kvCall, MAX_COMMIT_ATTEMPTS, until } from "./kv_layout.ts";

/** Rate-limit counters in Deno KV. */
export class KvCounterStore implements CounterStore {
  readonly #kv: Deno.Kv;
  /** The last queued counter update of this process (see `increment`). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Exact: an optimistic commit, retried on a concurrent write. Within this process all counter
   * updates queue behind each other (a burst of logins to one account would otherwise mostly
   * lose commit races); only other instances can make a commit fail. Throws `ContendedError`
   * after 32 lost races in a row.
   */
  increment(counters: readonly CounterUpdate[], now: number): Promise<number[]> {
    const keys = counters.map((c) => KEYS.counter(c.bucket, c.subject, c.windowStart));
    const update = this.#queue.catch(() => {}).then(() =>
      kvCall("increment", async () => {
        for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
          const entries = await this.#kv.getMany<number[]>(keys);
          const op = this.#kv.atomic();
          const counts = counters.map((counter, i) => {
            const entry = entries[i]!;
            const count = Math.max(0, (entry.value ?? 0) + (counter.delta ?? 1));
            op.check({ key: entry.key, versionstamp: entry.versionstamp })
              .set(entry.key, count, until(counter.windowStart + counter.windowMs, now));
            return count;
          });
          if ((await op.commit()).ok) return counts;
        }
        throw new ContendedError("Rate-limit counter too contended");
      })
    );
    this.#queue = update;
    return update;
  }

  async refund(counter: Omit<CounterUpdate, "delta">, now: number): Promise<void> {
    await this.increment([{ ...counter, delta: -1 }], now);
  }
}
