/**
 * The session store contract, every engine unchanged: the commits a refresh, a revocation and a
 * login rely on, and their races.
 */
import assert from "node:assert/strict";
import type { SessionRecord } from "../../src/tokens/session_store.ts";
import type { UserRecord } from "../../src/users/user_store.ts";
import type { Stores } from "../../src/store/stores.ts";
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
    assert.equal(
      await stores.sessions.createSession({ session, userVersionstamp: stamp, now: NOW }),
      "created",
    );
    assert.deepEqual((await stores.sessions.getSession(session.sid))?.value, session);
    assert.equal(
      await stores.sessions.createSession({ session, userVersionstamp: stamp, now: NOW }),
      "changed",
    );
    await stores.users.updateUser({ ...user, updatedAt: NOW + 1 }, stamp);
    const other = sessionOf(user);
    assert.equal(
      await stores.sessions.createSession({ session: other, userVersionstamp: stamp, now: NOW }),
      "changed",
    );
    assert.equal(await stores.sessions.getSession(other.sid), undefined, "nothing stored");
    const both = await stores.sessions.getSessionAndUser(session.sid, "ada");
    assert.equal(both.session?.value.sid, session.sid);
    assert.equal(both.user?.value.updatedAt, NOW + 1);
  },
);

contract(
  "sessions",
  "the cap is counted in the create commit, even for concurrent logins",
  async ({ stores, second }) => {
    const { user, stamp } = await addUser(stores);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? second : stores).sessions.createSession({
          session: sessionOf(user),
          userVersionstamp: stamp,
          maxSessions: 3,
          now: NOW,
        })),
    );
    assert.equal(outcomes.filter((o) => o === "created").length, 3, outcomes.join());
    assert.equal(outcomes.filter((o) => o === "full").length, 5);
    const listed = await stores.sessions.listUserSessions(user.uid!);
    assert.equal(listed.length, 3);
    // A revoked or ended session leaves room.
    await stores.sessions.revokeSession(listed[0]!.sid, NOW);
    assert.equal(
      await stores.sessions.createSession({ session: sessionOf(user), maxSessions: 3, now: NOW }),
      "created",
    );
    const late = NOW + 7_200_001;
    assert.equal(
      await stores.sessions.createSession({
        session: sessionOf(user, undefined, late),
        maxSessions: 3,
        now: late,
      }),
      "created",
      "sessions past their end do not count",
    );
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
    assert.equal(await stores.sessions.commitRotation(rotation), false);
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
      false,
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
