/**
 * {@link SessionStore} over PostgreSQL (schema: `pg_migrations.ts`). Each KV atomic commit of
 * `kv_sessions.ts` is one statement or one transaction here, at READ COMMITTED; next to each,
 * the row locks that give it the same guarantee.
 *
 * @module
 */
import {
  type CreateOutcome,
  type NewSession,
  type Rotation,
  type SessionAndUser,
  type SessionRecord,
  type SessionStore,
  UNCHANGED,
} from "../tokens/session_store.ts";
import type { UserRecord } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";
import { json, pgCall, READ_COMMITTED, type Sql, type Tx } from "./pg_client.ts";

/** Wall-clock epoch ms at which a row stamped at `now` (the caller's clock) lasting until `at` goes. */
export function goneAt(wall: number, at: number, now: number): number {
  return wall + Math.max(1, Math.ceil(at - now));
}

/**
 * One writer of a user's sessions at a time, across every instance: an exclusive lock on the
 * user's uid until the transaction ends (a capped create, the removal of all of them).
 */
async function lockUserSessions(tx: Tx, userUid: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${"sessions:" + userUid}, 0))`;
}

/** Sessions in PostgreSQL. */
export class PgSessionStore implements SessionStore {
  readonly #sql: Sql;
  readonly #wall: () => number;

  /** `wall`: the wall clock that decides when a row is gone (Deno KV's expiry clock). */
  constructor(sql: Sql, wall: () => number = Date.now) {
    this.#sql = sql;
    this.#wall = wall;
  }

  createSession({ session, userVersionstamp, maxSessions, now }: NewSession) {
    return pgCall(
      "createSession",
      () =>
        this.#sql.begin(READ_COMMITTED, async (tx): Promise<CreateOutcome> => {
          // The user row FOR SHARE: no change to the user can commit before this session does,
          // so the stamp checked here holds at commit (KV: the atomic check of the user's key).
          if (userVersionstamp !== undefined) {
            const [user] = await tx<{ stamp: string }[]>`
            SELECT stamp FROM users WHERE id = ${session.userId} FOR SHARE`;
            if (user?.stamp !== userVersionstamp) return UNCHANGED;
          }
          if (maxSessions !== undefined) {
            // One new session of a user at a time (an exclusive transaction-level lock on the
            // uid): the count that picks the oldest to end sees every session a concurrent login
            // committed before it, so two logins never both end the same oldest one and both
            // take its place (KV: the cap key's check).
            await lockUserSessions(tx, session.userUid);
          }
          const wall = this.#wall();
          const record = json(session);
          const inserted = await tx`
          INSERT INTO sessions
            (sid, user_uid, stamp, record, expires_at, max_expires_at, gone_at)
          VALUES (${session.sid}, ${session.userUid}, nextval('stamps'), ${record}::text::jsonb,
            ${session.expiresAt}, ${session.maxExpiresAt}, ${goneAt(wall, session.expiresAt, now)})
          ON CONFLICT (sid) DO NOTHING RETURNING sid`;
          if (inserted.length !== 1) return UNCHANGED; // a taken sid: nothing written
          const ended = maxSessions === undefined
            ? []
            : await this.#endBeyondCap(tx, session, maxSessions, now);
          return { outcome: "created", ended };
        }),
    );
  }

  /**
   * In the new session's transaction, under the user's lock: ends the oldest live sessions of
   * the user other than `session` (just inserted) beyond `max - 1`, as {@link revokeSession}
   * ends one, in `oldestBeyondCap`'s order. One statement: the UPDATE locks each row it ends,
   * so a concurrent rotation of one waits and then fails its stamp check, and one a logout
   * revoked first is skipped (the logout made that room itself).
   */
  async #endBeyondCap(
    tx: Tx,
    session: SessionRecord,
    max: number,
    now: number,
  ): Promise<SessionRecord[]> {
    const rows = await tx<{ record: SessionRecord }[]>`
      WITH live AS (
        SELECT sid, (record->>'createdAt')::bigint AS created_at FROM sessions
        WHERE user_uid = ${session.userUid} AND sid <> ${session.sid} AND NOT revoked
          AND gone_at > ${this.#wall()} AND expires_at > ${now} AND max_expires_at > ${now}
      ), ending AS (
        SELECT sid FROM live ORDER BY created_at, sid COLLATE "C"
        LIMIT greatest(0, (SELECT count(*) FROM live) - ${max} + 1)
      )
      UPDATE sessions SET revoked = true, stamp = nextval('stamps'),
        record = sessions.record || jsonb_build_object('revokedAt', ${now}::bigint)
      FROM ending WHERE sessions.sid = ending.sid AND NOT sessions.revoked
      RETURNING sessions.record - 'revokedAt' AS record`;
    return rows.map((row) => row.record).sort((a, b) => a.createdAt - b.createdAt);
  }

  getSession(sid: string): Promise<Versioned<SessionRecord> | undefined> {
    return pgCall("getSession", async () => {
      const [row] = await this.#sql<{ stamp: string; record: SessionRecord }[]>`
        SELECT stamp, record FROM sessions WHERE sid = ${sid} AND gone_at > ${this.#wall()}`;
      return row && { value: row.record, versionstamp: row.stamp };
    });
  }

  getSessionAndUser(sid: string, userId: string): Promise<SessionAndUser> {
    // One statement, so one snapshot (READ COMMITTED takes one per statement).
    return pgCall("getSessionAndUser", async () => {
      const [row] = await this.#sql<
        {
          s_stamp: string | null;
          s_record: SessionRecord | null;
          u_stamp: string | null;
          u_record: UserRecord | null;
        }[]
      >`
        SELECT s.stamp AS s_stamp, s.record AS s_record, u.stamp AS u_stamp, u.record AS u_record
        FROM (SELECT 1) AS one
        LEFT JOIN sessions s ON s.sid = ${sid} AND s.gone_at > ${this.#wall()}
        LEFT JOIN users u ON u.id = ${userId}`;
      return {
        session: row?.s_stamp && row.s_record
          ? { value: row.s_record, versionstamp: row.s_stamp }
          : undefined,
        user: row?.u_stamp && row.u_record
          ? { value: row.u_record, versionstamp: row.u_stamp }
          : undefined,
      };
    });
  }

  commitRotation({ session, sessionVersionstamp, userVersionstamp, now }: Rotation) {
    // One statement. The UPDATE locks the session row: a concurrent rotation or revocation of
    // it waits, and PostgreSQL re-checks `stamp = ...` on the row as committed (READ COMMITTED
    // re-evaluates the WHERE of an UPDATE that waited), so only one of two rotations that read
    // the same stamp writes. The user row is locked FOR SHARE by the CTE: its stamp holds until
    // commit (no epoch bump, disable, role loss or removal slips in between).
    return pgCall("commitRotation", async () => {
      const wall = this.#wall();
      const [row] = await this.#sql<{ stamp: string }[]>`
        WITH checked_user AS (
          SELECT 1 FROM users WHERE id = ${session.userId} AND stamp = ${userVersionstamp} FOR SHARE
        )
        UPDATE sessions SET record = ${json(session)}::text::jsonb, stamp = nextval('stamps'),
          expires_at = ${session.expiresAt}, max_expires_at = ${session.maxExpiresAt},
          gone_at = ${goneAt(wall, session.expiresAt, now)}
        WHERE sid = ${session.sid} AND stamp = ${sessionVersionstamp} AND gone_at > ${wall}
          AND EXISTS (SELECT 1 FROM checked_user)
        RETURNING stamp`;
      return row?.stamp;
    });
  }

  revokeSession(sid: string, now: number): Promise<SessionRecord | undefined> {
    // One statement: the row lock orders it against a rotation of the same session (whichever
    // commits second sees the other's row and either revokes it or fails its stamp check).
    return pgCall("revokeSession", async () => {
      const wall = this.#wall();
      const [revoked] = await this.#sql<{ record: SessionRecord }[]>`
        UPDATE sessions SET revoked = true, stamp = nextval('stamps'),
          record = record || jsonb_build_object('revokedAt', ${now}::bigint)
        WHERE sid = ${sid} AND NOT revoked AND gone_at > ${wall}
        RETURNING record - 'revokedAt' AS record`;
      if (revoked) return revoked.record;
      const [found] = await this.#sql<{ record: SessionRecord }[]>`
        SELECT record FROM sessions WHERE sid = ${sid} AND gone_at > ${wall}`;
      return found?.record;
    });
  }

  listUserSessions(userUid: string): Promise<SessionRecord[]> {
    return pgCall("listUserSessions", async () => {
      const rows = await this.#sql<{ record: SessionRecord }[]>`
        SELECT record FROM sessions
        WHERE user_uid = ${userUid} AND NOT revoked AND gone_at > ${this.#wall()}`;
      return rows.map((row) => row.record);
    });
  }

  deleteUserSessions(userUid: string): Promise<void> {
    return pgCall("deleteUserSessions", () =>
      this.#sql.begin(READ_COMMITTED, async (tx) => {
        // Under the user's lock, as a capped create ends sessions: the DELETE locks rows in
        // table order, the create's UPDATE in age order, and without it the two could each hold
        // a row the other waits for (a deadlock, 503 busy). Unreachable through the user
        // service today (a removal deletes the user row first), so this guards later callers.
        await lockUserSessions(tx, userUid);
        await tx`DELETE FROM sessions WHERE user_uid = ${userUid}`;
      }));
  }
}
