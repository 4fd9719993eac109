/**
 * {@link SessionStore} over Deno KV: sessions, refresh tokens and the per-user session index
 * (keys: `kv_layout.ts`).
 *
 * @module
 */
import { ContendedError } from "../errors.ts";
import type {
  RefreshRecord,
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

/** Sessions and refresh tokens in Deno KV. */
export class KvSessionStore implements SessionStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  createSession(session: SessionRecord, tokenHash: string, token: RefreshRecord): Promise<boolean> {
    const at = session.createdAt;
    return kvCall("createSession", async () => {
      const op = this.#kv.atomic().check({ key: KEYS.session(session.sid), versionstamp: null });
      if (token.userVersionstamp !== undefined) {
        op.check({ key: KEYS.user(session.userId), versionstamp: token.userVersionstamp });
      }
      const result = await op
        .set(KEYS.session(session.sid), session, until(session.expiresAt, at))
        .set(KEYS.userSession(session.userId, session.sid), true, until(token.indexExpiresAt, at))
        .set(KEYS.refreshToken(tokenHash), token, until(token.expiresAt, at))
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

  getRefresh(tokenHash: string): Promise<Versioned<RefreshRecord> | undefined> {
    return kvCall(
      "getRefresh",
      async () => versioned(await this.#kv.get<RefreshRecord>(KEYS.refreshToken(tokenHash))),
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

  commitRotation(rotation: Rotation): Promise<boolean> {
    const { spent, child, superseded, session, now } = rotation;
    return kvCall("commitRotation", async () => {
      const op = this.#kv.atomic()
        .check({ key: KEYS.refreshToken(spent.hash), versionstamp: spent.versionstamp })
        .check({ key: KEYS.session(rotation.sid), versionstamp: rotation.sessionVersionstamp })
        .check({ key: KEYS.user(rotation.userId), versionstamp: rotation.userVersionstamp })
        .set(KEYS.refreshToken(spent.hash), spent.record, until(spent.record.expiresAt, now))
        .set(KEYS.refreshToken(child.hash), child.record, until(child.record.expiresAt, now))
        .set(KEYS.session(rotation.sid), session, until(session.expiresAt, now));
      if (superseded) {
        op.check({ key: KEYS.refreshToken(superseded.hash), versionstamp: superseded.versionstamp })
          .set(
            KEYS.refreshToken(superseded.hash),
            superseded.record,
            until(superseded.record.expiresAt, now),
          );
      }
      if (rotation.indexUntil !== undefined) {
        op.set(
          KEYS.userSession(rotation.userId, rotation.sid),
          true,
          until(rotation.indexUntil, now),
        );
      }
      return (await op.commit()).ok;
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
          .commit();
        if (result.ok) return entry.value;
      }
      throw new ContendedError("Session revocation too contended");
    });
  }

  listSessionIds(userId: string): Promise<string[]> {
    return kvCall("listSessionIds", async () => {
      const ids: string[] = [];
      for await (const entry of this.#kv.list({ prefix: KEYS.userSessions(userId) })) {
        const sid = entry.key[2];
        if (typeof sid === "string") ids.push(sid);
      }
      return ids;
    });
  }

  deleteSessionIndex(userId: string): Promise<void> {
    return kvCall("deleteSessionIndex", async () => {
      const keys: Deno.KvKey[] = [];
      for await (const entry of this.#kv.list({ prefix: KEYS.userSessions(userId) })) {
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
