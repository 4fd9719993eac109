import assert from "node:assert/strict";
import { Semaphore } from "../../src/semaphore.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

Deno.test("Semaphore: refuses sizes below one and non-integers", () => {
  for (const size of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => new Semaphore(size), TypeError, String(size));
  }
});

Deno.test("Semaphore: at most `size` tasks run at once", async () => {
  for (const size of [1, 3]) {
    const semaphore = new Semaphore(size);
    let inFlight = 0;
    let maxInFlight = 0;
    const tasks = Array.from({ length: 10 }, (_, i) =>
      semaphore.run(async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        inFlight--;
        return i;
      }));
    assert.deepEqual(await Promise.all(tasks), [...Array(10).keys()]);
    assert.equal(maxInFlight, size, `size ${size}`);
    assert.equal(inFlight, 0);
  }
});

Deno.test("Semaphore: waiters start in order, one as each slot frees", async () => {
  const semaphore = new Semaphore(2);
  const gates = Array.from({ length: 5 }, deferred);
  const started: number[] = [];
  const runs = gates.map((gate, i) =>
    semaphore.run(async () => {
      started.push(i);
      await gate.promise;
    })
  );
  await tick();
  assert.deepEqual(started, [0, 1]);
  gates[1]!.resolve();
  await tick();
  assert.deepEqual(started, [0, 1, 2]);
  gates[0]!.resolve();
  await tick();
  assert.deepEqual(started, [0, 1, 2, 3]);
  for (const gate of gates) gate.resolve();
  await Promise.all(runs);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
});

Deno.test("Semaphore: a failing task releases its slot and its error reaches the caller", async () => {
  const semaphore = new Semaphore(1);
  await assert.rejects(() => semaphore.run(() => Promise.reject(new RangeError("boom"))), {
    name: "RangeError",
    message: "boom",
  });
  // A synchronous throw inside an async task is released too.
  await assert.rejects(() =>
    semaphore.run(() => {
      throw new Error("sync");
    })
  );
  assert.equal(await semaphore.run(() => Promise.resolve("next")), "next");
});

Deno.test("Semaphore: slots are reused after everything drains", async () => {
  const semaphore = new Semaphore(2);
  for (let round = 0; round < 3; round++) {
    let inFlight = 0;
    let maxInFlight = 0;
    await Promise.all(Array.from({ length: 6 }, () =>
      semaphore.run(async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await tick();
        inFlight--;
      })));
    assert.equal(maxInFlight, 2, `round ${round}`);
  }
});
