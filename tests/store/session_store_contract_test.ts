/**
 * The session store contract, every engine unchanged: the commits a refresh, a revocation and a
 * login rely on, and their races.
 */
import assert from "node:assert/strict";
import type { SessionRecord } from "../../src/tokens/session_store.ts";
import type { UserRecord } from "../../src/users/user_store.ts";
import type { Stores } from "../../src/store/stores.ts";
import { kvStores } from "../../src/store/kv_stores.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";
import { contract } from "./engines.ts";

const NOW = Date.now();

async function addUser(stores: Stores, id = "ada"): Promise<{ user: UserRecord; stamp: string }> {
  const user: UserRecord = {
    id,
    uid: crypto.randomUUID(),
    passwordHash: "x",
    roles: ["user"],
    disabled: false,
    createdAt: NOW,
    updatedAt: NOW,
  };
  await stores.users.createUser(user);
  return { user, stamp: (await stores.users.getUser(id))!.versionstamp };
}

function sessionOf(user: UserRecord, sid = crypto.randomUUID(), createdAt = NOW): SessionRecord {
  return {
    sid,
    userId: user.id,
    userUid: user.uid!,
    epoch: 0,
    role: "user",
    createdAt,
    refreshedAt: createdAt,
    expiresAt: createdAt + 3_600_000,
    maxExpiresAt: createdAt + 7_200_000,
    currentHash: "h0",
  };
}

contract(
  "sessions",
  "create checks the user's stamp and the sid; get returns what was stored",
  async ({ stores }) => {
    const { user, stamp } = await addUser(stores);
    const session = sessionOf(user);
    assert.deepEqual(
      await stores.sessions.createSession({ session, userVersionstamp: stamp, now: NOW }),
      { outcome: "created", ended: [] },
    );
    assert.deepEqual((await stores.sessions.getSession(session.sid))?.value, session);
    assert.deepEqual(
      await stores.sessions.createSession({ session, userVersionstamp: stamp, now: NOW }),
      { outcome: "changed", ended: [] },
    );
    await stores.users.updateUser({ ...user, updatedAt: NOW + 1 }, stamp);
    const other = sessionOf(user);
    assert.deepEqual(
      await stores.sessions.createSession({
        session: other,
        userVersionstamp: stamp,
        maxSessions: 1,
        now: NOW,
      }),
      { outcome: "changed", ended: [] },
    );
    assert.equal(await stores.sessions.getSession(other.sid), undefined, "nothing stored");
    assert.equal((await stores.sessions.getSession(session.sid))?.value.revokedAt, undefined);
    const both = await stores.sessions.getSessionAndUser(session.sid, "ada");
    assert.equal(both.session?.value.sid, session.sid);
    assert.equal(both.user?.value.updatedAt, NOW + 1);
  },
);

/** Creates `count` sessions of `user`, one a millisecond from `from`, under `max`. */
async function fill(
  stores: Stores,
  user: UserRecord,
  count: number,
  max: number,
  from = NOW - 1_000,
): Promise<SessionRecord[]> {
  const made: SessionRecord[] = [];
  for (let i = 0; i < count; i++) {
    const session = sessionOf(user, undefined, from + i);
    const { outcome } = await stores.sessions.createSession({
      session,
      maxSessions: max,
      now: NOW,
    });
    assert.equal(outcome, "created");
    made.push(session);
  }
  return made;
}

const sids = (sessions: readonly SessionRecord[]) => sessions.map((s) => s.sid);

contract(
  "sessions",
  "at the cap, the create commit ends the oldest live session, as a revocation ends one",
  async ({ stores }) => {
    const { user, stamp } = await addUser(stores);
    const [oldest, middle, newest] = await fill(stores, user, 3, 3);
    const oldestRead = (await stores.sessions.getSession(oldest!.sid))!;
    const fourth = sessionOf(user);
    const created = await stores.sessions.createSession({
      session: fourth,
      userVersionstamp: stamp,
      maxSessions: 3,
      now: NOW,
    });
    assert.deepEqual(created, { outcome: "created", ended: [oldest] }, "ended as it was");
    const ended = (await stores.sessions.getSession(oldest!.sid))!.value;
    assert.equal(ended.revokedAt, NOW, "revoked in the same commit");
    assert.deepEqual(
      sids(await stores.sessions.listUserSessions(user.uid!)).sort(),
      sids([middle!, newest!, fourth]).sort(),
      "out of the user's index; the others untouched",
    );
    // Its refresh tokens are dead: a rotation read before the create cannot commit.
    assert.equal(
      await stores.sessions.commitRotation({
        session: { ...oldestRead.value, currentHash: "h1", parentHash: "h0" },
        sessionVersionstamp: oldestRead.versionstamp,
        userVersionstamp: stamp,
        now: NOW,
      }),
      undefined,
    );
    // A revoked session leaves room: nothing ends.
    await stores.sessions.revokeSession(middle!.sid, NOW);
    assert.deepEqual(
      (await stores.sessions.createSession({ session: sessionOf(user), maxSessions: 3, now: NOW }))
        .ended,
      [],
    );
    // Sessions past their end neither count nor end.
    const late = NOW + 7_200_001;
    assert.deepEqual(
      await stores.sessions.createSession({
        session: sessionOf(user, undefined, late),
        maxSessions: 3,
        now: late,
      }),
      { outcome: "created", ended: [] },
      "sessions past their end do not count",
    );
  },
);

contract(
  "sessions",
  "at the cap, a session counts as live by its latest end: a refresh moves it, idling ends it",
  async ({ stores }) => {
    const { user, stamp } = await addUser(stores);
    const hour = 3_600_000;
    // Two sessions, each idling out an hour after its last refresh; only the older is refreshed.
    const [older, younger] = await fill(stores, user, 2, 2, NOW);
    const read = (await stores.sessions.getSession(older!.sid))!;
    const refreshedAt = NOW + hour / 2;
    assert(
      await stores.sessions.commitRotation({
        session: { ...read.value, refreshedAt, expiresAt: refreshedAt + hour },
        sessionVersionstamp: read.versionstamp,
        userVersionstamp: stamp,
        now: refreshedAt,
      }),
    );
    // The younger has idled out, the older lives on: one live, room for another, none ends.
    const later = NOW + hour + 10;
    const third = sessionOf(user, undefined, later);
    assert.deepEqual(
      (await stores.sessions.createSession({ session: third, maxSessions: 2, now: later })).ended,
      [],
      `${younger!.sid} idled out: it leaves room, and the refreshed older session does not end`,
    );
    // Now two live (the refreshed one and the third): the next ends the refreshed one, oldest.
    const fourth = sessionOf(user, undefined, later + 1);
    const { ended } = await stores.sessions.createSession({
      session: fourth,
      maxSessions: 2,
      now: later + 1,
    });
    assert.deepEqual(sids(ended), [older!.sid], "the refresh kept it live: it counts, and ends");
  },
);

// Index keys written before 2.23.0 hold `true`, not the session's dates: those sessions are read.
Deno.test("sessions [kv]: an index written by 2.22 still counts live sessions at the cap", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const stores = kvStores(kv);
    const { user } = await addUser(stores);
    const hour = 3_600_000;
    const made = await fill(stores, user, 3, 3, NOW);
    for (const session of made) await kv.set(["user_sessions", user.uid!, session.sid], true);
    await kv.set(["session_cap", user.uid!], NOW);
    const gone = made[1]!;
    await kv.set(["sessions", gone.sid], { ...gone, expiresAt: NOW + 1 });
    // One idled out: room without ending anyone; then at the cap the oldest live one ends.
    const at = NOW + hour / 2;
    const third = sessionOf(user, undefined, at);
    assert.deepEqual(
      (await stores.sessions.createSession({ session: third, maxSessions: 3, now: at })).ended,
      [],
    );
    const { ended } = await stores.sessions.createSession({
      session: sessionOf(user, undefined, at + 1),
      maxSessions: 3,
      now: at + 1,
    });
    assert.deepEqual(sids(ended), [made[0]!.sid]);
  } finally {
    kv.close();
  }
});

// A rolling upgrade: a 2.22.0 instance's refresh rewrites the session's record, not its index key.
Deno.test("sessions [kv]: a session a 2.22 instance refreshed still counts at the cap", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const stores = kvStores(kv);
    const { user } = await addUser(stores);
    const hour = 3_600_000;
    const [older, younger] = await fill(stores, user, 2, 2, NOW);
    const refreshedAt = NOW + hour / 2;
    await kv.set(["sessions", older!.sid], {
      ...older!,
      refreshedAt,
      expiresAt: refreshedAt + hour,
    });
    const later = NOW + hour + 10; // the younger idled out; the older lives by its record
    const third = sessionOf(user, undefined, later);
    assert.deepEqual(
      (await stores.sessions.createSession({ session: third, maxSessions: 2, now: later })).ended,
      [],
      `${younger!.sid} idled out: room for one`,
    );
    const { ended } = await stores.sessions.createSession({
      session: sessionOf(user, undefined, later + 1),
      maxSessions: 2,
      now: later + 1,
    });
    assert.deepEqual(sids(ended), [older!.sid], "its record says live: it counts, and ends");
  } finally {
    kv.close();
  }
});

Deno.test("sessions [kv]: below the cap, a login lists the user's index only when its bound is unknown", async () => {
  const kv = await Deno.openKv(":memory:");
  let lists = 0;
  const counting = new Proxy(kv, {
    get(target, prop) {
      if (prop === "list") lists++;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  try {
    const stores = kvStores(counting);
    const { user } = await addUser(stores);
    await fill(stores, user, 1, 3, NOW);
    assert.equal(lists, 1, "the first session: no bound yet, the index is listed");
    await fill(stores, user, 2, 3, NOW + 10);
    assert.equal(lists, 1, "room by the bound: not listed");
    // At the cap the index is read, and the oldest ends; a revocation leaves the bound high.
    const { ended } = await stores.sessions.createSession({
      session: sessionOf(user, undefined, NOW + 20),
      maxSessions: 3,
      now: NOW,
    });
    assert.equal(lists, 2);
    assert.equal(ended.length, 1);
  } finally {
    kv.close();
  }
});

contract(
  "sessions",
  "a lowered cap: the create commit ends every oldest session beyond it, oldest first",
  async ({ stores }) => {
    const { user } = await addUser(stores);
    const made = await fill(stores, user, 6, 10);
    const { outcome, ended } = await stores.sessions.createSession({
      session: sessionOf(user),
      maxSessions: 2,
      now: NOW,
    });
    assert.equal(outcome, "created");
    assert.deepEqual(sids(ended), sids(made.slice(0, 5)));
    assert.equal((await stores.sessions.listUserSessions(user.uid!)).length, 2);
  },
);

contract(
  "sessions",
  "a cap lowered far: over a hundred sessions end, oldest first, more than one commit holds",
  async ({ stores }) => {
    const { user } = await addUser(stores);
    // Deno KV ends at most 32 in the create's own commit (100 checks a commit): the rest end in
    // commits of their own first. 120 is beyond what one commit could check.
    const made = await fill(stores, user, 120, 200);
    const { outcome, ended } = await stores.sessions.createSession({
      session: sessionOf(user),
      maxSessions: 1,
      now: NOW,
    });
    assert.equal(outcome, "created");
    assert.deepEqual(sids(ended), sids(made));
    assert.equal((await stores.sessions.listUserSessions(user.uid!)).length, 1);
  },
);

/**
 * Bursts of 16 concurrent creates of one user at a cap of 3, half through `second`: all succeed,
 * never more than 3 live, one ended per create beyond the cap, none ended twice, none lost.
 */
async function burstsAtCap(stores: Stores, second: Stores): Promise<void> {
  const { user, stamp } = await addUser(stores);
  // One below the cap: the first of them fill it (the index's check), the rest end the oldest.
  // Rounds, because a race that lets one too many in need not happen in every burst.
  let live = await fill(stores, user, 2, 3);
  for (let round = 0; round < 4; round++) {
    const before = sids(live);
    const logins = Array.from(
      { length: 16 },
      (_, i) => sessionOf(user, undefined, NOW + round * 100 + i),
    );
    const outcomes = await Promise.all(
      logins.map((session, i) =>
        (i % 2 ? second : stores).sessions.createSession({
          session,
          userVersionstamp: stamp,
          maxSessions: 3,
          now: NOW,
        })
      ),
    );
    assert.deepEqual(outcomes.map((o) => o.outcome), logins.map(() => "created"));
    // Per create, not only per burst: a create that slipped past the cap ends nothing while the
    // user is full, and a later one ends two to heal it, so the end state alone cannot see it.
    // Below the cap by `room`, exactly `room` creates end nothing; every other ends exactly one.
    const room = 3 - before.length;
    assert.equal(
      outcomes.map((o) => o.ended.length).sort().join(""),
      "0".repeat(room) + "1".repeat(16 - room),
      `round ${round}: each create beyond the cap ends exactly one (none slips past it)`,
    );
    const ended = outcomes.flatMap((o) => sids(o.ended));
    const expected = before.length + 16 - 3;
    assert.equal(ended.length, expected, `round ${round}: one ended per create beyond the cap`);
    assert.equal(new Set(ended).size, expected, "none ended twice");
    live = await stores.sessions.listUserSessions(user.uid!);
    assert.equal(live.length, 3, `round ${round}: never over the cap`);
    assert.deepEqual(
      [...ended, ...sids(live)].sort(),
      [...before, ...sids(logins)].sort(),
      "every session either live or ended: none lost",
    );
    for (const sid of before) assert(ended.includes(sid), "the oldest ended first");
    for (const sid of ended) {
      assert.equal((await stores.sessions.getSession(sid))?.value.revokedAt, NOW, sid);
    }
  }
}

contract(
  "sessions",
  "concurrent creates at the cap never exceed it, all succeed, end the oldest, lose none",
  ({ stores, second }) => burstsAtCap(stores, second),
);

// Deno KV across processes (`deno task start:all-cores`): two handles on one file, as two
// processes hold it; each commits through SQLite's own locking.
needs(READ, WRITE)(
  "sessions [kv, two handles on one file]: concurrent creates at the cap never exceed it",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "sessions-cap-" });
    const path = `${dir}/auth.kv`;
    const one = await Deno.openKv(path);
    const two = await Deno.openKv(path);
    try {
      await burstsAtCap(kvStores(one), kvStores(two));
    } finally {
      one.close();
      two.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

contract(
  "sessions",
  "two rotations of one read: exactly one commits",
  async ({ stores, second }) => {
    const { user, stamp } = await addUser(stores);
    const session = sessionOf(user);
    await stores.sessions.createSession({ session, userVersionstamp: stamp, now: NOW });
    for (let round = 0; round < 5; round++) {
      const read = (await stores.sessions.getSession(session.sid))!;
      const results = await Promise.all([stores, second].map((s, i) =>
        s.sessions.commitRotation({
          session: {
            ...read.value,
            currentHash: `h${round}-${i}`,
            parentHash: read.value.currentHash,
          },
          sessionVersionstamp: read.versionstamp,
          userVersionstamp: stamp,
          now: NOW,
        })
      ));
      assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results}`);
      const after = (await stores.sessions.getSession(session.sid))!;
      assert.notEqual(after.versionstamp, read.versionstamp);
      // The winner's answer is the stamp the next read sees (a refresh commits on it unread).
      assert.equal(results.find(Boolean), after.versionstamp);
      assert.equal(after.value.parentHash, read.value.currentHash);
    }
  },
);

contract(
  "sessions",
  "a rotation fails after a revocation or a change to the user",
  async ({ stores, second }) => {
    const { user, stamp } = await addUser(stores);
    const session = sessionOf(user);
    await stores.sessions.createSession({ session, userVersionstamp: stamp, now: NOW });
    const read = (await stores.sessions.getSession(session.sid))!;
    const rotation = {
      session: { ...read.value, currentHash: "h1", parentHash: "h0" },
      sessionVersionstamp: read.versionstamp,
      userVersionstamp: stamp,
      now: NOW,
    };
    // The user changes: the rotation checked against its old stamp must fail.
    const newStamp = await stores.users.updateUser({ ...user, disabled: true }, stamp);
    assert(newStamp);
    assert.equal(await stores.sessions.commitRotation(rotation), undefined);
    // A revocation racing a rotation: whichever wins, the session ends revoked.
    const [revoked, rotated] = await Promise.all([
      second.sessions.revokeSession(session.sid, NOW),
      stores.sessions.commitRotation({ ...rotation, userVersionstamp: newStamp }),
    ]);
    assert.equal(revoked?.sid, session.sid);
    assert.equal(revoked?.revokedAt, undefined, "returned as it was found");
    const after = (await stores.sessions.getSession(session.sid))!.value;
    assert.equal(
      after.revokedAt,
      NOW,
      `revoked whether or not the rotation (${rotated}) came first`,
    );
    assert.equal(
      await stores.sessions.commitRotation({ ...rotation, userVersionstamp: newStamp }),
      undefined,
    );
    assert.equal(
      (await stores.sessions.revokeSession(session.sid, NOW + 5))?.revokedAt,
      NOW,
      "idempotent",
    );
    assert.deepEqual(await stores.sessions.listUserSessions(user.uid!), [], "unlisted");
  },
);

contract("sessions", "a removed user's sessions are forgotten", async ({ stores }) => {
  const { user, stamp } = await addUser(stores);
  for (let i = 0; i < 3; i++) {
    await stores.sessions.createSession({
      session: sessionOf(user),
      userVersionstamp: stamp,
      now: NOW,
    });
  }
  assert.equal((await stores.sessions.listUserSessions(user.uid!)).length, 3);
  await stores.sessions.deleteUserSessions(user.uid!);
  assert.deepEqual(await stores.sessions.listUserSessions(user.uid!), []);
});
