/**
 * Two refreshes of one token on the SLOW path (a session without a recorded user versionstamp,
 * or after a change to the user), forced into the interleaving that only the commit's check of
 * the presented token's versionstamp refuses: both read the token while it is live, then one
 * reads the session, commits, and only after that does the other read the session (already
 * rewritten, so its versionstamp matches) and try to commit. Exactly one pair must be issued, the
 * other request refused, and the family must not fork (the token has exactly one child).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { hmacKeyRing } from "../../src/crypto/keys.ts";
import { AuthError } from "../../src/errors.ts";
import { KvStore, type RefreshRecord, type Rotation } from "../../src/store/kv_store.ts";
import { createAccessTokenSigner } from "../../src/tokens/access_token.ts";
import { createSessionService, type TokenPair } from "../../src/tokens/sessions.ts";
import { TEST_SECRET } from "../helpers/app.ts";

/** Fails a test that would otherwise hang on a gate nobody opens. */
const GATE_TIMEOUT_MS = 5_000;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function within(promise: Promise<void>, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`interleaving stuck: ${what}`)), GATE_TIMEOUT_MS);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A real KvStore that forces the interleaving:
 * - the first `pairedReads` reads of a refresh token wait for each other in pairs, so both
 *   requests hold the token as read before either goes on;
 * - a request's "read session and user, then commit" runs only after the other request's has
 *   finished, so the second one reads the session the first one just rewrote.
 */
class InterleavingStore extends KvStore {
  readonly #pairedReads: number;
  #reads = 0;
  #waitingRead: { resolve: () => void } | undefined;
  #slowPathBusy: Promise<void> | undefined;
  #releaseSlowPath: (() => void) | undefined;
  commits: boolean[] = [];

  constructor(kv: Deno.Kv, pairedReads: number) {
    super(kv);
    this.#pairedReads = pairedReads;
  }

  override async getRefresh(tokenHash: string) {
    const value = await super.getRefresh(tokenHash);
    this.#reads++;
    if (this.#reads <= this.#pairedReads) {
      if (this.#waitingRead) {
        this.#waitingRead.resolve();
        this.#waitingRead = undefined;
      } else {
        const gate = deferred();
        this.#waitingRead = gate;
        await within(gate.promise, `read ${this.#reads} waits for its partner`);
      }
    }
    return value;
  }

  override async getSessionAndUser(sid: string, userId: string) {
    while (this.#slowPathBusy) await within(this.#slowPathBusy, "the other slow path");
    const done = deferred();
    this.#slowPathBusy = done.promise;
    this.#releaseSlowPath = () => {
      this.#slowPathBusy = undefined;
      done.resolve();
    };
    return await super.getSessionAndUser(sid, userId);
  }

  override async commitRotation(rotation: Rotation): Promise<boolean> {
    const ok = await super.commitRotation(rotation);
    this.commits.push(ok);
    // A slow-path commit ends that request's turn; a fast-path commit holds no turn.
    const release = this.#releaseSlowPath;
    this.#releaseSlowPath = undefined;
    release?.();
    return ok;
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

async function setUp(pairedReads: number) {
  const kv = await Deno.openKv(":memory:");
  const store = new InterleavingStore(kv, pairedReads);
  const ring = await hmacKeyRing(TEST_SECRET, []);
  const now = () => Date.UTC(2026, 0, 1);
  const sessions = createSessionService({
    store,
    signAccessToken: createAccessTokenSigner({
      keys: () => ring,
      issuer: "https://auth.test",
      audience: undefined,
      ttl: 60,
    }),
    refreshTtl: 3600,
    graceSeconds: 10,
    now,
  });
  const user = {
    id: "ada",
    passwordHash: "$argon2id$not-used-here",
    roles: ["user"],
    disabled: false,
    createdAt: now(),
    updatedAt: now(),
  };
  assert.ok(await store.createUser(user));
  return { kv, store, sessions, user };
}

/** Children of the token with this hash, as stored. */
async function childrenOf(kv: Deno.Kv, hash: string): Promise<RefreshRecord[]> {
  const children: RefreshRecord[] = [];
  for await (const entry of kv.list<RefreshRecord>({ prefix: ["refresh_tokens"] })) {
    if (entry.value.parentHash === hash) children.push(entry.value);
  }
  return children;
}

async function assertOneWinner(
  kv: Deno.Kv,
  sessions: ReturnType<typeof createSessionService>,
  token: string,
  results: PromiseSettledResult<TokenPair>[],
): Promise<void> {
  const won = results.filter((r): r is PromiseFulfilledResult<TokenPair> =>
    r.status === "fulfilled"
  );
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  assert.equal(won.length, 1, `exactly one pair is issued, got ${won.length}`);
  assert.equal(lost.length, 1);
  const reason = lost[0]!.reason;
  assert.ok(reason instanceof AuthError, String(reason));
  assert.equal(reason.code, "refresh_conflict");

  // The family did not fork: the presented token has exactly one child, the winner's.
  const children = await childrenOf(kv, sha256(token));
  assert.equal(children.length, 1, `the token has ${children.length} children`);
  const winner = won[0]!.value;
  assert.ok(await kv.get(["refresh_tokens", sha256(winner.refresh_token)]).then((e) => e.value));

  // The winner's token keeps working and the session lives on.
  const next = await sessions.refresh(winner.refresh_token);
  assert.equal(typeof next.refresh_token, "string");
}

Deno.test("slow-path race: a session without a recorded user versionstamp forks no family", async () => {
  const { kv, store, sessions } = await setUp(2);
  try {
    const { refresh_token: token } = await sessions.start("ada", "user"); // no versionstamp
    const results = await Promise.allSettled([sessions.refresh(token), sessions.refresh(token)]);
    // Both went down the slow path: the winner's commit and the loser's refused one.
    assert.deepEqual(store.commits.slice(0, 2).sort(), [false, true]);
    await assertOneWinner(kv, sessions, token, results);
  } finally {
    kv.close();
  }
});

Deno.test("slow-path race: after a change to the user, two refreshes issue one pair", async () => {
  // Reads 1-2: the fast path (both fail: the user changed); reads 3-4: the slow path.
  const { kv, store, sessions, user } = await setUp(4);
  try {
    const read = await store.getUser("ada");
    assert.ok(read);
    const { refresh_token: token } = await sessions.start("ada", "user", read.versionstamp);
    // A change that keeps the session (nothing taken away), but moves the user's versionstamp.
    assert.ok(
      await store.updateUser({ ...user, updatedAt: user.updatedAt + 1 }, read.versionstamp),
    );
    const results = await Promise.allSettled([sessions.refresh(token), sessions.refresh(token)]);
    assert.deepEqual(store.commits.slice(0, 2), [false, false], "fast paths fail");
    await assertOneWinner(kv, sessions, token, results);
  } finally {
    kv.close();
  }
});
