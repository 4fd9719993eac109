/**
 * A counting semaphore: at most `size` tasks run at once, the rest wait in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Semaphore } from "./semaphore.ts";
 * const one = new Semaphore(1);
 * const order: number[] = [];
 * await Promise.all([1, 2].map((n) => one.run(async () => { order.push(n); })));
 * assert(order.join() === "1,2");
 * ```
 */
export class Semaphore {
  #free: number;
  #waiting: (() => void)[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new TypeError("Semaphore size must be >= 1");
    this.#free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
