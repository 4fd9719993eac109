/** The counter (GCRA) store contract, every engine unchanged: all-or-none takes, exact budgets. */
import assert from "node:assert/strict";
import type { LimitCell } from "../../src/limits/counter_store.ts";
import { contract } from "./engines.ts";

const NOW = Date.now();
const cell = (subject: string, max = 3): LimitCell => ({
  bucket: "login",
  subject,
  costMs: 60_000 / max,
  windowMs: 60_000,
});

contract("counters", "a take spends from every cell or from none", async ({ stores }) => {
  const a = cell("a", 5);
  const b = cell("b", 1);
  assert.deepEqual(await stores.counters.take([b], NOW), [0]);
  const refused = await stores.counters.take([a, b], NOW);
  assert.equal(refused[0], 0, "a alone would allow");
  assert(refused[1]! > 0, "b is spent");
  // a was not charged by the refused take: its whole budget is still there.
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(await stores.counters.take([a], NOW), [0], `take ${i}`);
  }
  assert((await stores.counters.take([a], NOW))[0]! > 0);
});

contract(
  "counters",
  "concurrent takes of one cell never spend more than its budget",
  async ({ stores, second }) => {
    const c = cell("hot", 4);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? second : stores).counters.take([c], NOW)),
    );
    assert.equal(results.filter(([wait]) => wait === 0).length, 4, JSON.stringify(results));
  },
);

contract("counters", "a give-back returns one attempt", async ({ stores }) => {
  const c = cell("g", 2);
  await stores.counters.take([c], NOW);
  await stores.counters.take([c], NOW);
  assert((await stores.counters.take([c], NOW))[0]! > 0);
  await stores.counters.giveBack(c, NOW);
  assert.deepEqual(await stores.counters.take([c], NOW), [0]);
  await stores.counters.giveBack(cell("never-taken"), NOW);
});
