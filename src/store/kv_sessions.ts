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
  oldestBeyondCap,
  type Rotation,
  type SessionAndUser,
  type SessionRecord,
  type SessionStore,
  UNCHANGED,
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

/**
 * What a user's index key holds of its session: enough to count the live ones and find the
 * oldest without reading every session (a login at the cap read all of them: 100 by default).
 * Written with the session and rewritten by each rotation, in the same commit. Keys written
 * before 2.23.0 hold `true`: those sessions are read, as then.
 */
interface IndexedSession {
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly maxExpiresAt: number;
}

function indexed({ createdAt, expiresAt, maxExpiresAt }: SessionRecord): IndexedSession {
  return { createdAt, expiresAt, maxExpiresAt };
}

function isIndexed(value: unknown): value is IndexedSession {
  return typeof value === "object" && value !== null && "expiresAt" in value;
}

/**
 * The user's cap key: when the last session started, and at most how many of the user's
 * sessions are live. Only a new session raises the live count (a refresh cannot revive an ended
 * one), and every new session rewrites the key in its commit, so the bound holds until then.
 * Keys written before 2.23.0 hold the time alone: no bound, the index is listed.
 */
interface SessionCap {
  readonly at: number;
  readonly live?: number;
}

function liveBound(value: unknown): number | undefined {
  const live = typeof value === "object" && value !== null ? (value as SessionCap).live : undefined;
  return typeof live === "number" ? live : undefined;
}

/** What {@link KvSessionStore} found the cap needs: the sessions to end, and the live count. */
interface BeyondCap {
  readonly ending: Versioned<SessionRecord>[];
  /** At most this many live sessions (before any end); unknown when the index was not read. */
  readonly live: number | undefined;
}

/**
 * Sessions a new session's commit ends at most (each adds a check and two mutations; Deno KV
 * takes at most 100 checks in one atomic). More only after `MAX_SESSIONS_PER_USER` was lowered.
 */
const MAX_ENDED_PER_COMMIT = 32;

/**
 * Lost commit races of one new session before `ContendedError`: every login of the same user
 * that commits first costs one (16 at once at the cap: at most 15 each).
 */
const MAX_CREATE_ATTEMPTS = 48;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

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
      const endedBefore: SessionRecord[] = [];
      for (let attempt = 0; attempt < MAX_CREATE_ATTEMPTS; attempt++) {
        // Every new session of a user rewrites its cap key and checks it unchanged since it
        // read the user's index: of two logins that read the same index, one commits, the
        // other reads again (and ends the next oldest). Revocations only lower the count:
        // they need not touch it; the sessions this commit ends are checked one by one.
        const cap = await this.#kv.get(capKey);
        const bound = liveBound(cap.value);
        // Room under the cap by the key's bound alone: the index is not listed (most logins).
        const found: BeyondCap = maxSessions === undefined ||
            (bound !== undefined && bound < maxSessions)
          ? { ending: [], live: bound }
          : await this.#beyondCap(session.userUid, maxSessions, now);
        let ending = found.ending;
        if (ending.length > MAX_ENDED_PER_COMMIT) {
          // Far over the cap (it was lowered since these sessions started): the oldest of them
          // end first, each in a commit of its own, and the rest with the new session.
          for (const old of ending.slice(0, ending.length - MAX_ENDED_PER_COMMIT)) {
            const ended = await this.revokeSession(old.value.sid, now);
            if (ended && ended.revokedAt === undefined) endedBefore.push(ended);
          }
          ending = ending.slice(ending.length - MAX_ENDED_PER_COMMIT);
        }
        // Every session found to end is no longer live, whoever ended it; the new one is.
        const live = found.live === undefined ? undefined : found.live - found.ending.length + 1;
        const capValue: SessionCap = live === undefined ? { at: now } : { at: now, live };
        const op = this.#kv.atomic().check({ key: sessionKey, versionstamp: null }).check(cap);
        if (userVersionstamp !== undefined) {
          op.check({ key: KEYS.user(session.userId), versionstamp: userVersionstamp });
        }
        for (const { value: old, versionstamp } of ending) {
          // Ended as revokeSession ends one: revoked, out of the index; unchanged since read.
          op.check({ key: KEYS.session(old.sid), versionstamp })
            .set(KEYS.session(old.sid), { ...old, revokedAt: now }, until(old.expiresAt, now))
            .delete(KEYS.userSession(old.userUid, old.sid));
        }
        const result = await op
          .set(sessionKey, session, until(session.expiresAt, now))
          .set(
            KEYS.userSession(session.userUid, session.sid),
            indexed(session),
            until(session.maxExpiresAt, now),
          )
          .set(capKey, capValue, until(session.maxExpiresAt, now))
          .commit();
        if (result.ok) {
          return { outcome: "created", ended: [...endedBefore, ...ending.map((e) => e.value)] };
        }
        // Lost to another login of this user (read again), or the user or the sid changed.
        const [taken, user] = await this.#kv.getMany([sessionKey, KEYS.user(session.userId)]);
        const userChanged = userVersionstamp !== undefined &&
          user.versionstamp !== userVersionstamp;
        if (taken.versionstamp !== null || userChanged) {
          return endedBefore.length === 0 ? UNCHANGED : { outcome: "changed", ended: endedBefore };
        }
        // Logins of one user in other processes race for the same index: a short, growing,
        // jittered pause keeps them from meeting again at once (at most about 0.7 s in all).
        if (attempt >= 2) await pause(Math.random() * 2 ** Math.min(attempt - 2, 4));
      }
      throw new ContendedError("Session cap of one user too contended");
    });
  }

  /**
   * The user's live sessions (with their versionstamps) that must end for one more to fit under
   * `max`, oldest first: none when the index alone says there is room, as for most logins. At
   * the cap only the sessions that end are read (and those the index cannot vouch for).
   */
  async #beyondCap(userUid: string, max: number, now: number): Promise<BeyondCap> {
    const index: { sid: string; value: unknown }[] = [];
    for await (const entry of this.#kv.list({ prefix: KEYS.userSessions(userUid) })) {
      const sid = entry.key[2];
      if (typeof sid === "string") index.push({ sid, value: entry.value });
    }
    // Every live session is indexed: fewer keys than the cap, fewer live sessions.
    if (index.length < max) return { ending: [], live: index.length };
    const vouched: { sid: string; createdAt: number }[] = [];
    const unvouched: string[] = [];
    for (const { sid, value } of index) {
      if (isIndexed(value) && isSessionLive(value, now)) {
        vouched.push({ sid, createdAt: value.createdAt });
      } else if (!isIndexed(value) || value.maxExpiresAt > now) {
        // Idle by the index, but before its absolute end: a 2.22.0 instance sharing the store
        // may have refreshed it without rewriting the index (a rolling upgrade): its record says.
        unvouched.push(sid);
      }
    }
    const read = (await this.#readVersioned(unvouched)).filter((e) => isSessionLive(e.value, now));
    const live = vouched.length + read.length;
    const ending = oldestBeyondCap([...vouched, ...read.map((e) => e.value)], max);
    if (ending.length === 0) return { ending: [], live };
    const known = new Map(read.map((e) => [e.value.sid, e]));
    const rest = await this.#readVersioned(
      ending.filter((e) => !known.has(e.sid)).map((e) => e.sid),
    );
    for (const entry of rest) known.set(entry.value.sid, entry);
    const chosen = ending.map((e) => known.get(e.sid));
    // A session revoked or gone since the index was listed: decide from the records alone.
    if (chosen.some((e) => e === undefined || !isSessionLive(e.value, now))) {
      return this.#beyondCapByRecords(index.map((e) => e.sid), max, now);
    }
    return { ending: chosen as Versioned<SessionRecord>[], live };
  }

  /** {@link #beyondCap} from the sessions' records: every indexed session read. */
  async #beyondCapByRecords(sids: readonly string[], max: number, now: number) {
    const live = (await this.#readVersioned(sids)).filter((entry) =>
      isSessionLive(entry.value, now)
    );
    const stamps = new Map(live.map((entry) => [entry.value, entry.versionstamp]));
    const ending = oldestBeyondCap(live.map((entry) => entry.value), max)
      .map((value) => ({ value, versionstamp: stamps.get(value)! }));
    return { ending, live: live.length };
  }

  /** The sessions of `sids` that exist, read in batches. */
  async #read(sids: readonly string[]): Promise<SessionRecord[]> {
    return (await this.#readVersioned(sids)).map((entry) => entry.value);
  }

  /** The sessions of `sids` that exist, with their versionstamps, read in batches. */
  async #readVersioned(sids: readonly string[]): Promise<Versioned<SessionRecord>[]> {
    const batches: Promise<Deno.KvEntryMaybe<SessionRecord>[]>[] = [];
    for (let i = 0; i < sids.length; i += MAX_GET_MANY) {
      const keys = sids.slice(i, i + MAX_GET_MANY).map(KEYS.session);
      batches.push(this.#kv.getMany<SessionRecord[]>(keys));
    }
    return (await Promise.all(batches)).flat().flatMap((entry) =>
      entry.versionstamp === null ? [] : [{ value: entry.value, versionstamp: entry.versionstamp }]
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
        // The index follows the session's sliding end: the cap then counts it live from the index
        // alone (an index key that looks idle costs the cap a read of the record).
        .set(
          KEYS.userSession(session.userUid, session.sid),
          indexed(session),
          until(session.maxExpiresAt, now),
        )
        .commit();
      return result.ok ? result.versionstamp : undefined;
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
