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

contract(
  "counters",
  "logins racing on two instances (take two cells, give one back) never deadlock",
  async ({ stores, second }) => {
    // A login's pattern: the client's and the account's cells in one take, then the account's
    // given back, which empties and deletes its row; the next take creates it again. On
    // PostgreSQL a take that locked the account's row with INSERT ... DO NOTHING and then
    // SELECT ... FOR UPDATE lost 27 of 143 such takes to deadlocks (503 busy in the fleet test).
    const client = { ...cell("127.0.0.1", 1000), bucket: "login_client" };
    const account = { ...cell("bob", 1000), bucket: "login_account" };
    const failures: string[] = [];
    await Promise.all(Array.from({ length: 8 }, async (_, loop) => {
      const instance = loop % 2 ? second : stores;
      for (let i = 0; i < 25; i++) {
        try {
          const now = Date.now();
          assert.deepEqual(await instance.counters.take([client, account], now), [0, 0]);
          await instance.counters.giveBack(account, now);
        } catch (err) {
          failures.push(String(err));
        }
      }
    }));
    assert.deepEqual(failures, []);
  },
);
