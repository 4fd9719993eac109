/**
 * {@link SessionStore} over Deno KV: sessions and the per-user session index (keys:
 * `kv_layout.ts`).
 *
 * @module
 */
import { ContendedError } from "../errors.ts";
import {
  type CreateOutcome,
  isSessionLive,
  type NewSession,
  type Rotation,
  type SessionAndUser,
  type SessionRecord,
  type SessionStore,
} from "../tokens/session_store.ts";
import type { UserRecord } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";
import {
  KEYS,
  kvCall,
  MAX_ATOMIC_MUTATIONS,
  MAX_COMMIT_ATTEMPTS,
  until,
  versioned,
} from "./kv_layout.ts";

/** Most keys one `getMany` may read. */
const MAX_GET_MANY = 10;

/** Sessions in Deno KV. */
export class KvSessionStore implements SessionStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  createSession({ session, userVersionstamp, maxSessions, now }: NewSession) {
    const sessionKey = KEYS.session(session.sid);
    const capKey = KEYS.sessionCap(session.userUid);
    return kvCall("createSession", async (): Promise<CreateOutcome> => {
      for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
        // Every new session of a user rewrites its cap key and checks it unchanged since the
        // count: of two logins that counted the same sessions, one commits, the other counts
        // again. (Revocations only lower the count: they need not touch it.)
        const cap = await this.#kv.get(capKey);
        if (
          maxSessions !== undefined && !(await this.#hasRoom(session.userUid, maxSessions, now))
        ) {
          return "full";
        }
        const op = this.#kv.atomic().check({ key: sessionKey, versionstamp: null }).check(cap);
        if (userVersionstamp !== undefined) {
          op.check({ key: KEYS.user(session.userId), versionstamp: userVersionstamp });
        }
        const result = await op
          .set(sessionKey, session, until(session.expiresAt, now))
          .set(
            KEYS.userSession(session.userUid, session.sid),
            true,
            until(session.maxExpiresAt, now),
          )
          .set(capKey, now, until(session.maxExpiresAt, now))
          .commit();
        if (result.ok) return "created";
        // Lost to another login of this user (count again), or the user or the sid changed.
        const [taken, user] = await this.#kv.getMany([sessionKey, KEYS.user(session.userId)]);
        const userChanged = userVersionstamp !== undefined &&
          user.versionstamp !== userVersionstamp;
        if (taken.versionstamp !== null || userChanged) return "changed";
      }
      throw new ContendedError("Session cap of one user too contended");
    });
  }

  /** Fewer than `max` live sessions: the index keys alone say so for most logins. */
  async #hasRoom(userUid: string, max: number, now: number): Promise<boolean> {
    const sids: string[] = [];
    for await (const entry of this.#kv.list({ prefix: KEYS.userSessions(userUid) })) {
      const sid = entry.key[2];
      if (typeof sid === "string") sids.push(sid);
    }
    // Every live session is indexed: fewer keys than the cap, fewer live sessions.
    if (sids.length < max) return true;
    const live = (await this.#read(sids)).filter((session) => isSessionLive(session, now));
    return live.length < max;
  }

  /** The sessions of `sids` that exist, read in batches. */
  async #read(sids: readonly string[]): Promise<SessionRecord[]> {
    const batches: Promise<Deno.KvEntryMaybe<SessionRecord>[]>[] = [];
    for (let i = 0; i < sids.length; i += MAX_GET_MANY) {
      const keys = sids.slice(i, i + MAX_GET_MANY).map(KEYS.session);
      batches.push(this.#kv.getMany<SessionRecord[]>(keys));
    }
    return (await Promise.all(batches)).flat().flatMap((entry) =>
      entry.versionstamp === null ? [] : [entry.value]
    );
  }

  getSession(sid: string): Promise<Versioned<SessionRecord> | undefined> {
    return kvCall(
      "getSession",
      async () => versioned(await this.#kv.get<SessionRecord>(KEYS.session(sid))),
    );
  }

  getSessionAndUser(sid: string, userId: string): Promise<SessionAndUser> {
    return kvCall("getSessionAndUser", async () => {
      const [session, user] = await this.#kv.getMany<[SessionRecord, UserRecord]>([
        KEYS.session(sid),
        KEYS.user(userId),
      ]);
      return { session: versioned(session), user: versioned(user) };
    });
  }

  commitRotation({ session, sessionVersionstamp, userVersionstamp, now }: Rotation) {
    return kvCall("commitRotation", async () => {
      // The session's versionstamp proves nothing rotated or revoked it since it was read; the
      // user's proves no epoch bump, disable, role loss or removal happened since it was checked.
      const result = await this.#kv.atomic()
        .check({ key: KEYS.session(session.sid), versionstamp: sessionVersionstamp })
        .check({ key: KEYS.user(session.userId), versionstamp: userVersionstamp })
        .set(KEYS.session(session.sid), session, until(session.expiresAt, now))
        .commit();
      return result.ok;
    });
  }

  revokeSession(sid: string, now: number): Promise<SessionRecord | undefined> {
    return kvCall("revokeSession", async () => {
      for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
        const entry = await this.getSession(sid);
        if (!entry || entry.value.revokedAt !== undefined) return entry?.value;
        const result = await this.#kv.atomic()
          .check({ key: KEYS.session(sid), versionstamp: entry.versionstamp })
          .set(
            KEYS.session(sid),
            { ...entry.value, revokedAt: now },
            until(entry.value.expiresAt, now),
          )
          .delete(KEYS.userSession(entry.value.userUid, sid))
          .commit();
        if (result.ok) return entry.value;
      }
      throw new ContendedError("Session revocation too contended");
    });
  }

  listUserSessions(userUid: string): Promise<SessionRecord[]> {
    return kvCall("listUserSessions", async () => {
      const sids: string[] = [];
      for await (const entry of this.#kv.list({ prefix: KEYS.userSessions(userUid) })) {
        const sid = entry.key[2];
        if (typeof sid === "string") sids.push(sid);
      }
      return await this.#read(sids);
    });
  }

  /** Drops the index (and the cap key): the records die by their uid and expire by themselves. */
  deleteUserSessions(userUid: string): Promise<void> {
    return kvCall("deleteUserSessions", async () => {
      const keys: Deno.KvKey[] = [KEYS.sessionCap(userUid)];
      for await (const entry of this.#kv.list({ prefix: KEYS.userSessions(userUid) })) {
        keys.push(entry.key);
      }
      for (let i = 0; i < keys.length; i += MAX_ATOMIC_MUTATIONS) {
        const batch = this.#kv.atomic();
        for (const key of keys.slice(i, i + MAX_ATOMIC_MUTATIONS)) batch.delete(key);
        await batch.commit();
      }
    });
  }
}
