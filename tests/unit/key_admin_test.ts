/**
 * The key administration service (`src/keys/key_admin.ts`) that `deno task keys` and
 * `/admin/keys` share: its rules on a clock moved by hand (tests/e2e/key_admin_test.ts drives
 * both doors against one store).
 */
import assert from "node:assert/strict";
import { base64url, calculateJwkThumbprint } from "jose";
import { importHmacKey } from "../../src/crypto/keys.ts";
import { ConfigError } from "../../src/config/config_error.ts";
import {
  createKeyAdmin,
  type KeyAdminConfig,
  KeyAdminError,
  refusalMessage,
} from "../../src/keys/key_admin.ts";
import { KvKeyStore } from "../../src/store/kv_keys.ts";
import { needs, READ } from "../helpers/permissions.ts";

const test = needs(READ);

const SECRET = "key-admin-test-secret-0123456789-abcdefghijklmn";
const OTHER_SECRET = "key-admin-test-other-0123456789-abcdefghijklmn";
const START = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const CONFIG: KeyAdminConfig = {
  jwtAlg: "EdDSA",
  tokenTtl: 30 * 60,
  keyPublishAhead: 10 * 60,
  secretKey: SECRET,
  previousSecretKeys: [],
  keysPath: "/nonexistent/keys.json",
};

function admin(kv: Deno.Kv, clock: { ms: number }, config: Partial<KeyAdminConfig> = {}) {
  return createKeyAdmin({
    store: new KvKeyStore(kv),
    config: { ...CONFIG, ...config },
    now: () => clock.ms,
    note: () => {},
  });
}

async function refused(work: Promise<unknown>, kind: string, code: string): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof KeyAdminError, String(err));
    assert.equal(err.refusal.kind, kind);
    assert.equal(err.code, code);
    return true;
  });
}

test("rotate: the first key signs at once, the next one KEY_PUBLISH_AHEAD later, one at a time", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = { ms: START };
  const keys = admin(kv, clock);
  assert.deepEqual(await keys.list(), []);
  const first = await keys.rotate();
  assert.equal(first.first, true);
  assert.equal(first.activates_at, new Date(START).toISOString());
  // Under EdDSA an RS256 key signs ID tokens: made with the first, rotated with every next.
  assert.equal(first.id_token?.alg, "RS256");
  assert.equal(first.id_token?.first, true);
  const next = await keys.rotate();
  assert.equal(next.first, false);
  assert.equal(Date.parse(next.activates_at), START + CONFIG.keyPublishAhead * 1000);
  assert.equal(next.id_token?.first, false);
  assert.equal(next.id_token?.activates_at, next.activates_at, "one schedule for both");
  await refused(keys.rotate(), "next_pending", "conflict");
  assert.deepEqual((await keys.list()).map((k) => [k.kid, k.alg, k.use, k.state]), [
    [first.kid, "EdDSA", "access", "active"],
    [first.id_token!.kid, "RS256", "id_token", "active"],
    [next.kid, "EdDSA", "access", "next"],
    [next.id_token!.kid, "RS256", "id_token", "next"],
  ]);
  // Once it signs, the next rotation is allowed again.
  clock.ms = START + CONFIG.keyPublishAhead * 1000;
  assert.deepEqual((await keys.list()).map((k) => k.state), [
    "retiring",
    "retiring",
    "active",
    "active",
  ]);
  assert.equal((await keys.rotate()).first, false);
});

test("rotate: the next access-token and ID-token keys arrive in one write", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = { ms: START };
  await admin(kv, clock).rotate();
  const writes: number[] = [];
  const store = new KvKeyStore(kv);
  const write = store.write.bind(store);
  store.write = (set, ...rest) => {
    writes.push(set.keys.length);
    return write(set, ...rest);
  };
  const keys = createKeyAdmin({
    store,
    config: CONFIG,
    now: () => clock.ms,
    note: () => {},
  });
  const next = await keys.rotate();
  // An instance that reads the set between two writes would sign access tokens with a new key
  // and ID tokens with the old one (or the reverse): one write, both keys in it.
  assert.deepEqual(writes, [4]);
  assert.ok(next.id_token);
  assert.equal(next.id_token.activates_at, next.activates_at);
});

test("rotate: HS256 and unknown algorithms are refused before anything is read", async () => {
  using kv = await Deno.openKv(":memory:");
  const keys = admin(kv, { ms: START }, { jwtAlg: "HS256" });
  await refused(keys.rotate(), "hs256_rotate", "validation_failed");
  await refused(keys.rotate("PS256"), "unknown_alg", "validation_failed");
  // Under HS256 a store key may still be made (the switch to an asymmetric JWT_ALG comes next).
  const es = await keys.rotate("ES256");
  assert.equal(es.other_than, "HS256");
});

test("rotate under a SECRET_KEY that decrypts no stored key writes nothing", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = { ms: START };
  await admin(kv, clock).rotate();
  const before = await admin(kv, clock).list();
  await assert.rejects(admin(kv, clock, { secretKey: OTHER_SECRET }).rotate(), ConfigError);
  await assert.rejects(
    admin(kv, clock, { secretKey: OTHER_SECRET }).rotate("ES256"),
    ConfigError,
  );
  assert.deepEqual(await admin(kv, clock).list(), before);
});

test("retire: never the active key; the old one only TOKEN_TTL after it stopped; force says why", async () => {
  using kv = await Deno.openKv(":memory:");
  const clock = { ms: START };
  const keys = admin(kv, clock);
  const old = await keys.rotate();
  const oldId = old.id_token!.kid;
  await refused(keys.retire(old.kid), "active", "conflict");
  await refused(keys.retire(oldId), "active", "conflict");
  // Not even by force: a server would sign with a key its JWKS no longer has.
  await refused(keys.retire(old.kid, { force: true }), "active", "conflict");
  await refused(keys.retire(oldId, { force: true }), "active", "conflict");
  assert.match(
    await keys.retire(oldId).then(String, String),
    /is the active RS256 ID-token signing key/,
  );
  await refused(keys.retire("nope"), "no_such_key", "not_found");
  const next = await keys.rotate();
  const handOver = Date.parse(next.activates_at);
  clock.ms = handOver + 5 * MINUTE;
  const [listed, listedId] = await keys.list();
  for (const row of [listed!, listedId!]) {
    assert.equal(row.last_signed_at, new Date(handOver).toISOString());
    assert.equal(row.retirable_at, new Date(handOver + CONFIG.tokenTtl * 1000).toISOString());
  }
  await refused(keys.retire(old.kid), "not_retirable", "conflict");
  await refused(keys.retire(oldId), "not_retirable", "conflict");
  clock.ms = handOver + CONFIG.tokenTtl * 1000;
  assert.deepEqual(await keys.retire(old.kid), { kid: old.kid, forced: null });
  assert.deepEqual(await keys.retire(oldId), { kid: oldId, forced: null });
  // A next key can be cancelled only by force, and the answer says what that means.
  const pending = await keys.rotate();
  await refused(keys.retire(pending.kid), "not_retirable", "conflict");
  const forced = await keys.retire(pending.kid, { force: true });
  assert.match(forced.forced ?? "", /is the next key/);
  await keys.retire(pending.id_token!.kid, { force: true });
  assert.deepEqual((await keys.list()).map((k) => k.kid), [next.kid, next.id_token!.kid]);
});

test("list under HS256: the secrets' kids first, then any stored keys", async () => {
  using kv = await Deno.openKv(":memory:");
  const keys = admin(kv, { ms: START }, {
    jwtAlg: "HS256",
    previousSecretKeys: [OTHER_SECRET],
  });
  await keys.rotate("EdDSA");
  const rows = await keys.list();
  // SECRET_KEY signs; PREVIOUS_SECRET_KEYS only verifies: one row each, named by its HMAC kid.
  const secrets = rows.filter((row) => row.alg === "HS256");
  assert.deepEqual(secrets.map((row) => [row.kid, row.state]), [
    [(await importHmacKey(SECRET)).kid, "active (SECRET_KEY)"],
    [(await importHmacKey(OTHER_SECRET)).kid, "retiring (PREVIOUS_SECRET_KEYS)"],
  ]);
  // The kids of tokens before 2.16 are digests of the secrets (RFC 7638 thumbprints): a list
  // that showed them would offer a value to test guesses of a secret against offline.
  for (const secret of [SECRET, OTHER_SECRET]) {
    const k = base64url.encode(new TextEncoder().encode(secret));
    const thumbprint = await calculateJwkThumbprint({ kty: "oct", k });
    assert.ok(!rows.some((row) => row.kid === thumbprint), "a secret's digest is listed");
  }
  const stored = rows.filter((row) => row.alg !== "HS256");
  assert.deepEqual(stored.map((row) => [row.alg, row.use, row.state]), [
    ["EdDSA", "access", "retiring"],
    // Made with it for the switch to EdDSA; no instance signs with it under HS256.
    ["RS256", "id_token", "retiring"],
  ]);
});

test("list under HS256: a secret listed twice is one row, SECRET_KEY's the active one", async () => {
  using kv = await Deno.openKv(":memory:");
  const keys = admin(kv, { ms: START }, {
    jwtAlg: "HS256",
    previousSecretKeys: [OTHER_SECRET, SECRET, OTHER_SECRET],
  });
  assert.deepEqual((await keys.list()).map((row) => [row.kid, row.state]), [
    [(await importHmacKey(SECRET)).kid, "active (SECRET_KEY)"],
    [(await importHmacKey(OTHER_SECRET)).kid, "retiring (PREVIOUS_SECRET_KEYS)"],
  ]);
});

test("a refusal reads the same at both doors but for the words of each", () => {
  const refusal = { kind: "not_retirable" as const, kid: "k1", reason: "tokens may be live" };
  assert.equal(refusalMessage(refusal), "tokens may be live; ?force=true retires it now");
  assert.equal(
    refusalMessage(refusal, { force: "--force", alg: "--alg", retire: (kid) => kid }),
    "tokens may be live; --force retires it now",
  );
  assert.equal(new KeyAdminError(refusal).status, 409);
});
