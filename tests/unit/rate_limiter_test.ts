import assert from "node:assert/strict";
import type { Rate } from "../../src/duration.ts";
import type { CounterStore } from "../../src/limits/counter_store.ts";
import { type CountedAttempt, createRateLimiter } from "../../src/limits/rate_limiter.ts";
import { KvCounterStore } from "../../src/store/kv_counters.ts";
import { KEYS } from "../../src/store/kv_layout.ts";
import { TestClock } from "../helpers/app.ts";

interface Fixture {
  readonly store: CounterStore;
  readonly clock: TestClock;
  readonly kv: Deno.Kv;
  readonly limiter: ReturnType<typeof createRateLimiter>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const kv = await Deno.openKv(":memory:");
  const store = new KvCounterStore(kv);
  const clock = new TestClock(); // 2026-01-01T00:00:00Z: a whole number of any window
  return {
    store,
    clock,
    kv,
    limiter: createRateLimiter(store, clock.now),
    [Symbol.asyncDispose]: () => Promise.resolve(kv.close()),
  };
}

const FIVE_PER_MINUTE = { max: 5, windowSeconds: 60 };

/** Adds `delta` to one counter through `store`; its new count. */
async function add(
  store: CounterStore,
  bucket: string,
  subject: string,
  windowStart: number,
  windowMs: number,
  now: number,
  delta = 1,
): Promise<number> {
  return (await store.increment([{ bucket, subject, windowStart, windowMs, delta }], now))[0]!;
}

/** Counts one attempt against one limit. */
async function hit(
  f: Fixture,
  bucket: string,
  subject: string,
  rate: Rate,
): Promise<CountedAttempt> {
  return (await f.limiter.hitAll([{ bucket, subject, rate }]))[0]!;
}

/** A counter's current value, read straight from KV. */
async function count(f: Fixture, bucket: string, subject: string, windowStart: number) {
  return (await f.kv.get<number>(KEYS.counter(bucket, subject, windowStart))).value ?? 0;
}

Deno.test("KvCounterStore.increment: counts per bucket, subject and window", async () => {
  await using f = await fixture();
  const start = f.clock.ms;
  assert.equal(await count(f, "login", "ada", start), 0);
  for (let i = 1; i <= 4; i++) {
    assert.equal(await add(f.store, "login", "ada", start, 60_000, start), i);
  }
  assert.equal(await count(f, "login", "ada", start), 4);
  assert.equal(await add(f.store, "login", "bob", start, 60_000, start), 1, "other subject");
  assert.equal(await add(f.store, "client", "ada", start, 60_000, start), 1, "other bucket");
  assert.equal(
    await add(f.store, "login", "ada", start + 60_000, 60_000, start),
    1,
    "other window",
  );
  assert.equal(await add(f.store, "login", "ada", start, 60_000, start, -4), 0, "given back");
  assert.equal(await count(f, "login", "ada", start), 0);
  assert.equal(await add(f.store, "login", "ada", start, 60_000, start), 1);
});

Deno.test("KvCounterStore.increment: concurrent hits are all counted", async () => {
  await using f = await fixture();
  const start = f.clock.ms;
  const counts = await Promise.all(
    Array.from({ length: 200 }, () => add(f.store, "login", "ada", start, 60_000, start)),
  );
  assert.deepEqual([...counts].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1));
  assert.equal(await count(f, "login", "ada", start), 200);
});

Deno.test("KvCounterStore.increment: two stores on one KV (two instances) still count every hit", async () => {
  await using f = await fixture();
  const other = new KvCounterStore(f.kv);
  const start = f.clock.ms;
  await Promise.all(
    Array.from(
      { length: 40 },
      (_, i) => add(i % 2 ? other : f.store, "login", "ada", start, 60_000, start),
    ),
  );
  assert.equal(await count(f, "login", "ada", start), 40);
});

Deno.test("rate limiter: limited only past max within the window", async () => {
  await using f = await fixture();
  for (let i = 1; i <= 5; i++) {
    const state = await hit(f, "login", "ada", FIVE_PER_MINUTE);
    assert.equal(state.limited, false, `attempt ${i}`);
    f.clock.advance(1);
  }
  assert.equal((await hit(f, "login", "ada", FIVE_PER_MINUTE)).limited, true);
  assert.equal((await hit(f, "login", "ada", FIVE_PER_MINUTE)).limited, true);
  assert.equal((await hit(f, "login", "bob", FIVE_PER_MINUTE)).limited, false);
  assert.equal((await hit(f, "refresh", "ada", FIVE_PER_MINUTE)).limited, false);
});

Deno.test("rate limiter: retryAfter counts down to the end of the window", async () => {
  await using f = await fixture();
  assert.equal((await hit(f, "login", "ada", FIVE_PER_MINUTE)).retryAfter, 60);
  f.clock.advance(0.5);
  assert.equal((await hit(f, "login", "ada", FIVE_PER_MINUTE)).retryAfter, 60, "rounded up");
  f.clock.advance(19.5);
  assert.equal((await hit(f, "login", "ada", FIVE_PER_MINUTE)).retryAfter, 40);
  f.clock.advance(39.9);
  const last = await hit(f, "login", "ada", FIVE_PER_MINUTE);
  assert.equal(last.retryAfter, 1, "never 0");
  for (let i = 0; i < 3; i++) await hit(f, "login", "ada", FIVE_PER_MINUTE);
  const limited = await hit(f, "login", "ada", FIVE_PER_MINUTE);
  assert.equal(limited.limited, true);
  assert.ok(limited.retryAfter >= 1 && limited.retryAfter <= 60);
});

Deno.test("rate limiter: a new window starts from zero", async () => {
  await using f = await fixture();
  for (let i = 0; i < 6; i++) await hit(f, "login", "ada", FIVE_PER_MINUTE);
  f.clock.advance(59);
  assert.equal((await hit(f, "login", "ada", FIVE_PER_MINUTE)).limited, true);
  f.clock.advance(1);
  const fresh = await hit(f, "login", "ada", FIVE_PER_MINUTE);
  assert.equal(fresh.limited, false);
  assert.equal(fresh.retryAfter, 60);
});

Deno.test("rate limiter: a refunded attempt is given back to the window it was counted in", async () => {
  await using f = await fixture();
  const attempts = [];
  for (let i = 0; i < 5; i++) attempts.push(await hit(f, "login", "ada", FIVE_PER_MINUTE));
  await f.limiter.refund("login", "ada", FIVE_PER_MINUTE, attempts[0]!);
  assert.equal((await hit(f, "login", "ada", FIVE_PER_MINUTE)).limited, false);
  assert.equal((await hit(f, "login", "ada", FIVE_PER_MINUTE)).limited, true);
  // A refund after the window rolled over changes the old window, not the new one.
  f.clock.advance(60);
  const fresh = await hit(f, "login", "ada", FIVE_PER_MINUTE);
  await f.limiter.refund("login", "ada", FIVE_PER_MINUTE, attempts[1]!);
  assert.equal(await count(f, "login", "ada", fresh.windowStart), 1);
});

Deno.test("rate limiter: windows are aligned to the rate's length", async () => {
  await using f = await fixture();
  const fifteenMinutes = { max: 1, windowSeconds: 900 };
  f.clock.advance(600); // 10 minutes into a 15-minute window
  const first = await hit(f, "login", "ada", fifteenMinutes);
  assert.equal(first.limited, false);
  assert.equal(first.retryAfter, 300);
  assert.equal((await hit(f, "login", "ada", fifteenMinutes)).limited, true);
  f.clock.advance(300);
  assert.equal((await hit(f, "login", "ada", fifteenMinutes)).limited, false);
});

Deno.test("rate limiter: concurrent hits are all counted; exactly max pass", async () => {
  await using f = await fixture();
  const rate = { max: 7, windowSeconds: 60 };
  const states = await Promise.all(
    Array.from({ length: 20 }, () => hit(f, "login", "ada", rate)),
  );
  assert.equal(states.filter((s) => !s.limited).length, 7);
  assert.equal(await count(f, "login", "ada", f.clock.ms), 20);
});
