/**
 * The second-factor store contracts (`src/mfa/mfa_store.ts`, `src/passkeys/passkey_store.ts`),
 * run unchanged against every engine (`engines.ts`): the fake, Deno KV and PostgreSQL.
 */
import assert from "node:assert/strict";
import type { PasskeyRecord } from "../../src/passkeys/passkey_store.ts";
import { contract } from "./engines.ts";
import { challenge, factors, NOW } from "../helpers/mfa_records.ts";

contract("mfa", "factors are written only at the versionstamp read", async ({ stores }) => {
  const store = stores.mfa;
  assert.equal(await store.getFactors("u1"), undefined);
  assert.equal(await store.putFactors("u1", factors(1), null), true);
  assert.equal(await store.putFactors("u1", factors(2), null), false, "insert-if-absent");
  const read = await store.getFactors("u1");
  assert.equal(read?.value.totp?.lastStep, 1);
  assert.equal(await store.putFactors("u1", factors(3), read!.versionstamp), true);
  assert.equal(await store.putFactors("u1", factors(4), read!.versionstamp), false, "stale");
  assert.equal((await store.getFactors("u1"))?.value.totp?.lastStep, 3);
  assert.equal(await store.getFactors("u2"), undefined, "keyed by uid");
  assert.equal(await store.deleteFactors("u1"), true);
  assert.equal(await store.deleteFactors("u1"), false);
  assert.equal(await store.getFactors("u1"), undefined);
});

contract("mfa", "a wrong code rewrites or ends the challenge, guarded", async ({ stores }) => {
  const store = stores.mfa;
  await store.createChallenge("c1", challenge, NOW);
  const read = await store.getChallenge("c1");
  assert.deepEqual(read?.value, challenge);
  const once = { ...challenge, failures: 1 };
  assert.equal(await store.failChallenge("c1", once, read!.versionstamp, NOW), true);
  assert.equal(await store.failChallenge("c1", once, read!.versionstamp, NOW), false, "stale");
  const again = await store.getChallenge("c1");
  assert.equal(again?.value.failures, 1);
  assert.equal(await store.failChallenge("c1", undefined, again!.versionstamp, NOW), true);
  assert.equal(await store.getChallenge("c1"), undefined, "the last wrong code deletes it");
});

contract("mfa", "completing is one commit checking challenge and factors", async ({ stores }) => {
  const store = stores.mfa;
  await store.putFactors("u1", factors(1), null);
  await store.createChallenge("c1", challenge, NOW);
  const c = (await store.getChallenge("c1"))!;
  const f = (await store.getFactors("u1"))!;
  const success = {
    challengeId: "c1",
    challengeVersionstamp: c.versionstamp,
    userUid: "u1",
    factors: factors(2),
    factorsVersionstamp: f.versionstamp,
  };
  // The factors moved on (another presenter spent a step): nothing is written.
  await store.putFactors("u1", factors(5), f.versionstamp);
  assert.equal(await store.completeChallenge(success), false);
  assert.ok(await store.getChallenge("c1"), "the challenge is still there");
  assert.equal((await store.getFactors("u1"))?.value.totp?.lastStep, 5);
  // Both as read: the challenge is gone and the factors written, together.
  const f2 = (await store.getFactors("u1"))!;
  const ok = { ...success, factorsVersionstamp: f2.versionstamp };
  assert.equal(await store.completeChallenge(ok), true);
  assert.equal(await store.getChallenge("c1"), undefined);
  assert.equal((await store.getFactors("u1"))?.value.totp?.lastStep, 2);
  // The same success again: the challenge is spent.
  const f3 = (await store.getFactors("u1"))!;
  assert.equal(
    await store.completeChallenge({ ...ok, factorsVersionstamp: f3.versionstamp }),
    false,
  );
  assert.equal((await store.getFactors("u1"))?.value.totp?.lastStep, 2);
});

contract(
  "passkeys",
  "ids unique, owners only, counters guarded, challenges once",
  async ({ stores }) => {
    const passkeys = stores.passkeys;
    const passkey: PasskeyRecord = {
      id: "cred1",
      userId: "ada",
      userUid: "u1",
      publicKey: "pk",
      counter: 1,
      transports: ["internal"],
      backedUp: false,
      createdAt: NOW,
    };
    assert.equal(await passkeys.createPasskey(passkey), true);
    assert.equal(await passkeys.createPasskey({ ...passkey, userUid: "u2" }), false);
    assert.deepEqual((await passkeys.listPasskeys("u1")).map((p) => p.id), ["cred1"]);
    assert.deepEqual(await passkeys.listPasskeys("u2"), []);
    const read = (await passkeys.getPasskey("cred1"))!;
    assert.equal(
      await passkeys.updatePasskey({ ...passkey, counter: 2 }, read.versionstamp),
      true,
    );
    assert.equal(
      await passkeys.updatePasskey({ ...passkey, counter: 3 }, read.versionstamp),
      false,
      "a sign-in with a stale counter loses",
    );
    assert.equal((await passkeys.getPasskey("cred1"))?.value.counter, 2);
    assert.equal(await passkeys.deletePasskey("u2", "cred1"), false, "not u2's");
    assert.equal(await passkeys.deletePasskey("u1", "cred1"), true);
    assert.deepEqual(await passkeys.listPasskeys("u1"), []);

    const challenge = {
      challenge: "c",
      purpose: "authentication" as const,
      expiresAt: NOW + 60_000,
    };
    await passkeys.putChallenge("x", challenge, NOW);
    assert.deepEqual(await passkeys.takeChallenge("x"), challenge);
    assert.equal(await passkeys.takeChallenge("x"), undefined, "used once");
  },
);

contract(
  "mfa",
  "two presenters completing one challenge at once: exactly one passes",
  async ({ stores, second }) => {
    await stores.mfa.putFactors("u1", factors(1), null);
    await stores.mfa.createChallenge("c1", challenge, NOW);
    const c = (await stores.mfa.getChallenge("c1"))!;
    const f = (await stores.mfa.getFactors("u1"))!;
    const success = (lastStep: number) => ({
      challengeId: "c1",
      challengeVersionstamp: c.versionstamp,
      userUid: "u1",
      factors: factors(lastStep),
      factorsVersionstamp: f.versionstamp,
    });
    const results = await Promise.all([
      stores.mfa.completeChallenge(success(2)),
      second.mfa.completeChallenge(success(3)),
    ]);
    assert.equal(results.filter(Boolean).length, 1);
    const winner = results[0] ? 2 : 3;
    assert.equal((await stores.mfa.getFactors("u1"))?.value.totp?.lastStep, winner);
  },
);

// What `store export` reads: every user's factors by uid, and nothing of the pending challenges
// (a factor left out would let its user sign in with a password alone after a move).
contract(
  "mfa",
  "allFactors lists every user's factors by uid, no challenges",
  async ({ stores }) => {
    const store = stores.mfa;
    assert.deepEqual(await collect(store.allFactors()), []);
    await store.putFactors("u1", factors(1), null);
    await store.putFactors("u2", { ...factors(7), userId: "bob" }, null);
    await store.putFactors("u3", factors(1), null);
    await store.deleteFactors("u3");
    await store.createChallenge("c1", challenge, NOW);
    const listed = (await collect(store.allFactors())).sort((a, b) =>
      a.userUid < b.userUid ? -1 : 1
    );
    assert.deepEqual(listed, [
      { userUid: "u1", record: factors(1) },
      { userUid: "u2", record: { ...factors(7), userId: "bob" } },
    ]);
  },
);

contract(
  "mfa",
  "allFactors pages past one batch without losing or repeating one",
  async ({ stores }) => {
    const uids = Array.from({ length: 1234 }, (_, i) => `u${String(i).padStart(4, "0")}`);
    for (let i = 0; i < uids.length; i += 100) {
      await Promise.all(
        uids.slice(i, i + 100).map((uid) => stores.mfa.putFactors(uid, factors(1), null)),
      );
    }
    const listed = (await collect(stores.mfa.allFactors())).map((f) => f.userUid).sort();
    assert.deepEqual(listed, uids);
  },
);

contract(
  "passkeys",
  "allPasskeys lists every user's passkeys, no challenges",
  async ({ stores }) => {
    const passkeys = stores.passkeys;
    assert.deepEqual(await collect(passkeys.allPasskeys()), []);
    const passkey = (id: string, userUid: string): PasskeyRecord => ({
      id,
      userId: userUid === "u1" ? "ada" : "bob",
      userUid,
      publicKey: `pk-${id}`,
      counter: 3,
      transports: ["usb", "nfc"],
      backedUp: true,
      createdAt: NOW,
      lastUsedAt: NOW + 1,
    });
    for (const [id, uid] of [["a", "u1"], ["b", "u2"], ["c", "u1"], ["gone", "u2"]] as const) {
      assert.equal(await passkeys.createPasskey(passkey(id, uid)), true);
    }
    assert.equal(await passkeys.deletePasskey("u2", "gone"), true);
    await passkeys.putChallenge("x", {
      challenge: "c",
      purpose: "registration",
      userUid: "u1",
      expiresAt: NOW + 60_000,
    }, NOW);
    const listed = (await collect(passkeys.allPasskeys())).sort((a, b) => a.id < b.id ? -1 : 1);
    assert.deepEqual(listed, [passkey("a", "u1"), passkey("b", "u2"), passkey("c", "u1")]);
  },
);

contract("passkeys", "allPasskeys pages past one batch", async ({ stores }) => {
  const ids = Array.from({ length: 1234 }, (_, i) => `cred${String(i).padStart(4, "0")}`);
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(
      ids.slice(i, i + 100).map((id, j) =>
        stores.passkeys.createPasskey({
          id,
          userId: "ada",
          userUid: `u${j % 7}`,
          publicKey: "pk",
          counter: 0,
          transports: [],
          backedUp: false,
          createdAt: NOW,
        })
      ),
    );
  }
  const listed = (await collect(stores.passkeys.allPasskeys())).map((p) => p.id).sort();
  assert.deepEqual(listed, ids);
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
