import assert from "node:assert/strict";
import { join } from "node:path";
import { jwtVerify, SignJWT } from "jose";
import { ConfigError } from "../../src/config/config_error.ts";
import { StoreUnavailableError } from "../../src/errors.ts";
import { generateStoredKey, type KeyRing, writeKeyFile } from "../../src/crypto/keys.ts";
import { deriveKeyEncryptionKey } from "../../src/keys/key_encryption.ts";
import { IN_USE_PERIOD_MS, newStoredKey, retireRefusal } from "../../src/keys/key_set.ts";
import type { StoredKeySet } from "../../src/keys/key_store.ts";
import { LiveKeyRing, type LiveKeyRingOptions } from "../../src/keys/live_key_ring.ts";
import { reencryptKeys } from "../../src/keys/reencrypt_keys.ts";
import { KvKeyStore } from "../../src/store/kv_keys.ts";
import { fakeStores, type Faults } from "../helpers/fake_stores.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE);

const SECRET = "key-store-test-secret-0123456789-abcdefghijklmn";
const OTHER_SECRET = "key-store-test-other-0123456789-abcdefghijklmn";
const START = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

class Clock {
  ms = START;
  now = () => this.ms;
}

function options(kv: Deno.Kv, clock: Clock, extra: Partial<LiveKeyRingOptions> = {}) {
  return {
    store: new KvKeyStore(kv),
    alg: "EdDSA" as const,
    secretKey: SECRET,
    previousSecretKeys: [],
    keysPath: "/nonexistent/keys.json",
    now: clock.now,
    note: () => {},
    ...extra,
  };
}

/** The kids of the ring's access-token keys in its JWKS (under EdDSA an RS256 key signs ID tokens). */
function accessKids(ring: KeyRing): string[] {
  return ring.jwks.keys.filter((k) => k.token_use === "access").map((k) => k.kid!);
}

async function signs(ring: KeyRing): Promise<string> {
  const { signing } = ring;
  const token = await new SignJWT({ sub: "ada" })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid })
    .sign(signing.key);
  const verifier = ring.verification.get(signing.kid)!;
  await jwtVerify(token, verifier.key, { algorithms: [verifier.alg] });
  return signing.kid;
}

test("LiveKeyRing: first start creates one key; a second instance gets the same set", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const a = await LiveKeyRing.open(options(kv, clock));
  const b = await LiveKeyRing.open(options(kv, clock));
  assert.deepEqual(a.current().jwks.keys.map((k) => [k.alg, k.token_use, k.state]), [
    ["EdDSA", "access", "active"],
    ["RS256", "id_token", "active"],
  ]);
  assert.equal(a.current().idTokenSigning?.alg, "RS256");
  assert.equal(a.current().idTokenSigning?.kid, b.current().idTokenSigning?.kid);
  assert.deepEqual(a.current().jwks, b.current().jwks);
  assert.equal(await signs(a.current()), await signs(b.current()));
  const stored = JSON.stringify((await new KvKeyStore(kv).read())!.set);
  assert.ok(!stored.includes('"d"'), "the private half is not stored in plain");
});

test("LiveKeyRing: a published-ahead key signs only from its activation, by the clock", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const writer = await LiveKeyRing.open(options(kv, clock));
  const follower = await LiveKeyRing.open(options(kv, clock));
  const oldKid = follower.current().signing.kid;
  const next = await writer.addKey("EdDSA", START + 10 * MINUTE);
  assert.equal(await follower.reload(), true);
  assert.equal(await follower.reload(), false, "no change, no reload");
  const states = () =>
    Object.fromEntries(
      follower.current().jwks.keys.filter((k) => k.token_use === "access").map((k) => [
        k.kid,
        k.state,
      ]),
    );
  assert.deepEqual(states(), { [oldKid]: "active", [next.kid]: "next" });
  assert.equal(await signs(follower.current()), oldKid);
  clock.ms = START + 10 * MINUTE - 1;
  assert.equal(follower.current().signing.kid, oldKid);
  clock.ms = START + 10 * MINUTE;
  assert.equal(await signs(follower.current()), next.kid, "switches with no reload");
  assert.deepEqual(states(), { [oldKid]: "retiring", [next.kid]: "active" });
  const old = follower.current().jwks.keys.find((k) => k.kid === oldKid)!;
  assert.equal(old.stopped_at, new Date(START + 10 * MINUTE).toISOString());
  assert.ok(follower.current().verification.has(oldKid), "the old key still verifies");
});

test("LiveKeyRing.follow: another writer's change arrives within a second", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const writer = await LiveKeyRing.open(options(kv, clock));
  const follower = await LiveKeyRing.open(options(kv, clock));
  const reloaded = Promise.withResolvers<KeyRing>();
  await follower.follow({ onReload: reloaded.resolve, onError: reloaded.reject });
  try {
    const started = performance.now();
    const added = await writer.addKey("EdDSA", START);
    const ring = await reloaded.promise;
    assert.ok(performance.now() - started < 1000);
    assert.equal(ring.signing.kid, added.kid);
    const marks = await new KvKeyStore(kv).inUse();
    assert.ok(marks.size >= 1, "the follower marks the key it signs with");
  } finally {
    follower.stop();
  }
});

test("LiveKeyRing: a wrong SECRET_KEY is a ConfigError; a previous one decrypts; keys reencrypt moves the keys", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const store = new KvKeyStore(kv);
  const original = await LiveKeyRing.open(options(kv, clock));
  const kid = original.current().signing.kid;
  const idKid = original.current().idTokenSigning!.kid;
  await assert.rejects(
    () => LiveKeyRing.open(options(kv, clock, { secretKey: OTHER_SECRET })),
    (err) => err instanceof ConfigError && err.variable === "SECRET_KEY",
  );
  await assert.rejects(() => reencryptKeys(store, OTHER_SECRET, []), ConfigError);
  const notes: string[] = [];
  const before = (await store.read())!.versionstamp;
  const rotated = await LiveKeyRing.open(
    options(kv, clock, {
      secretKey: OTHER_SECRET,
      previousSecretKeys: [SECRET],
      note: (l) => notes.push(l),
    }),
  );
  assert.equal(await signs(rotated.current()), kid);
  assert.match(notes.join("\n"), /run `deno task keys reencrypt`/);
  assert.equal((await store.read())!.versionstamp, before, "starting re-encrypts nothing");
  assert.deepEqual(await reencryptKeys(store, OTHER_SECRET, [SECRET]), {
    reencrypted: [kid, idKid],
    current: [],
    unreadable: [],
  });
  // Now the new secret alone opens it, and the old one no longer does.
  const fresh = await LiveKeyRing.open(options(kv, clock, { secretKey: OTHER_SECRET }));
  assert.equal(fresh.current().signing.kid, kid);
  await assert.rejects(() => LiveKeyRing.open(options(kv, clock)), ConfigError);
  // The old-secret instance that was running keeps the key it had: same kid, same key pair.
  assert.equal(await original.reload(), true);
  assert.equal(await signs(original.current()), kid);
  assert.equal(original.current().outOfDate, undefined);
});

test("LiveKeyRing: a ciphertext moved onto another record does not decrypt", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const ring = await LiveKeyRing.open(options(kv, clock));
  await ring.addKey("EdDSA", START + MINUTE);
  const store = new KvKeyStore(kv);
  const current = (await store.read())!;
  const [a, b] = current.set.keys as [StoredKeySet["keys"][0], StoredKeySet["keys"][0]];
  const swapped: StoredKeySet = {
    version: 1,
    keys: [{ ...a, private_jwk: b.private_jwk }, { ...b, private_jwk: a.private_jwk }],
  };
  assert.ok(await store.write(swapped, current.versionstamp));
  await assert.rejects(() => LiveKeyRing.open(options(kv, clock)), ConfigError);
});

test("LiveKeyRing: a KEYS_PATH file is imported once, its newest key signing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "auth-unit-keystore-" });
  try {
    using kv = await Deno.openKv(":memory:");
    const clock = new Clock();
    const keysPath = join(dir, "keys.json");
    const older = await generateStoredKey("EdDSA", new Date(START - 2 * MINUTE));
    const newer = await generateStoredKey("EdDSA", new Date(START - MINUTE));
    await writeKeyFile(keysPath, { version: 1, keys: [older, newer] });
    const notes: string[] = [];
    const ring = await LiveKeyRing.open(
      options(kv, clock, { keysPath, note: (l) => notes.push(l) }),
    );
    assert.equal(await signs(ring.current()), newer.kid);
    assert.deepEqual(accessKids(ring.current()), [older.kid, newer.kid]);
    assert.match(notes[0]!, /Imported 2 signing key\(s\)/);
    // A changed file is not read again.
    await writeKeyFile(keysPath, {
      version: 1,
      keys: [await generateStoredKey("EdDSA", new Date())],
    });
    notes.length = 0;
    const again = await LiveKeyRing.open(
      options(kv, clock, { keysPath, note: (l) => notes.push(l) }),
    );
    assert.equal(again.current().signing.kid, newer.kid);
    assert.match(notes[0]!, /is not read: the signing keys live in the store/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("retireRefusal: counted from when the key really stopped signing, across JWT_ALG switches", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const ttl = 30 * MINUTE;
  const eddsa = await LiveKeyRing.open(options(kv, clock));
  const eddsaKid = eddsa.current().signing.kid;
  // The fleet switches to ES256 an hour later; EdDSA instances signed until then.
  clock.ms = START + 60 * MINUTE;
  const store = new KvKeyStore(kv);
  await store.markInUse(eddsaKid, clock.ms);
  await LiveKeyRing.open(options(kv, clock, { alg: "ES256" }));
  const refusal = async (at: number) =>
    retireRefusal((await store.read())!.set, eddsaKid, {
      now: at,
      tokenTtlMs: ttl,
      inUse: await store.inUse(),
    });
  // Counted from its creation (as before), it would look retirable at once: it is not.
  assert.match((await refusal(clock.ms + ttl))!, /may still be live until/);
  assert.equal(await refusal(clock.ms + IN_USE_PERIOD_MS + ttl), undefined);

  // A key superseded by a newer one of its algorithm: from the hand-over.
  const handOver = START + 120 * MINUTE;
  const next = await eddsa.addKey("EdDSA", handOver);
  assert.match((await refusal(handOver + ttl - 1))!, /may still be live/);
  assert.equal(await refusal(handOver + ttl), undefined);
  // A key that has not signed yet is refused too (retiring it cancels a rotation).
  assert.match(
    retireRefusal((await store.read())!.set, next.kid, {
      now: START,
      tokenTtlMs: ttl,
      inUse: new Map(),
    })!,
    /is the next key/,
  );
});

test("LiveKeyRing on a failing store: open throws StoreUnavailableError; following reports it and keeps signing", async () => {
  const faults: Faults = { mode: "fail" };
  const store = fakeStores(faults).keys;
  const clock = new Clock();
  using kv = await Deno.openKv(":memory:");
  const opts = { ...options(kv, clock), store };
  await assert.rejects(() => LiveKeyRing.open(opts), StoreUnavailableError);

  faults.mode = "ok";
  const ring = await LiveKeyRing.open(opts);
  const kid = await signs(ring.current());
  faults.mode = "fail";
  const errors: unknown[] = [];
  try {
    await ring.follow({ onReload: () => {}, onError: (err) => errors.push(err) });
    assert.ok(errors.length > 0 && errors.every((e) => e instanceof StoreUnavailableError));
    assert.equal(await signs(ring.current()), kid, "the ring it has keeps signing");
    await assert.rejects(() => ring.reload(), StoreUnavailableError);
    await assert.rejects(() => ring.addKey("EdDSA", clock.ms), StoreUnavailableError);
  } finally {
    ring.stop();
  }
});

test("LiveKeyRing: a wrong SECRET_KEY for another alg writes nothing; correct instances go on", async () => {
  // Review 1, C1: the wrong-secret instance used to add its ES256 key before checking the secret.
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const store = new KvKeyStore(kv);
  const a = await LiveKeyRing.open(options(kv, clock));
  const before = (await store.read())!;
  await assert.rejects(
    () => LiveKeyRing.open(options(kv, clock, { alg: "ES256", secretKey: OTHER_SECRET })),
    (err) => err instanceof ConfigError && err.variable === "SECRET_KEY",
  );
  const after = (await store.read())!;
  assert.equal(after.versionstamp, before.versionstamp, "the stored set was not written");
  assert.deepEqual(after.set, before.set);
  assert.equal(await a.reload(), false);
  const b = await LiveKeyRing.open(options(kv, clock));
  assert.equal(await signs(b.current()), await signs(a.current()));
  // The right secret may add the other alg's key.
  const es = await LiveKeyRing.open(options(kv, clock, { alg: "ES256" }));
  assert.equal(es.current().signing.alg, "ES256");
});

test("LiveKeyRing: a key no secret decrypts only verifies, unless this instance must sign with it", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const store = new KvKeyStore(kv);
  const a = await LiveKeyRing.open(options(kv, clock));
  const kid = a.current().signing.kid;
  // A key under a secret nobody here has (written by hand: open no longer does it).
  const foreign = await newStoredKey(
    "ES256",
    await deriveKeyEncryptionKey(OTHER_SECRET),
    START,
    START,
  );
  const current = (await store.read())!;
  assert.ok(
    await store.write({ version: 1, keys: [...current.set.keys, foreign] }, current.versionstamp),
  );
  assert.equal(await a.reload(), true, "the set is followed, not refused");
  assert.ok(a.current().verification.has(foreign.kid), "it verifies from its public JWK");
  assert.equal(a.current().jwks.keys.length, 3, "EdDSA, its RS256 ID-token key, the foreign one");
  assert.equal(await signs(a.current()), kid);
  assert.equal(a.current().outOfDate, undefined);
  const b = await LiveKeyRing.open(options(kv, clock));
  assert.equal(await signs(b.current()), kid, "a correct instance still starts");
  // An ES256 instance must sign with it: that is a configuration error.
  await assert.rejects(
    () => LiveKeyRing.open(options(kv, clock, { alg: "ES256" })),
    (err) => err instanceof ConfigError && err.message.includes(foreign.kid),
  );
});

test("LiveKeyRing: after a SECRET_KEY change an old-secret instance still verifies and publishes every key", async () => {
  // Review 1, C2: it stopped following the set, served a stale JWKS and answered 401.
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const store = new KvKeyStore(kv);
  const a = await LiveKeyRing.open(options(kv, clock));
  const oldKid = a.current().signing.kid;
  const before = (await store.read())!.versionstamp;
  const c = await LiveKeyRing.open(
    options(kv, clock, { secretKey: OTHER_SECRET, previousSecretKeys: [SECRET] }),
  );
  assert.equal((await store.read())!.versionstamp, before, "starting writes nothing");
  const next = await c.addKey("EdDSA", START); // keys rotate with KEY_PUBLISH_AHEAD=0
  assert.equal(await c.reload(), true);
  assert.equal(await signs(c.current()), next.kid);
  assert.equal(c.current().outOfDate, undefined);

  assert.equal(await a.reload(), true);
  const ring = a.current();
  assert.ok(ring.verification.has(next.kid), "verifies the new key's tokens");
  assert.deepEqual(accessKids(ring), [oldKid, next.kid]);
  assert.equal(await signs(ring), oldKid, "keeps signing with the key it has");
  assert.match(ring.outOfDate ?? "", new RegExp(`cannot decrypt signing key ${next.kid}`));
  // Once it has the new secret it is up to date again.
  const fresh = await LiveKeyRing.open(
    options(kv, clock, { secretKey: OTHER_SECRET, previousSecretKeys: [SECRET] }),
  );
  assert.equal(fresh.current().outOfDate, undefined);
});

test("LiveKeyRing.follow: reports an unreadable signing key once and marks the ring out of date", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const a = await LiveKeyRing.open(options(kv, clock));
  const c = await LiveKeyRing.open(
    options(kv, clock, { secretKey: OTHER_SECRET, previousSecretKeys: [SECRET] }),
  );
  const errors: string[] = [];
  const reloaded = Promise.withResolvers<KeyRing>();
  await a.follow({ onReload: reloaded.resolve, onError: (err) => errors.push(String(err)) });
  try {
    const next = await c.addKey("EdDSA", START);
    const timeout = setTimeout(() => reloaded.reject(new Error("no reload in 3 s")), 3000);
    const ring = await reloaded.promise.finally(() => clearTimeout(timeout));
    assert.ok(ring.verification.has(next.kid));
    assert.ok(ring.outOfDate);
    await new Promise((r) => setTimeout(r, 1200)); // two more polls
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0]!, /cannot decrypt signing key/);
  } finally {
    a.stop();
  }
});

test("LiveKeyRing: a set written by 2.21.0 or earlier (EdDSA only) gains one RS256 ID-token key, however many instances start", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const store = new KvKeyStore(kv);
  // What 2.21 wrote: one EdDSA key, no `use`.
  const old = await newStoredKey("EdDSA", await deriveKeyEncryptionKey(SECRET), START, START);
  assert.ok(await store.write({ version: 1, keys: [old] }, undefined));
  const rings = await Promise.all(
    Array.from({ length: 4 }, () => LiveKeyRing.open(options(kv, clock))),
  );
  const set = (await store.read())!.set;
  assert.deepEqual(set.keys.map((k) => [k.alg, k.use ?? "access"]), [
    ["EdDSA", "access"],
    ["RS256", "id_token"],
  ]);
  for (const ring of rings) {
    assert.equal(await signs(ring.current()), old.kid, "the old key still signs access tokens");
    assert.equal(ring.current().idTokenSigning!.kid, set.keys[1]!.kid);
  }
});

test("LiveKeyRing: the ID-token key verifies ID tokens, never access tokens; follow marks both keys", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const ring = await LiveKeyRing.open(options(kv, clock, { alg: "ES256" }));
  const { signing, idTokenSigning, verification, idTokenVerification } = ring.current();
  assert.equal(signing.alg, "ES256");
  assert.equal(idTokenSigning!.alg, "RS256");
  assert.notEqual(idTokenSigning!.kid, signing.kid);
  assert.ok(!verification.has(idTokenSigning!.kid));
  assert.deepEqual([...verification.values()].map((k) => k.alg), ["ES256"]);
  assert.deepEqual(
    [...idTokenVerification!.keys()].sort(),
    [signing.kid, idTokenSigning!.kid].sort(),
  );
  await ring.follow({ onReload: () => {}, onError: (err) => assert.fail(String(err)) });
  ring.stop();
  const marks = await new KvKeyStore(kv).inUse();
  assert.deepEqual([...marks.keys()].sort(), [signing.kid, idTokenSigning!.kid].sort());
  // Under RS256 one key signs both, as before: no key of its own for ID tokens.
  using kv2 = await Deno.openKv(":memory:");
  const rs = (await LiveKeyRing.open(options(kv2, clock, { alg: "RS256" }))).current();
  assert.equal(rs.idTokenSigning!.kid, rs.signing.kid);
  assert.equal(rs.jwks.keys.length, 1);
});

test("LiveKeyRing: a published-ahead ID-token key signs from its activation", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = new Clock();
  const ring = await LiveKeyRing.open(options(kv, clock));
  const oldId = ring.current().idTokenSigning!.kid;
  const store = new KvKeyStore(kv);
  const current = (await store.read())!;
  const next = await newStoredKey(
    "RS256",
    await deriveKeyEncryptionKey(SECRET),
    START,
    START + MINUTE,
    "id_token",
  );
  assert.ok(
    await store.write({ version: 1, keys: [...current.set.keys, next] }, current.versionstamp),
  );
  assert.equal(await ring.reload(), true);
  assert.equal(ring.current().idTokenSigning!.kid, oldId);
  clock.ms = START + MINUTE;
  assert.equal(ring.current().idTokenSigning!.kid, next.kid);
  const old = ring.current().jwks.keys.find((k) => k.kid === oldId)!;
  assert.equal(old.state, "retiring");
  assert.ok(ring.current().idTokenVerification!.has(oldId), "old ID tokens still verify");
});
