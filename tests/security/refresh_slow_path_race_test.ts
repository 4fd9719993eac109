/**
 * Refreshes forced into the interleavings a rotation's commit must survive: a pause between a
 * rotation's reads and its commit (a session store wrapper around the real KV one), while
 * another refresh of the same token, a logout or a change to the user commits. The properties:
 * two concurrent refreshes of one token never fork the family (one rotation; both get the one
 * current token) and never revoke the honest session; no rotation commits past a revocation or a
 * change to the user.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Stores } from "../../src/store/stores.ts";
import type { Rotation, SessionStore } from "../../src/tokens/session_store.ts";
import { userUid } from "../../src/users/user_store.ts";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";

const PASSWORD = "correct horse battery";
/** Fails a test that would otherwise hang on a gate nobody opens. */
const GATE_TIMEOUT_MS = 5_000;

/** What the wrapper does before each commit of a rotation while armed. */
interface Pause {
  armed: boolean;
  /** Awaited between a rotation's reads and its commit. */
  beforeCommit: () => Promise<void>;
}

/** The real session store, pausing each rotation's commit as `pause` says. */
function pausingSessions(inner: SessionStore, pause: Pause): SessionStore {
  return {
    createSession: (input) => inner.createSession(input),
    getSession: (sid) => inner.getSession(sid),
    getSessionAndUser: (sid, userId) => inner.getSessionAndUser(sid, userId),
    async commitRotation(rotation: Rotation) {
      if (pause.armed) await pause.beforeCommit();
      return await inner.commitRotation(rotation);
    },
    revokeSession: (sid, now) => inner.revokeSession(sid, now),
    listUserSessions: (uid) => inner.listUserSessions(uid),
    deleteUserSessions: (uid) => inner.deleteUserSessions(uid),
  };
}

/** Resolves once `count` callers have arrived (each caller waits for all). */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    if (++arrived >= count) open();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("interleaving stuck")), GATE_TIMEOUT_MS);
    });
    try {
      await Promise.race([opened, stuck]);
    } finally {
      clearTimeout(timer);
    }
  };
}

async function setUp(vars: Record<string, string> = {}) {
  const pause: Pause = { armed: false, beforeCommit: () => Promise.resolve() };
  const t = await makeApp(
    vars,
    undefined,
    (stores: Stores) => ({ ...stores, sessions: pausingSessions(stores.sessions, pause) }),
  );
  await addUser(t, "ada", PASSWORD);
  const pair = await login(t, "ada", PASSWORD);
  return { t, pause, pair };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("base64url");

/** Ada's one session (found through the index while it lives, then by its id). */
async function sessionOf(t: TestApp, sid?: string) {
  if (sid === undefined) {
    const user = await t.stores.users.getUser("ada");
    assert.ok(user);
    const live = await t.stores.sessions.listUserSessions(userUid(user.value));
    assert.equal(live.length, 1);
    sid = live[0]!.sid;
  }
  const session = (await t.stores.sessions.getSession(sid))?.value;
  assert.ok(session);
  return session;
}

const rotations = (t: TestApp) =>
  t.logLines.filter((line) => line.includes('"refreshed"') && line.includes('"grace":false'))
    .length;

/** A change to the user that ends nothing: the fast path's commit fails, the slow path runs. */
async function touchUser(t: TestApp): Promise<void> {
  const read = await t.stores.users.getUser("ada");
  assert.ok(read);
  assert.ok(
    await t.stores.users.updateUser(
      { ...read.value, updatedAt: read.value.updatedAt + 1 },
      read.versionstamp,
    ),
  );
}

for (const path of ["fast", "slow"] as const) {
  Deno.test(`refresh race (${path} path): two refreshes of one token, both read before either commits, fork nothing`, async () => {
    const { t, pause, pair } = await setUp();
    using _ = t;
    if (path === "slow") await touchUser(t);
    const before = rotations(t);
    pause.beforeCommit = barrier(2);
    pause.armed = true;
    const [a, b] = await Promise.all([
      t.post("/refresh", { refresh_token: pair.refresh_token }),
      t.post("/refresh", { refresh_token: pair.refresh_token }),
    ]);
    pause.armed = false;
    assert.equal(a.status, 200, await a.clone().text());
    assert.equal(b.status, 200, await b.clone().text());
    const [bodyA, bodyB] = [await a.json(), await b.json()];
    // Both converge on the one current token: the loser of the commit gets it from the reuse
    // interval; nothing forked and the honest session lives.
    assert.equal(bodyA.refresh_token, bodyB.refresh_token);
    assert.notEqual(bodyA.refresh_token, pair.refresh_token);
    assert.equal(rotations(t) - before, 1, "exactly one rotation committed");
    const session = await sessionOf(t);
    assert.equal(session.revokedAt, undefined);
    assert.equal(session.currentHash, sha256(bodyA.refresh_token));
    assert.equal(session.parentHash, sha256(pair.refresh_token));
    const next = await t.post("/refresh", { refresh_token: bodyA.refresh_token });
    assert.equal(next.status, 200, await next.clone().text());
  });
}

Deno.test("refresh race: a logout between a rotation's read and its commit wins; the session stays ended", async () => {
  const { t, pause, pair } = await setUp();
  using _ = t;
  const { sid } = await sessionOf(t);
  pause.beforeCommit = async () => {
    pause.armed = false;
    await t.services.sessions.revoke(sid, "logout");
  };
  pause.armed = true;
  const res = await t.post("/refresh", { refresh_token: pair.refresh_token });
  assert.equal(res.status, 401, await res.clone().text());
  assert.equal((await res.json()).code, "session_revoked");
  const session = await sessionOf(t, sid);
  assert.notEqual(session.revokedAt, undefined, "the rotation did not revive the session");
  assert.equal(session.currentHash, sha256(pair.refresh_token), "nothing was rotated");
});

Deno.test("refresh race: disabling the user between a rotation's read and its commit ends the session", async () => {
  const { t, pause, pair } = await setUp();
  using _ = t;
  const { sid } = await sessionOf(t);
  pause.beforeCommit = async () => {
    pause.armed = false;
    const read = await t.stores.users.getUser("ada");
    assert.ok(read);
    assert.ok(
      await t.stores.users.updateUser({ ...read.value, disabled: true }, read.versionstamp),
    );
  };
  pause.armed = true;
  const res = await t.post("/refresh", { refresh_token: pair.refresh_token });
  assert.equal(res.status, 401, await res.clone().text());
  assert.equal((await res.json()).code, "session_revoked");
  const session = await sessionOf(t, sid);
  assert.notEqual(session.revokedAt, undefined);
  assert.equal(session.currentHash, sha256(pair.refresh_token), "nothing was rotated");
});
