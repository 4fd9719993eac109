import assert from "node:assert/strict";
import type { CounterStore, LimitCell } from "../../src/limits/counter_store.ts";
import { createRateLimiter, type Limit, MAX_IN_FLIGHT } from "../../src/limits/rate_limiter.ts";
import { KvCounterStore, MAX_QUEUED_PER_CELL } from "../../src/store/kv_counters.ts";
import { KEYS } from "../../src/store/kv_layout.ts";
import { ContendedError } from "../../src/errors.ts";
import { TestClock } from "../helpers/app.ts";

async function fixture(store?: (kv: Deno.Kv) => CounterStore) {
  const kv = await Deno.openKv(":memory:");
  const counters = store ? store(kv) : new KvCounterStore(kv);
  const clock = new TestClock();
  return {
    kv,
    store: counters,
    clock,
    limiter: createRateLimiter(counters, clock.now),
    [Symbol.asyncDispose]: () => Promise.resolve(kv.close()),
  };
}

const fivePerMinute = (subject = "ada", bucket = "login_account"): Limit => ({
  bucket,
  subject,
  rate: { max: 5, windowSeconds: 60 },
});
const cell = (subject = "ada"): LimitCell => ({
  bucket: "login_account",
  subject,
  costMs: 12_000,
  windowMs: 60_000,
});

/** A counter store whose commits take 5 ms, counting its calls. */
class SlowStore implements CounterStore {
  calls = 0;
  constructor(private readonly inner: CounterStore) {}
  async take(cells: readonly LimitCell[], now: number) {
    this.calls++;
    await new Promise((r) => setTimeout(r, 5));
    return await this.inner.take(cells, now);
  }
  async giveBack(c: LimitCell, now: number) {
    this.calls++;
    await new Promise((r) => setTimeout(r, 5));
    await this.inner.giveBack(c, now);
  }
}

Deno.test("KvCounterStore.take: a burst of max, then one per window/max (GCRA)", async () => {
  await using f = await fixture();
  const now = f.clock.ms;
  for (let i = 1; i <= 5; i++) assert.deepEqual(await f.store.take([cell()], now), [0], `${i}`);
  // The sixth waits for one attempt's cost (12 s), not for a window edge.
  assert.deepEqual(await f.store.take([cell()], now), [12_000]);
  assert.deepEqual(await f.store.take([cell()], now + 11_999), [1]);
  assert.deepEqual(await f.store.take([cell()], now + 12_000), [0]);
  assert.deepEqual(await f.store.take([cell()], now + 12_000), [12_000]);
  assert.deepEqual(await f.store.take([cell("bob")], now), [0], "another subject");
});

Deno.test("KvCounterStore.take: no window-edge burst: a burst is at most max, at any time", async () => {
  await using f = await fixture();
  // Fixed one-minute windows let 5 through at 0:59 and 5 more at 1:00. GCRA does not.
  const allowed = [];
  for (const at of [59_000, 59_500, 60_000, 60_500]) {
    for (let i = 0; i < 5; i++) {
      if ((await f.store.take([cell()], f.clock.ms + at))[0] === 0) allowed.push(at);
    }
  }
  assert.equal(allowed.length, 5, allowed.join(","));
});

Deno.test("KvCounterStore.take: a steady attacker gets max, then one per window/max", async () => {
  await using f = await fixture();
  const start = f.clock.ms;
  const allowed: number[] = [];
  for (let s = 0; s < 300; s++) {
    if ((await f.store.take([cell()], start + s * 1000))[0] === 0) allowed.push(s);
  }
  // In any span of d seconds: at most 5 + d / 12 (the burst, then the steady rate).
  for (const first of allowed) {
    for (const d of [1, 30, 60, 120]) {
      const inSpan = allowed.filter((s) => s >= first && s < first + d).length;
      assert.ok(inSpan <= 5 + Math.floor(d / 12), `${inSpan} in the ${d} s from ${first}`);
    }
  }
  assert.equal(allowed.length, 5 + 24, allowed.join(",")); // 0 x5, then 12, 24, ..., 288
});

Deno.test("KvCounterStore.take: all or none: a refused cell writes nothing, no cell spends", async () => {
  await using f = await fixture();
  const now = f.clock.ms;
  const one = { ...cell("one"), costMs: 60_000 };
  assert.deepEqual(await f.store.take([one], now), [0]);
  const before = (await f.kv.get(KEYS.limit("login_account", "two"))).versionstamp;
  assert.deepEqual(await f.store.take([cell("two"), one], now), [0, 60_000]);
  assert.equal((await f.kv.get(KEYS.limit("login_account", "two"))).versionstamp, before);
});

Deno.test("KvCounterStore: a given-back attempt can be spent again; entries expire", async () => {
  await using f = await fixture();
  const now = f.clock.ms;
  for (let i = 0; i < 5; i++) await f.store.take([cell()], now);
  await f.store.giveBack(cell(), now);
  assert.deepEqual(await f.store.take([cell()], now), [0]);
  assert.deepEqual(await f.store.take([cell()], now), [12_000]);
  for (let i = 0; i < 10; i++) await f.store.giveBack(cell(), now);
  assert.equal((await f.kv.get(KEYS.limit("login_account", "ada"))).value, null, "deleted at now");
});

Deno.test("KvCounterStore.take: concurrent takes are all counted; exactly max pass", async () => {
  await using f = await fixture();
  const other = new KvCounterStore(f.kv); // a second instance on the same KV
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => (i % 2 ? other : f.store).take([cell()], f.clock.ms)),
  );
  assert.equal(results.filter(([w]) => w === 0).length, 5);
});

Deno.test("KvCounterStore: updates queue per cell, not behind other cells", async () => {
  await using f = await fixture();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const kv = f.kv;
  const realGetMany = kv.getMany.bind(kv);
  // Hold every read of cell "hot" until released; cell "cold" must not wait for it.
  kv.getMany = (async (keys: Deno.KvKey[]) => {
    if (keys.some((k) => k[2] === "hot")) await gate;
    return await realGetMany(keys);
  }) as typeof kv.getMany;
  const hot = f.store.take([cell("hot")], f.clock.ms);
  const cold = await Promise.race([
    f.store.take([cell("cold")], f.clock.ms),
    new Promise((r) => setTimeout(() => r("waited"), 2000)),
  ]);
  assert.deepEqual(cold, [0]);
  release();
  assert.deepEqual(await hot, [0]);
});

Deno.test("KvCounterStore: past MAX_QUEUED_PER_CELL waiting updates, ContendedError (never an unbounded queue)", async () => {
  await using f = await fixture();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const realGetMany = f.kv.getMany.bind(f.kv);
  f.kv.getMany = (async (keys: Deno.KvKey[]) => {
    await gate;
    return await realGetMany(keys);
  }) as typeof f.kv.getMany;
  const big = { ...cell(), costMs: 1 };
  const queued = Array.from({ length: MAX_QUEUED_PER_CELL }, () => f.store.take([big], f.clock.ms));
  await assert.rejects(f.store.take([big], f.clock.ms), ContendedError);
  release();
  await Promise.all(queued);
  assert.deepEqual(await f.store.take([big], f.clock.ms), [0], "the queue drained");
});

Deno.test("rate limiter: refused by the store once, then from memory until the retry time", async () => {
  await using f = await fixture();
  for (let i = 0; i < 5; i++) assert.equal(await f.limiter.take([fivePerMinute()]), undefined);
  const first = await f.limiter.take([fivePerMinute()]);
  assert.deepEqual(first, { bucket: "login_account", retryAfter: 12, source: "store" });
  f.clock.advance(5);
  assert.deepEqual(await f.limiter.take([fivePerMinute()]), {
    bucket: "login_account",
    retryAfter: 7,
    source: "memory",
  });
  assert.equal(f.limiter.refusedFromMemory([fivePerMinute()])?.source, "memory");
  f.clock.advance(7);
  assert.equal(await f.limiter.take([fivePerMinute()]), undefined, "one more after 12 s");
});

Deno.test("rate limiter: with commits taking 5 ms, refused attempts cause no commits and do not wait", async () => {
  await using f = await fixture((kv) => new SlowStore(new KvCounterStore(kv)));
  const slow = f.store as SlowStore;
  const client = fivePerMinute("203.0.113.7", "login_client");
  for (let i = 0; i < 5; i++) assert.equal(await f.limiter.take([client]), undefined);
  assert.equal((await f.limiter.take([client]))?.source, "store");
  const callsWhenLocked = slow.calls;
  const started = performance.now();
  const refusals = await Promise.all(Array.from({ length: 500 }, () => f.limiter.take([client])));
  const elapsed = performance.now() - started;
  assert.ok(refusals.every((r) => r?.source === "memory"));
  assert.equal(slow.calls, callsWhenLocked, "no store call for a refused attempt");
  // 500 attempts through a 5 ms store would take 2.5 s queued; from memory they take none.
  assert.ok(elapsed < 1000, `${elapsed.toFixed(0)} ms`);
  // Another subject is not refused.
  assert.equal(await f.limiter.take([fivePerMinute("198.51.100.1", "login_client")]), undefined);
});

Deno.test("rate limiter: at most min(max, MAX_IN_FLIGHT) attempts of one subject reach the store at once", async () => {
  await using f = await fixture((kv) => new SlowStore(new KvCounterStore(kv)));
  const slow = f.store as SlowStore;
  const limit = fivePerMinute();
  const results = await Promise.all(Array.from({ length: 50 }, () => f.limiter.take([limit])));
  assert.equal(slow.calls, 5, "the rest were refused before the store");
  assert.equal(results.filter((r) => r === undefined).length, 5);
  assert.ok(results.filter((r) => r?.source === "in_flight").every((r) => r?.retryAfter === 1));
  assert.ok(MAX_IN_FLIGHT >= 5);
});

Deno.test("rate limiter: a generous limit still lets at most MAX_IN_FLIGHT attempts of one subject reach the store at once", async () => {
  await using f = await fixture((kv) => new SlowStore(new KvCounterStore(kv)));
  const slow = f.store as SlowStore;
  const generous: Limit = {
    bucket: "login_client",
    subject: "198.51.100.9",
    rate: { max: 10_000, windowSeconds: 60 },
  };
  const results = await Promise.all(
    Array.from({ length: MAX_IN_FLIGHT + 36 }, () => f.limiter.take([generous])),
  );
  assert.equal(MAX_IN_FLIGHT, 64, "the cap the README documents");
  assert.equal(slow.calls, MAX_IN_FLIGHT, "the rest were refused before the store");
  assert.equal(results.filter((r) => r?.source === "in_flight").length, 36);
});

Deno.test("rate limiter: all or none across limits; giveBack returns the attempt", async () => {
  await using f = await fixture();
  const client = { bucket: "login_client", subject: "c", rate: { max: 100, windowSeconds: 60 } };
  const account = { bucket: "login_account", subject: "ada", rate: { max: 1, windowSeconds: 60 } };
  assert.equal(await f.limiter.take([client, account]), undefined);
  assert.equal((await f.limiter.take([client, account]))?.bucket, "login_account");
  await f.limiter.giveBack(account); // (would be the success of the first)
  f.clock.advance(60);
  assert.equal(await f.limiter.take([client, account]), undefined);
  // The client spent 2 (the refused attempt spent nothing): 98 left of 100 over the minute.
});

Deno.test("rate limiter: remembers at most maxSubjects refusals (oldest forgotten first)", async () => {
  await using f = await fixture();
  const limiter = createRateLimiter(f.store, f.clock.now, { maxSubjects: 2 });
  const one = (s: string) => ({
    bucket: "login_client",
    subject: s,
    rate: { max: 1, windowSeconds: 60 },
  });
  for (const s of ["a", "b", "c"]) {
    await limiter.take([one(s)]);
    assert.equal((await limiter.take([one(s)]))?.source, "store");
  }
  assert.equal(limiter.refusedFromMemory([one("a")]), undefined, "forgotten");
  assert.equal(limiter.refusedFromMemory([one("c")])?.source, "memory");
  assert.equal((await limiter.take([one("a")]))?.source, "store", "the store still refuses");
});
