/**
 * Issue 20: a busy Deno KV ("database is locked", another process holds the file's write lock)
 * is retried inside the one store-call wrapper, bounded and jittered; any other failure is not
 * retried; a busy store that outlasts the tries becomes `StoreUnavailableError` naming the call.
 */
import assert from "node:assert/strict";
import { StoreUnavailableError } from "../../src/errors.ts";
import {
  backoffDelay,
  BUSY_RETRY,
  isTransientStoreError,
  retryTransient,
} from "../../src/store/busy_retry.ts";
import { kvCall } from "../../src/store/kv_layout.ts";
import { kvStores } from "../../src/store/kv_stores.ts";

const busy = () => new TypeError("database is locked");

/** An operation that fails with `errors` in turn, then answers `value`; counts its calls. */
function flaky<T>(errors: (() => Error)[], value: T) {
  let calls = 0;
  return {
    calls: () => calls,
    run: () => {
      const next = errors[calls++];
      return next === undefined ? Promise.resolve(value) : Promise.reject(next());
    },
  };
}

function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: (ms: number) => (waits.push(ms), Promise.resolve()) };
}

Deno.test("busy retry: SQLite's busy and locked errors are transient; nothing else is", () => {
  for (
    const message of [
      "database is locked",
      "Database is locked",
      "database table is locked",
      "database is busy",
      "SQLITE_BUSY: database is locked",
    ]
  ) {
    assert.ok(isTransientStoreError(new TypeError(message)), message);
  }
  for (
    const err of [
      new Deno.errors.BadResource("Bad resource ID"), // a closed KV
      new TypeError("Value too large (max 65536 bytes)"),
      new TypeError("invalid cursor"),
      new Error("disk I/O error"),
      new StoreUnavailableError("store failed (take): database is locked"),
      "database is locked", // not an Error
    ]
  ) {
    assert.ok(!isTransientStoreError(err), String(err));
  }
});

Deno.test("busy retry: two busy tries, then the answer; the waits are jittered and grow", async () => {
  const op = flaky([busy, busy], "done");
  const { waits, sleep } = recordingSleep();
  assert.equal(await retryTransient(op.run, { sleep, random: () => 0.5 }), "done");
  assert.equal(op.calls(), 3);
  assert.deepEqual(waits, [1.5, 3]); // ceilings 2 and 4 ms, half of each plus half of the rest
});

Deno.test("busy retry: a failure that is not busy is thrown at once, untouched", async () => {
  const closed = new Deno.errors.BadResource("Bad resource ID");
  const op = flaky([() => closed, busy], "never");
  const { waits, sleep } = recordingSleep();
  await assert.rejects(retryTransient(op.run, { sleep }), (err) => err === closed);
  assert.equal(op.calls(), 1);
  assert.deepEqual(waits, []);
});

Deno.test("busy retry: bounded: a store busy for good gives up after the policy's tries", async () => {
  // Busy 100 times, then a different failure: a retry without its bound would reach that.
  const runaway = flaky(
    [...Array.from({ length: 100 }, () => busy), () => new Error("ran past the bound")],
    "never",
  );
  const { waits, sleep } = recordingSleep();
  await assert.rejects(
    retryTransient(runaway.run, { sleep }),
    (err: Error) => err.name === "BusyError" && err.message === "database is locked (20 tries)",
  );
  assert.equal(runaway.calls(), BUSY_RETRY.attempts);
  assert.equal(waits.length, BUSY_RETRY.attempts - 1);
  const waited = waits.reduce((a, b) => a + b, 0);
  assert.ok(waited <= 1500, `waited ${waited} ms in all`);
  assert.ok(waits.every((ms) => ms > 0 && ms <= BUSY_RETRY.maxDelayMs), String(waits));
});

Deno.test("busy retry: each wait lies in [ceiling/2, ceiling], the ceiling doubling to its cap", () => {
  const policy = { attempts: 10, firstDelayMs: 2, maxDelayMs: 100 };
  for (let attempt = 1; attempt < 12; attempt++) {
    const ceiling = Math.min(100, 2 * 2 ** (attempt - 1));
    assert.equal(backoffDelay(attempt, policy, () => 0), ceiling / 2);
    assert.ok(backoffDelay(attempt, policy, () => 0.999) <= ceiling);
  }
});

Deno.test("kvCall: a busy store that outlasts the tries is StoreUnavailableError naming the call", async () => {
  const { sleep } = recordingSleep();
  const op = flaky(Array.from({ length: 30 }, () => busy), "never");
  await assert.rejects(
    kvCall("commitRotation", op.run, { sleep, policy: { ...BUSY_RETRY, attempts: 3 } }),
    (err: unknown) =>
      err instanceof StoreUnavailableError && err.operation === "commitRotation" &&
      err.reason === "database is locked (3 tries)",
  );
  assert.equal(op.calls(), 3);
});

/**
 * A real in-memory Deno KV whose next `busyCommits` atomic commits throw what SQLite's busy
 * file does, before anything is written.
 */
function busyKv(kv: Deno.Kv, state: { busyCommits: number }): Deno.Kv {
  return new Proxy(kv, {
    get(target, property) {
      if (property === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => state.busyCommits-- > 0 ? Promise.reject(busy()) : commit();
          return op;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("KV stores: commits that find the file busy are tried again and land once", async () => {
  using kv = await Deno.openKv(":memory:");
  const state = { busyCommits: 0 };
  const stores = kvStores(busyKv(kv, state));
  const now = Date.now();
  const session = {
    sid: "s1",
    userId: "ada",
    userUid: "u1",
    epoch: 0,
    role: "user",
    createdAt: now,
    refreshedAt: now,
    expiresAt: now + 60_000,
    maxExpiresAt: now + 60_000,
    currentHash: "h",
  };
  state.busyCommits = 3;
  assert.equal((await stores.sessions.createSession({ session, now })).outcome, "created");
  assert.equal(state.busyCommits, -1, "three busy commits, then the one that landed");
  assert.equal((await stores.sessions.listUserSessions("u1")).length, 1);

  const cell = { bucket: "login_account", subject: "ada", costMs: 60_000, windowMs: 120_000 };
  state.busyCommits = 2;
  assert.deepEqual(await stores.counters.take([cell], now), [0]);
  // A burst of two: had a busy commit been written as well, the second would be refused.
  assert.deepEqual(await stores.counters.take([cell], now), [0], "the second is allowed");
  assert.notDeepEqual(await stores.counters.take([cell], now), [0], "the third is refused");
});
