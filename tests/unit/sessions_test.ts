import assert from "node:assert/strict";
import { ApiError, type ErrorCode } from "../../src/errors.ts";
import { hmacKeyRing, type KeyRing } from "../../src/crypto/keys.ts";
import {
  createAccessTokenSigner,
  keyRingResolver,
  verifyAccessToken,
} from "../../src/tokens/access_token.ts";
import type { DomainEvent } from "../../src/events.ts";
import { kvStores } from "../../src/store/kv_stores.ts";
import type { Stores } from "../../src/store/stores.ts";
import { isSessionLive } from "../../src/tokens/session_store.ts";
import {
  createSessionService,
  deriveChainKey,
  type SessionService,
  type TokenPair,
} from "../../src/tokens/sessions.ts";
import type { UserRecord } from "../../src/users/user_store.ts";
import { TestClock } from "../helpers/app.ts";
import { contract } from "../store/engines.ts";

const SECRET = "sessions-test-secret-0123456789-abcdefghijklmnop";
const ISSUER = "https://auth.test";
const TOKEN_TTL = 1800;
const REFRESH_TTL = 3600;
const ring: KeyRing = await hmacKeyRing(SECRET, []);

interface Fixture {
  readonly kv: Deno.Kv;
  readonly stores: Stores;
  readonly clock: TestClock;
  readonly sessions: SessionService;
  readonly events: DomainEvent[];
  [Symbol.asyncDispose](): Promise<void>;
}

interface ServiceOptions {
  graceSeconds?: number;
  sessionMaxAge?: number;
  maxSessionsPerUser?: number;
}

/** The session service over `stores`, as the server builds it (events into `events`). */
function serviceOver(
  stores: Stores,
  clock: TestClock,
  events: DomainEvent[],
  options: ServiceOptions,
): SessionService {
  return createSessionService({
    store: stores.sessions,
    signAccessToken: createAccessTokenSigner({
      keys: () => ring,
      issuer: ISSUER,
      audience: undefined,
      ttl: TOKEN_TTL,
    }),
    refreshTtl: REFRESH_TTL,
    graceSeconds: options.graceSeconds ?? 10,
    ...(options.sessionMaxAge !== undefined ? { sessionMaxAge: options.sessionMaxAge } : {}),
    ...(options.maxSessionsPerUser !== undefined
      ? { maxSessionsPerUser: options.maxSessionsPerUser }
      : {}),
    chainKey: deriveChainKey(SECRET),
    now: clock.now,
    onEvent: (event) => events.push(event),
  });
}

/** A fixture over in-memory Deno KV, or over `options.stores` (an engine of the contract suite). */
async function fixture(
  options: ServiceOptions & { stores?: Stores } = {},
): Promise<Fixture> {
  const kv = await Deno.openKv(":memory:");
  const stores = options.stores ?? kvStores(kv);
  const clock = new TestClock();
  const events: DomainEvent[] = [];
  const sessions = serviceOver(stores, clock, events, options);
  for (const [id, roles] of [["ada", ["user", "editor"]], ["bob", ["user"]]] as const) {
    const user: UserRecord = {
      id,
      passwordHash: "$argon2id$not-used-here",
      roles,
      disabled: false,
      createdAt: clock.ms,
      updatedAt: clock.ms,
      uid: crypto.randomUUID(),
      sessionEpoch: 0,
    };
    assert.ok(await stores.users.createUser(user));
  }
  return {
    kv,
    stores,
    clock,
    sessions,
    events,
    [Symbol.asyncDispose]: () => Promise.resolve(kv.close()),
  };
}

async function claimsOf(f: Fixture, pair: TokenPair) {
  return await verifyAccessToken(pair.token, {
    resolveKey: keyRingResolver(() => ring),
    algorithms: ["HS256"],
    issuer: ISSUER,
    now: f.clock.ms,
  });
}

/** Starts a session as the login service does: with the user as read for the check. */
async function startAs(f: Fixture, userId: string, role: string): Promise<TokenPair> {
  const found = await f.stores.users.getUser(userId);
  assert.ok(found, `no user ${userId}`);
  return await f.sessions.start({ ...found.value, versionstamp: found.versionstamp }, role);
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode | ErrorCode[]) {
  const codes = Array.isArray(code) ? code : [code];
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.ok(codes.includes(err.code), `code ${err.code}, expected ${codes.join(" or ")}`);
    return true;
  });
}

/** Whether a session may still be used, by the one definition the gate and refresh use. */
async function isActive(f: Fixture, sid: string): Promise<boolean> {
  return isSessionLive((await f.stores.sessions.getSession(sid))?.value, f.clock.ms);
}

async function updateUser(f: Fixture, id: string, change: Partial<UserRecord>) {
  const found = await f.stores.users.getUser(id);
  assert.ok(found);
  assert.ok(await f.stores.users.updateUser({ ...found.value, ...change }, found.versionstamp));
}

Deno.test("start: a token pair whose access token carries the session", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "ada", "editor");
  assert.equal(pair.token_type, "Bearer");
  assert.equal(pair.expires_in, TOKEN_TTL);
  assert.match(pair.refresh_token, /^[A-Za-z0-9_-]{43}$/);
  const claims = await claimsOf(f, pair);
  assert.equal(claims.sub, "ada");
  assert.equal(claims.role, "editor");
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.iat, Math.floor(f.clock.ms / 1000));
  assert.equal(claims.exp - claims.iat, TOKEN_TTL);
  assert.ok(claims.sid);
  assert.equal(await isActive(f, claims.sid), true);
  assert.deepEqual(f.events, [{ type: "session_started", sid: claims.sid, sub: "ada" }]);
  // Each start is a new session with its own refresh token.
  const other = await startAs(f, "ada", "editor");
  assert.notEqual((await claimsOf(f, other)).sid, claims.sid);
  assert.notEqual(other.refresh_token, pair.refresh_token);
});

Deno.test("start: only the refresh token's hash is stored", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "ada", "user");
  for await (const entry of f.kv.list({ prefix: [] })) {
    const text = JSON.stringify({ key: entry.key, value: entry.value });
    assert.ok(!text.includes(pair.refresh_token), `plain token stored under ${String(entry.key)}`);
  }
});

Deno.test("refresh: rotates; the same session continues; the old token is spent", async () => {
  await using f = await fixture();
  const first = await startAs(f, "ada", "editor");
  const { sid } = await claimsOf(f, first);
  f.clock.advance(60);
  const second = await f.sessions.refresh(first.refresh_token);
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.notEqual(second.token, first.token);
  const claims = await claimsOf(f, second);
  assert.equal(claims.sid, sid);
  assert.equal(claims.sub, "ada");
  assert.equal(claims.role, "editor");
  assert.equal(claims.iat, Math.floor(f.clock.ms / 1000));
  const third = await f.sessions.refresh(second.refresh_token);
  assert.equal((await claimsOf(f, third)).sid, sid);
  assert.deepEqual(f.events.map((e) => e.type), ["session_started", "refreshed", "refreshed"]);
  assert.ok(f.events.every((e) => e.type !== "refreshed" || e.grace === false));
});

Deno.test("refresh: a spent token after the grace window revokes the session", async () => {
  await using f = await fixture();
  const first = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, first);
  const second = await f.sessions.refresh(first.refresh_token);
  f.clock.advance(11);
  await rejectsWith(f.sessions.refresh(first.refresh_token), "refresh_token_reused");
  assert.equal(await isActive(f, sid!), false);
  await rejectsWith(f.sessions.refresh(second.refresh_token), "session_revoked");
  assert.ok(f.events.some((e) => e.type === "refresh_reused" && e.sid === sid));
});

Deno.test("refresh: in the grace window the parent gets the current token back, as often as asked", async () => {
  await using f = await fixture();
  const parent = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, parent);
  const current = await f.sessions.refresh(parent.refresh_token); // the answer the client lost
  for (const wait of [0, 1, 4]) {
    f.clock.advance(wait);
    const again = await f.sessions.refresh(parent.refresh_token);
    assert.equal(again.refresh_token, current.refresh_token, "the same string: nothing forks");
    assert.notEqual(again.token, "");
    assert.equal((await claimsOf(f, again)).sid, sid);
    const last = f.events.at(-1);
    assert.ok(last?.type === "refreshed" && last.grace === true, JSON.stringify(last));
  }
  assert.equal(await isActive(f, sid!), true, "nothing revoked");
  // The current token still rotates normally, and its own parent is now the forgiven one.
  const next = await f.sessions.refresh(current.refresh_token);
  assert.equal((await f.sessions.refresh(current.refresh_token)).refresh_token, next.refresh_token);
  // The first parent is now two generations back: reuse.
  await rejectsWith(f.sessions.refresh(parent.refresh_token), "refresh_token_reused");
  assert.equal(await isActive(f, sid!), false);
});

Deno.test("refresh: a grace answer writes nothing", async () => {
  await using f = await fixture();
  const parent = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, parent);
  await f.sessions.refresh(parent.refresh_token);
  const before = await f.stores.sessions.getSession(sid!);
  await f.sessions.refresh(parent.refresh_token);
  assert.equal((await f.stores.sessions.getSession(sid!))?.versionstamp, before?.versionstamp);
});

Deno.test("refresh: no grace once the child has itself been used", async () => {
  await using f = await fixture();
  const parent = await startAs(f, "ada", "user");
  const child = await f.sessions.refresh(parent.refresh_token);
  const grandchild = await f.sessions.refresh(child.refresh_token);
  f.clock.advance(1);
  await rejectsWith(f.sessions.refresh(parent.refresh_token), "refresh_token_reused");
  await rejectsWith(f.sessions.refresh(grandchild.refresh_token), "session_revoked");
});

Deno.test("refresh: the grace window ends after REFRESH_GRACE_SECONDS", async () => {
  {
    await using f = await fixture({ graceSeconds: 10 });
    const parent = await startAs(f, "ada", "user");
    await f.sessions.refresh(parent.refresh_token);
    f.clock.advance(9.999);
    await f.sessions.refresh(parent.refresh_token); // just inside: forgiven
  }
  {
    await using f = await fixture({ graceSeconds: 10 });
    const parent = await startAs(f, "ada", "user");
    await f.sessions.refresh(parent.refresh_token);
    f.clock.advance(10.001);
    await rejectsWith(f.sessions.refresh(parent.refresh_token), "refresh_token_reused");
  }
});

Deno.test("refresh: REFRESH_GRACE_SECONDS=0 detects reuse immediately", async () => {
  await using f = await fixture({ graceSeconds: 0 });
  const parent = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, parent);
  const child = await f.sessions.refresh(parent.refresh_token);
  // Same instant on the injected clock: with no grace there is nothing to forgive.
  await rejectsWith(f.sessions.refresh(parent.refresh_token), "refresh_token_reused");
  assert.equal(await isActive(f, sid!), false);
  await rejectsWith(f.sessions.refresh(child.refresh_token), "session_revoked");
});

Deno.test("refresh: REFRESH_GRACE_SECONDS=0 one millisecond later is reuse", async () => {
  await using f = await fixture({ graceSeconds: 0 });
  const parent = await startAs(f, "ada", "user");
  await f.sessions.refresh(parent.refresh_token);
  f.clock.advance(0.001);
  await rejectsWith(f.sessions.refresh(parent.refresh_token), "refresh_token_reused");
});

Deno.test("refresh: a refresh token expires after REFRESH_TTL (sliding)", async () => {
  {
    await using f = await fixture();
    const pair = await startAs(f, "ada", "user");
    f.clock.advance(REFRESH_TTL - 1);
    const next = await f.sessions.refresh(pair.refresh_token);
    // The new token lives a full REFRESH_TTL from its own issue.
    f.clock.advance(REFRESH_TTL - 1);
    const again = await f.sessions.refresh(next.refresh_token);
    f.clock.advance(REFRESH_TTL);
    await rejectsWith(f.sessions.refresh(again.refresh_token), "invalid_refresh_token");
  }
  {
    await using f = await fixture();
    const pair = await startAs(f, "ada", "user");
    const { sid } = await claimsOf(f, pair);
    f.clock.advance(REFRESH_TTL);
    await rejectsWith(f.sessions.refresh(pair.refresh_token), "invalid_refresh_token");
    assert.equal(await isActive(f, sid!), false, "the session expired with its token");
  }
});

Deno.test("refresh: malformed or unknown tokens are invalid_refresh_token", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "ada", "user");
  const unknown = pair.refresh_token.startsWith("A")
    ? "B" + pair.refresh_token.slice(1)
    : "A" + pair.refresh_token.slice(1);
  for (
    const token of [
      "",
      "abc",
      pair.refresh_token + "A",
      pair.refresh_token.slice(1),
      pair.refresh_token.slice(0, 42) + "=",
      pair.refresh_token.slice(0, 42) + "+",
      ` ${pair.refresh_token.slice(1)}`,
      "x".repeat(10_000),
      pair.token,
      unknown,
    ]
  ) {
    await rejectsWith(f.sessions.refresh(token), "invalid_refresh_token");
  }
  // None of that touched the real session.
  assert.match((await f.sessions.refresh(pair.refresh_token)).refresh_token, /^[\w-]{43}$/);
});

Deno.test("refresh: of concurrent presentations of one token exactly one wins", async () => {
  await using f = await fixture({ graceSeconds: 0 });
  const pair = await startAs(f, "ada", "user");
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, () => f.sessions.refresh(pair.refresh_token)),
  );
  const fulfilled = results.filter((r) => r.status === "fulfilled");
  assert.equal(fulfilled.length, 1, "exactly one fulfilled");
  for (const r of results) {
    if (r.status === "rejected") {
      assert.ok(r.reason instanceof ApiError, `not an ApiError: ${String(r.reason)}`);
    }
  }
});

Deno.test("refresh: concurrent presentations under the default grace all converge", async () => {
  await using f = await fixture({ graceSeconds: 10 });
  const pair = await startAs(f, "ada", "user");
  const results = await Promise.all(
    Array.from({ length: 10 }, () => f.sessions.refresh(pair.refresh_token)),
  );
  const tokens = new Set(results.map((r) => r.refresh_token));
  assert.equal(tokens.size, 1, "one refresh token for all");
  const next = await f.sessions.refresh(results[0]!.refresh_token);
  assert.match(next.refresh_token, /^[\w-]{43}$/);
});

Deno.test("refresh: two requests that read before either commits converge; the session lives", async () => {
  await using f = await fixture({ graceSeconds: 10 });
  const pair = await startAs(f, "ada", "user");
  // Both read the session before either commits (a client retrying a slow request).
  const original = f.stores.sessions.commitRotation.bind(f.stores.sessions);
  let readsDone!: () => void;
  const bothRead = new Promise<void>((resolve) => readsDone = resolve);
  let waiting = 0;
  f.stores.sessions.commitRotation = async (rotation) => {
    if (++waiting === 2) readsDone();
    await bothRead;
    return await original(rotation);
  };
  const [a, b] = await Promise.all([
    f.sessions.refresh(pair.refresh_token),
    f.sessions.refresh(pair.refresh_token),
  ]);
  f.stores.sessions.commitRotation = original;
  assert.equal(a.refresh_token, b.refresh_token);
  const next = await f.sessions.refresh(a.refresh_token);
  await f.sessions.refresh(next.refresh_token);
  // Presenting the raced token after the window is a replay, and ends the session.
  f.clock.advance(11);
  await rejectsWith(f.sessions.refresh(pair.refresh_token), "refresh_token_reused");
});

Deno.test("revoke: ends one session; a new session epoch ends every session of a user", async () => {
  await using f = await fixture();
  const a1 = await startAs(f, "ada", "user");
  const a2 = await startAs(f, "ada", "editor");
  const a3 = await startAs(f, "ada", "user");
  const b1 = await startAs(f, "bob", "user");
  const sid = async (p: TokenPair) => (await claimsOf(f, p)).sid!;

  await f.sessions.revoke(await sid(a1), "logout");
  assert.equal(await isActive(f, await sid(a1)), false);
  assert.equal(await isActive(f, await sid(a2)), true);
  await rejectsWith(f.sessions.refresh(a1.refresh_token), "session_revoked");
  assert.deepEqual(f.events.at(-1), {
    type: "session_revoked",
    sid: await sid(a1),
    sub: "ada",
    reason: "logout",
  });
  // Idempotent.
  await f.sessions.revoke(await sid(a1), "logout");
  assert.equal(await isActive(f, await sid(a1)), false);

  // The next session epoch (what a password change commits) ends all of ada's at once.
  await updateUser(f, "ada", { sessionEpoch: 1 });
  for (const p of [a1, a2, a3]) {
    await rejectsWith(f.sessions.refresh(p.refresh_token), "session_revoked");
    assert.equal(await isActive(f, await sid(p)), false);
  }
  assert.equal(await isActive(f, await sid(b1)), true, "other users untouched");
  await f.sessions.refresh(b1.refresh_token);
});

Deno.test("revoke/isActive: unknown sessions", async () => {
  await using f = await fixture();
  assert.equal(await isActive(f, crypto.randomUUID()), false);
  const before = f.events.length;
  await f.sessions.revoke(crypto.randomUUID(), "logout");
  assert.equal(f.events.length, before, "no event for a session that does not exist");
});

Deno.test("isActive: false once the session's refresh lifetime has passed", async () => {
  await using f = await fixture();
  const { sid } = await claimsOf(f, await startAs(f, "ada", "user"));
  f.clock.advance(REFRESH_TTL - 1);
  assert.equal(await isActive(f, sid!), true);
  f.clock.advance(1);
  assert.equal(await isActive(f, sid!), false);
});

Deno.test("refresh: a disabled user's sessions end", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, pair);
  await updateUser(f, "ada", { disabled: true });
  await rejectsWith(f.sessions.refresh(pair.refresh_token), "session_revoked");
  assert.equal(await isActive(f, sid!), false, "revoked, not just refused");
  // Re-enabling does not bring the session back.
  await updateUser(f, "ada", { disabled: false });
  await rejectsWith(f.sessions.refresh(pair.refresh_token), "session_revoked");
});

Deno.test("refresh: a session whose role the user lost ends; other roles continue", async () => {
  await using f = await fixture();
  const editor = await startAs(f, "ada", "editor");
  const user = await startAs(f, "ada", "user");
  await updateUser(f, "ada", { roles: ["user"] });
  await rejectsWith(f.sessions.refresh(editor.refresh_token), "session_revoked");
  assert.equal(await isActive(f, (await claimsOf(f, editor)).sid!), false);
  await f.sessions.refresh(user.refresh_token);
});

Deno.test("refresh: a removed user's sessions end", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "bob", "user");
  const found = await f.stores.users.getUser("bob");
  assert.ok(found && await f.stores.users.deleteUser("bob", found.versionstamp));
  await rejectsWith(f.sessions.refresh(pair.refresh_token), "session_revoked");
});

Deno.test("refresh fast path: a change to the user made between rotations is still seen", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "ada", "user");
  // One rotation on the fast path (nothing changed): one read, one commit.
  const next = await f.sessions.refresh(pair.refresh_token);
  // Disable the user behind the service's back (no revocation): the next rotation's commit
  // checks the user's versionstamp, fails, and the slow path reads the user and refuses.
  await updateUser(f, "ada", { disabled: true });
  await rejectsWith(f.sessions.refresh(next.refresh_token), "session_revoked");
  const { sid } = await claimsOf(f, next);
  assert.equal(await isActive(f, sid!), false);
});

Deno.test("refresh fast path: a harmless change to the user costs one slow rotation, no more", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "ada", "user");
  await updateUser(f, "ada", { roles: ["user", "editor"] }); // the session's role is kept
  const next = await f.sessions.refresh(pair.refresh_token);
  const after = await f.sessions.refresh(next.refresh_token);
  assert.equal((await claimsOf(f, after)).role, "user");
  // The rotation recorded the user's new versionstamp: the record says so.
  const record = await f.stores.sessions.getSession((await claimsOf(f, after)).sid!);
  assert.equal(record?.value.userVersionstamp, (await f.stores.users.getUser("ada"))!.versionstamp);
});

Deno.test("refresh: a revocation between the read and the commit wins", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, pair);
  // Revoke while the rotation is in flight: the commit's session check must fail.
  const original = f.stores.sessions.commitRotation.bind(f.stores.sessions);
  f.stores.sessions.commitRotation = async (rotation) => {
    await f.stores.sessions.revokeSession(sid!, f.clock.ms);
    return await original(rotation);
  };
  await rejectsWith(f.sessions.refresh(pair.refresh_token), "session_revoked");
});

contract(
  "session service",
  "refresh: this instance's last rotation stands in for the read; another instance's changes still win",
  async ({ stores, second }) => {
    await using f = await fixture({ graceSeconds: 10, stores });
    // A second instance on the same data, as a fleet runs: its own memory of rotations.
    const other = serviceOver(second, f.clock, f.events, { graceSeconds: 10 });
    const reads: string[] = [];
    const store = f.stores.sessions;
    for (const name of ["getSession", "getSessionAndUser"] as const) {
      const method = store[name].bind(store) as (...a: unknown[]) => Promise<unknown>;
      Object.assign(store, { [name]: (...a: unknown[]) => (reads.push(name), method(...a)) });
    }
    const t1 = (await startAs(f, "ada", "user")).refresh_token;
    const t2 = (await f.sessions.refresh(t1)).refresh_token;
    reads.length = 0;
    const t3 = (await f.sessions.refresh(t2)).refresh_token;
    assert.deepEqual(reads, [], "the chain's next refresh on this instance reads nothing");
    // The chain hops: the other instance rotates it, then this one sees the newer token (not the
    // one it remembers) and reads, rather than judge the token by its stale memory as a replay.
    const t4 = (await other.refresh(t3)).refresh_token;
    const t5 = (await f.sessions.refresh(t4)).refresh_token;
    // The remembered token again after the other instance moved on: the commit's check fails and
    // a read decides: within the grace window, the current token again.
    const t6 = (await other.refresh(t5)).refresh_token;
    reads.length = 0;
    assert.equal((await f.sessions.refresh(t5)).refresh_token, t6, "the grace answer");
    assert.deepEqual(reads, ["getSessionAndUser"], "decided on a read");
    // Past the window, and past the remembered record's own sliding end (while the other
    // instance's rotation keeps the session live): a replay, and the session ends.
    f.clock.advance(REFRESH_TTL - 5);
    const t7 = (await f.sessions.refresh(t6)).refresh_token; // remembered here, ends at +TTL
    f.clock.advance(10);
    const t8 = (await other.refresh(t7)).refresh_token; // the session's end moves with it
    f.clock.advance(REFRESH_TTL - 5); // the memory's record has ended; the session has not
    await rejectsWith(f.sessions.refresh(t7), "refresh_token_reused");
    await rejectsWith(other.refresh(t8), "session_revoked");
  },
);

/** Every KV key, for storage bounds. */
async function allKeys(f: Fixture): Promise<Deno.KvKey[]> {
  const keys: Deno.KvKey[] = [];
  for await (const entry of f.kv.list({ prefix: [] })) keys.push(entry.key);
  return keys;
}

Deno.test("storage: 10,000 rotations leave the session with a constant number of keys", async () => {
  await using f = await fixture();
  const first = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, first);
  const before = await allKeys(f);
  let pair = first;
  for (let i = 0; i < 10_000; i++) {
    if (i % 100 === 0) f.clock.advance(1);
    pair = await f.sessions.refresh(pair.refresh_token);
  }
  const after = await allKeys(f);
  assert.deepEqual(after, before, "the same keys: no key per refresh token");
  // 2 users + the session + its index entry + the user's session-cap key.
  assert.equal(after.length, 5);
  assert.ok(after.some((key) => key[0] === "sessions" && key[1] === sid));
  assert.equal((await claimsOf(f, await f.sessions.refresh(pair.refresh_token))).sid, sid);
});

Deno.test("SESSION_MAX_AGE: /refresh refuses past the absolute end, however recent the last refresh", async () => {
  await using f = await fixture({ sessionMaxAge: 3 * REFRESH_TTL });
  let pair = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, pair);
  for (let i = 0; i < 5; i++) {
    f.clock.advance(REFRESH_TTL / 2);
    pair = await f.sessions.refresh(pair.refresh_token); // 2.5 x REFRESH_TTL in
  }
  const record = await f.stores.sessions.getSession(sid!);
  assert.equal(record?.value.expiresAt, record?.value.maxExpiresAt, "the sliding end is capped");
  f.clock.advance(REFRESH_TTL / 2); // exactly 3 x REFRESH_TTL after the login
  await rejectsWith(f.sessions.refresh(pair.refresh_token), "invalid_refresh_token");
  assert.equal(await isActive(f, sid!), false);
});

Deno.test("MAX_SESSIONS_PER_USER: a login beyond the cap ends the oldest session", async () => {
  await using f = await fixture({ maxSessionsPerUser: 3 });
  const pairs: TokenPair[] = [];
  for (let i = 0; i < 5; i++) {
    f.clock.advance(1);
    pairs.push(await startAs(f, "ada", "user"));
    // Never one over the cap, not even for one login (the 4th must already end the oldest).
    const user = (await f.stores.users.getUser("ada"))!.value;
    assert.equal((await f.sessions.list(user)).length, Math.min(i + 1, 3), `after login ${i + 1}`);
  }
  const bob = await startAs(f, "bob", "user");
  const live = await Promise.all(
    pairs.map(async (p) => await isActive(f, (await claimsOf(f, p)).sid!)),
  );
  assert.deepEqual(live, [false, false, true, true, true]);
  await rejectsWith(f.sessions.refresh(pairs[0]!.refresh_token), "session_revoked");
  await f.sessions.refresh(pairs[4]!.refresh_token);
  assert.equal(await isActive(f, (await claimsOf(f, bob)).sid!), true, "other users untouched");
  const ada = (await f.stores.users.getUser("ada"))!.value;
  assert.equal((await f.sessions.list(ada)).length, 3);
  assert.ok(f.events.some((e) => e.type === "session_revoked" && e.reason === "session limit"));
});

Deno.test("MAX_SESSIONS_PER_USER lowered: every session the login ends is announced and refused", async () => {
  await using f = await fixture({ maxSessionsPerUser: 10 });
  const sids: string[] = [];
  for (let i = 0; i < 4; i++) {
    f.clock.advance(1);
    sids.push((await claimsOf(f, await startAs(f, "ada", "user"))).sid!);
  }
  // The operator lowers the cap: the next login ends the three oldest, not only one.
  const lowered = serviceOver(f.stores, f.clock, f.events, { maxSessionsPerUser: 2 });
  const found = (await f.stores.users.getUser("ada"))!;
  await lowered.start({ ...found.value, versionstamp: found.versionstamp }, "user");
  const ended = f.events.flatMap((e) =>
    e.type === "session_revoked" && e.reason === "session limit" ? [e.sid] : []
  );
  assert.deepEqual(ended, sids.slice(0, 3), "each ended session announced, oldest first");
  for (const sid of ended) assert.equal(await isActive(f, sid), false, `${sid} refused`);
  assert.equal(await isActive(f, sids[3]!), true);
});

Deno.test("start: one process commits a user's new sessions one at a time, other users' side by side", async () => {
  await using f = await fixture({ maxSessionsPerUser: 3 });
  const inFlight = new Map<string, number>();
  let most = 0;
  let mostUsers = 0;
  const create = f.stores.sessions.createSession.bind(f.stores.sessions);
  f.stores.sessions.createSession = async (input) => {
    const uid = input.session.userUid;
    inFlight.set(uid, (inFlight.get(uid) ?? 0) + 1);
    most = Math.max(most, inFlight.get(uid)!);
    mostUsers = Math.max(mostUsers, [...inFlight.values()].filter((n) => n > 0).length);
    await new Promise((resolve) => setTimeout(resolve, 2));
    try {
      return await create(input);
    } finally {
      inFlight.set(uid, inFlight.get(uid)! - 1);
    }
  };
  const users = await Promise.all(["ada", "bob"].map(async (id) => {
    const found = (await f.stores.users.getUser(id))!;
    return { ...found.value, versionstamp: found.versionstamp };
  }));
  const logins = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) => f.sessions.start(users[i % 2]!, "user")),
  );
  assert.deepEqual(logins.filter((r) => r.status === "rejected"), []);
  assert.equal(most, 1, "a user's commits never overlap in one process");
  assert.equal(mostUsers, 2, "two users' commits do");
});

contract(
  "session service",
  "MAX_SESSIONS_PER_USER: 16 logins of one user at once in two processes, at the cap, all succeed",
  async ({ stores, second }) => {
    // They used to end the same oldest session and race for its one place (503 busy when a
    // login's attempts ran out, bench/store_engines.ts and a three-instance fleet saw it); now
    // the store's commit that stores each session ends the oldest, in one transaction.
    await using f = await fixture({ maxSessionsPerUser: 3, stores });
    const other = serviceOver(second, f.clock, f.events, { maxSessionsPerUser: 3 });
    for (let i = 0; i < 3; i++) await startAs(f, "ada", "user");
    let commits = 0;
    for (const store of new Set([stores.sessions, second.sessions])) {
      const create = store.createSession.bind(store);
      store.createSession = (input) => (commits++, create(input));
    }
    const found = (await f.stores.users.getUser("ada"))!;
    const ada = { ...found.value, versionstamp: found.versionstamp };
    const logins = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => (i % 2 ? other : f.sessions).start(ada, "user")),
    );
    assert.deepEqual(
      logins.filter((r) => r.status === "rejected").map((r) => String(r.reason)),
      [],
    );
    assert.equal(commits, 16, "one store call a login: no making room, no second try");
    assert.equal((await f.sessions.list(ada)).length, 3, "never over the cap");
    const ended = f.events.flatMap((e) =>
      e.type === "session_revoked" && e.reason === "session limit" ? [e.sid] : []
    );
    assert.equal(new Set(ended).size, 16, "one session ended per login beyond the cap");
    assert.equal(ended.length, 16, "each announced once");
    for (const sid of ended) assert.equal(await isActive(f, sid), false, `${sid} refused`);
  },
);

Deno.test("refresh: a token of another family, or forged with a known sid, revokes nothing", async () => {
  await using f = await fixture();
  const pair = await startAs(f, "ada", "user");
  const { sid } = await claimsOf(f, pair);
  // Same secret half, other family half: another (unknown) session.
  const bytes = Uint8Array.from(
    atob(pair.refresh_token.replace(/-/g, "+").replace(/_/g, "/") + "="),
    (c) => c.charCodeAt(0),
  );
  bytes[0] = bytes[0]! ^ 1;
  const forged = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
  await rejectsWith(f.sessions.refresh(forged), "invalid_refresh_token");
  assert.equal(await isActive(f, sid!), true);
});

Deno.test("a client's session: refresh needs that client; refusals touch nothing; one read + one commit", async () => {
  await using f = await fixture();
  const found = await f.stores.users.getUser("ada");
  assert.ok(found);
  const user = { ...found.value, versionstamp: found.versionstamp };
  const webapp = { clientId: "webapp", generation: "g1", createdAt: 0 };
  const pair = await f.sessions.start(user, "user", webapp);
  const sid = (await claimsOf(f, pair)).sid!;
  assert.equal((await f.stores.sessions.getSession(sid))?.value.clientId, "webapp");
  const calls: string[] = [];
  const store = f.stores.sessions;
  for (const name of ["getSession", "getSessionAndUser", "commitRotation", "revokeSession"]) {
    const method = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
    Object.assign(store, {
      [name]: (...args: unknown[]) => (calls.push(name), method.apply(store, args)),
    });
  }
  const before = await f.stores.sessions.getSession(sid);
  calls.length = 0;
  await rejectsWith(f.sessions.refresh(pair.refresh_token), "invalid_refresh_token");
  await rejectsWith(
    f.sessions.refresh(pair.refresh_token, { ...webapp, clientId: "other" }),
    "invalid_refresh_token",
  );
  assert.deepEqual(calls, ["getSession", "getSession"], "one read each, nothing written");
  assert.equal((await f.stores.sessions.getSession(sid))?.versionstamp, before?.versionstamp);
  calls.length = 0;
  const next = await f.sessions.refresh(pair.refresh_token, webapp);
  assert.deepEqual(calls, ["getSession", "commitRotation"], "the fast path is unchanged");
  await rejectsWith(f.sessions.refresh(next.refresh_token), "invalid_refresh_token");
  // A session without a client takes no client.
  const plain = await f.sessions.start(user, "user");
  await rejectsWith(f.sessions.refresh(plain.refresh_token, webapp), "invalid_refresh_token");
  assert.ok((await f.sessions.refresh(plain.refresh_token)).refresh_token);
});
