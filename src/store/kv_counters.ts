/**
 * {@link CounterStore} over Deno KV: one GCRA timestamp per limit and subject (keys:
 * `kv_layout.ts`).
 *
 * @module
 */
import { ContendedError } from "../errors.ts";
import type { CounterStore, LimitCell } from "../limits/counter_store.ts";
import { gcraGiveBack, gcraTake } from "../limits/gcra.ts";
import { KEYS, kvCall, MAX_COMMIT_ATTEMPTS, until } from "./kv_layout.ts";

/**
 * Most updates that may wait on one cell in this process. The limiter already refuses (429) a
 * subject with that many attempts in flight, so this is a backstop: past it, `ContendedError`
 * (503 `busy`), never an unbounded queue.
 */
export const MAX_QUEUED_PER_CELL = 256;

/** Rate-limit cells in Deno KV. */
export class KvCounterStore implements CounterStore {
  readonly #kv: Deno.Kv;
  /** Per cell: the last queued update of this process, and how many wait behind it. */
  readonly #queues = new Map<string, { tail: Promise<unknown>; waiting: number }>();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Exact: an optimistic commit, retried on a concurrent write. Within this process the updates
   * of one cell queue behind each other (a burst on one account would otherwise mostly lose
   * commit races); updates of other cells do not wait for them. Only other instances can make a
   * commit fail; `ContendedError` after 32 lost races in a row.
   */
  take(cells: readonly LimitCell[], now: number): Promise<number[]> {
    const keys = cells.map((c) => KEYS.limit(c.bucket, c.subject));
    return this.#queued(keys, () =>
      kvCall("take", async () => {
        for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
          const entries = await this.#kv.getMany<number[]>(keys);
          const steps = cells.map((cell, i) => gcraTake(entries[i]!.value ?? undefined, cell, now));
          // Refused: nothing is written, so a refusal costs no commit.
          if (steps.some((s) => !s.allowed)) return steps.map((s) => s.allowed ? 0 : s.waitMs);
          const op = this.#kv.atomic();
          steps.forEach((step, i) => {
            const entry = entries[i]!;
            const tat = step.allowed ? step.tat : now;
            op.check(entry).set(entry.key, tat, until(tat, now));
          });
          if ((await op.commit()).ok) return steps.map(() => 0);
        }
        throw new ContendedError("Rate-limit cell too contended");
      }));
  }

  giveBack(cell: LimitCell, now: number): Promise<void> {
    const key = KEYS.limit(cell.bucket, cell.subject);
    return this.#queued([key], () =>
      kvCall("giveBack", async () => {
        for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
          const entry = await this.#kv.get<number>(key);
          if (entry.value === null) return;
          const tat = gcraGiveBack(entry.value, cell, now);
          const op = this.#kv.atomic().check(entry);
          if (tat === undefined) op.delete(key);
          else op.set(key, tat, until(tat, now));
          if ((await op.commit()).ok) return;
        }
        throw new ContendedError("Rate-limit cell too contended");
      }));
  }

  /** Runs `update` after every queued update of `keys` in this process; bounded per cell. */
  #queued<T>(keys: readonly Deno.KvKey[], update: () => Promise<T>): Promise<T> {
    const names = keys.map((key) => JSON.stringify(key));
    const queues = names.map((name) => this.#queues.get(name));
    if (queues.some((q) => q !== undefined && q.waiting >= MAX_QUEUED_PER_CELL)) {
      return Promise.reject(new ContendedError("Too many updates wait on one rate-limit cell"));
    }
    const before = Promise.all(queues.map((q) => q?.tail.catch(() => {})));
    const run = before.then(update);
    names.forEach((name, i) => {
      const queue = queues[i] ?? { tail: run, waiting: 0 };
      queue.tail = run;
      queue.waiting++;
      this.#queues.set(name, queue);
    });
    const done = () => {
      for (const name of names) {
        const queue = this.#queues.get(name);
        if (queue === undefined) continue;
        queue.waiting--;
        // The last one out forgets the cell: the map only holds cells with updates waiting.
        if (queue.tail === run) this.#queues.delete(name);
      }
    };
    run.then(done, done);
    return run;
  }
}
