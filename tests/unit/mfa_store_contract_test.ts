/**
 * One contract for the second-factor store port (`src/mfa/mfa_store.ts`), run unchanged against
 * Deno KV and the in-memory fake (as Ory's `TestPersister` runs against each engine), so the fake
 * the tests lean on cannot drift from the real store. The PostgreSQL adapter joins here.
 */
import assert from "node:assert/strict";
import { StoreUnavailableError } from "../../src/errors.ts";
import type { MfaChallenge, MfaRecord, MfaStore } from "../../src/mfa/mfa_store.ts";
import type { PasskeyRecord, PasskeyStore } from "../../src/passkeys/passkey_store.ts";
import { kvStores } from "../../src/store/kv_stores.ts";
import { fakeStores } from "../helpers/fake_stores.ts";

const NOW = Date.UTC(2026, 0, 1);
const factors = (lastStep: number): MfaRecord => ({
  userId: "ada",
  totp: { sealed: { iv: "iv", ciphertext: "ct" }, confirmedAt: NOW, lastStep },
  recoveryCodes: ["h1", "h2"],
  updatedAt: NOW,
});
const challenge: MfaChallenge = {
  userId: "ada",
  userUid: "u1",
  userVersionstamp: "v",
  role: "user",
  budget: { bucket: "login_account", subject: "ada" },
  failures: 0,
  expiresAt: NOW + 300_000,
};

const engines: [
  string,
  () => Promise<{ store: MfaStore; passkeys: PasskeyStore; close(): void }>,
][] = [
  ["Deno KV", async () => {
    const kv = await Deno.openKv(":memory:");
    const stores = kvStores(kv);
    return { store: stores.mfa, passkeys: stores.passkeys, close: () => kv.close() };
  }],
  ["fake", () => {
    const stores = fakeStores({ mode: "ok" });
    return Promise.resolve({ store: stores.mfa, passkeys: stores.passkeys, close() {} });
  }],
];

for (const [engine, open] of engines) {
  Deno.test(`MFA store contract (${engine}): factors are written only at the versionstamp read`, async () => {
    const { store, close } = await open();
    try {
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
    } finally {
      close();
    }
  });

  Deno.test(`MFA store contract (${engine}): a wrong code rewrites or ends the challenge, guarded`, async () => {
    const { store, close } = await open();
    try {
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
    } finally {
      close();
    }
  });

  Deno.test(`MFA store contract (${engine}): completing is one commit checking challenge and factors`, async () => {
    const { store, close } = await open();
    try {
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
    } finally {
      close();
    }
  });
}

for (const [engine, open] of engines) {
  Deno.test(`passkey store contract (${engine}): ids unique, owners only, counters guarded, challenges once`, async () => {
    const { passkeys, close } = await open();
    try {
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

      const challenge = { challenge: "c", purpose: "authentication" as const, expiresAt: NOW + 1 };
      await passkeys.putChallenge("x", challenge, NOW);
      assert.deepEqual(await passkeys.takeChallenge("x"), challenge);
      assert.equal(await passkeys.takeChallenge("x"), undefined, "used once");
    } finally {
      close();
    }
  });
}

Deno.test("MFA store (Deno KV): every operation on a failing KV throws StoreUnavailableError", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = kvStores(kv).mfa;
  kv.close();
  const operations: [string, () => Promise<unknown>][] = [
    ["getFactors", () => store.getFactors("u1")],
    ["putFactors", () => store.putFactors("u1", factors(1), null)],
    ["deleteFactors", () => store.deleteFactors("u1")],
    ["createChallenge", () => store.createChallenge("c", challenge, NOW)],
    ["getChallenge", () => store.getChallenge("c")],
    ["failChallenge", () => store.failChallenge("c", undefined, "v", NOW)],
    ["completeChallenge", () =>
      store.completeChallenge({
        challengeId: "c",
        challengeVersionstamp: "v",
        userUid: "u1",
        factors: factors(1),
        factorsVersionstamp: "v",
      })],
  ];
  for (const [name, operation] of operations) {
    await assert.rejects(operation, StoreUnavailableError, name);
  }
});
