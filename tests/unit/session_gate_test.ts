/**
 * The session gate judges a read against the revocations it has seen, whenever the read
 * completes: a read already in flight when a password change (epoch bump) or a logout was
 * announced on this instance must not let the token through once it lands.
 */
import assert from "node:assert/strict";
import type { AccessClaims } from "../../src/tokens/access_token.ts";
import { createSessionGate } from "../../src/tokens/session_gate.ts";
import type { SessionAndUser, SessionRecord } from "../../src/tokens/session_store.ts";
import type { UserRecord } from "../../src/users/user_store.ts";
import type { ClientRecord } from "../../src/oauth/client_store.ts";

const user: UserRecord = {
  id: "ada",
  uid: "u1",
  sessionEpoch: 0,
  passwordHash: "x",
  roles: ["user"],
  disabled: false,
  createdAt: 0,
  updatedAt: 0,
};
const session: SessionRecord = {
  sid: "s1",
  userId: "ada",
  userUid: "u1",
  epoch: 0,
  role: "user",
  createdAt: 0,
  refreshedAt: 0,
  expiresAt: 1e12,
  maxExpiresAt: 1e12,
  currentHash: "h",
};
const claims = { sub: "ada", role: "user", sid: "s1" } as AccessClaims;

/** A gate over a reader that answers the snapshot taken before `release` is called. */
function gateWithHeldRead() {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let reads = 0;
  const gate = createSessionGate({
    now: () => 1000,
    store: {
      async getSessionAndUser(): Promise<SessionAndUser> {
        const snapshot = {
          session: { value: session, versionstamp: "1" },
          user: { value: user, versionstamp: "1" },
        };
        if (reads++ === 0) await held;
        return snapshot;
      },
    },
  });
  return { gate, release };
}

Deno.test("session gate: an epoch bump announced while a read is in flight refuses the token", async () => {
  const { gate, release } = gateWithHeldRead();
  const pending = gate.isActive(claims);
  gate.onEvent({ type: "user_changed", user_id: "ada", uid: "u1", epoch: 1 });
  release();
  assert.equal(await pending, false, "the stale read (epoch 0) must not pass");
  assert.equal(await gate.isActive(claims), false);
});

Deno.test("session gate: a revocation announced while a read is in flight refuses the token", async () => {
  const { gate, release } = gateWithHeldRead();
  const pending = gate.isActive(claims);
  gate.onEvent({ type: "session_revoked", sid: "s1", sub: "ada", reason: "logout" });
  release();
  assert.equal(await pending, false);
});

Deno.test("session gate: the same read, with nothing announced, lets the token through", async () => {
  const { gate, release } = gateWithHeldRead();
  const pending = gate.isActive(claims);
  release();
  assert.equal(await pending, true);
});

Deno.test("session gate: a revocation announced while the session's OAuth client is read refuses the token", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let clientRead!: () => void;
  const reading = new Promise<void>((resolve) => (clientRead = resolve));
  const issued: SessionRecord = { ...session, clientId: "app", clientGen: "g1" };
  const gate = createSessionGate({
    now: () => 1000,
    store: {
      getSessionAndUser: () =>
        Promise.resolve({
          session: { value: issued, versionstamp: "1" },
          user: { value: user, versionstamp: "1" },
        }),
    },
    clients: {
      async getClient(clientId: string) {
        clientRead();
        await held;
        // Only what `clientMatches` reads: the id and the generation.
        const value = { clientId, generation: "g1", createdAt: 0 } as unknown as ClientRecord;
        return { value, versionstamp: "1" };
      },
    },
  });
  const pending = gate.isActive(claims);
  await reading;
  gate.onEvent({ type: "session_revoked", sid: "s1", sub: "ada", reason: "logout" });
  release();
  assert.equal(await pending, false, "revoked while its client was read");
  assert.equal(gate.peek(claims), undefined);
});

Deno.test("session gate: userUid is the uid of a live session's user, nobody's once it ended", async () => {
  // /userinfo's sub comes from it: the user the session was bound to, not whoever holds the
  // user id now.
  const { gate, release } = gateWithHeldRead();
  release();
  assert.equal(await gate.userUid(claims), "u1");
  const { sid: _, ...serviceAccount } = claims;
  assert.equal(await gate.userUid(serviceAccount as AccessClaims), undefined);
  gate.onEvent({ type: "session_revoked", sid: "s1", sub: "ada", reason: "logout" });
  assert.equal(await gate.userUid(claims), undefined);
});
