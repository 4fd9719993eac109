/**
 * {@link SessionStore} over Deno KV: sessions and the per-user session index (keys:
 * `kv_layout.ts`).
 *
 * @module
 */
import { ContendedError } from "../errors.ts";
import type {
  Rotation,
  SessionAndUser,
  SessionRecord,
  SessionStore,
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

  createSession(session: SessionRecord, userVersionstamp?: string): Promise<boolean> {
    const at = session.createdAt;
    return kvCall("createSession", async () => {
      const op = this.#kv.atomic().check({ key: KEYS.session(session.sid), versionstamp: null });
      if (userVersionstamp !== undefined) {
        op.check({ key: KEYS.user(session.userId), versionstamp: userVersionstamp });
      }
      const result = await op
        .set(KEYS.session(session.sid), session, until(session.expiresAt, at))
        .set(
          KEYS.userSession(session.userUid, session.sid),
          true,
          until(session.maxExpiresAt, at),
        )
        .commit();
      return result.ok;
    });
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
      const keys: Deno.KvKey[] = [];
      for await (const entry of this.#kv.list({ prefix: KEYS.userSessions(userUid) })) {
        const sid = entry.key[2];
        if (typeof sid === "string") keys.push(KEYS.session(sid));
      }
      const batches: Promise<Deno.KvEntryMaybe<SessionRecord>[]>[] = [];
      for (let i = 0; i < keys.length; i += MAX_GET_MANY) {
        batches.push(this.#kv.getMany<SessionRecord[]>(keys.slice(i, i + MAX_GET_MANY)));
      }
      return (await Promise.all(batches)).flat().flatMap((entry) =>
        entry.versionstamp === null ? [] : [entry.value]
      );
    });
  }

  countUserSessions(userUid: string): Promise<number> {
    return kvCall("countUserSessions", async () => {
      let count = 0;
      for await (const _ of this.#kv.list({ prefix: KEYS.userSessions(userUid) })) count++;
      return count;
    });
  }

  deleteSessionIndex(userUid: string): Promise<void> {
    return kvCall("deleteSessionIndex", async () => {
      const keys: Deno.KvKey[] = [];
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
