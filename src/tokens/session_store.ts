/**
 * What the session service and the session gate need from storage, and the record they store.
 * Implemented over Deno KV by `store/kv_sessions.ts`, over PostgreSQL by `store/pg_sessions.ts`;
 * both pass `tests/store/session_store_contract.ts`.
 *
 * @module
 */
import {
  type KeptSession,
  keptSession,
  sessionEpoch,
  type UserRecord,
  userUid,
} from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";

/**
 * A login session: every access token it issues carries its `sid`. One record holds all a
 * session ever needs, however often it is refreshed: the hashes of its current refresh token
 * and of that token's parent (the only spent token the grace window may forgive). Older tokens
 * are recognised by the family id they carry (`sessions.ts`), not by a stored record.
 */
export interface SessionRecord {
  readonly sid: string;
  /** The user's id (the `sub` of its access tokens). */
  readonly userId: string;
  /** The user's internal, never-reused identifier at login (`UserRecord.uid`). */
  readonly userUid: string;
  /** The user's session epoch at login (or at the rebinding a kept session gets). */
  readonly epoch: number;
  readonly role: string;
  /**
   * The OAuth client that authenticated when the session started (password grant), whose
   * credentials every refresh must then present (RFC 6749 section 6); absent for `/login` and
   * for public callers.
   */
  readonly clientId?: string;
  /** RFC 8176 authentication methods of the login (`["pwd"]`, `["pwd", "otp"]`). */
  readonly amr?: readonly string[];
  /**
   * That client's generation when the session started (`ClientRecord.generation`): removing
   * the client or rotating its secret (a new generation) ends the session, and registering the
   * id again revives nothing ({@link clientMatches}). Absent for sessions without a client, and
   * in sessions stored before it existed.
   */
  readonly clientGen?: string;
  /**
   * The browser session (its store key) whose sign-in started this session through an
   * authorization code: a logout of either ends both (`browser/sign_out.ts`), and it ends no
   * later than that browser session does. Absent for every other session.
   */
  readonly browserSessionKey?: string;
  readonly createdAt: number;
  /** The last rotation (`createdAt` before the first). */
  readonly refreshedAt: number;
  /** When it ends: the sliding `REFRESH_TTL`, never past `maxExpiresAt`. The KV entry too. */
  readonly expiresAt: number;
  /** `createdAt + SESSION_MAX_AGE`: the absolute end. */
  readonly maxExpiresAt: number;
  /** SHA-256 of the current refresh token. */
  readonly currentHash: string;
  /** SHA-256 of the token the current one replaced, spent at `refreshedAt`. */
  readonly parentHash?: string;
  /**
   * The user's versionstamp when last checked: the fast rotation's commit checks it. Safe only
   * because a store never hands out one stamp twice for a user id (not even after a delete and
   * a re-create under the same id): see `store/stores.ts`.
   */
  readonly userVersionstamp?: string;
  readonly revokedAt?: number;
}

/** A session's rotation, committed atomically by {@link SessionStore.commitRotation}. */
export interface Rotation {
  /** The session rewritten with its new current token. */
  readonly session: SessionRecord;
  /** Versionstamps the session and the user must still have (else nothing is written). */
  readonly sessionVersionstamp: string;
  readonly userVersionstamp: string;
  readonly now: number;
}

/** A new session, as {@link SessionStore.createSession} stores it. */
export interface NewSession {
  readonly session: SessionRecord;
  /**
   * The user's versionstamp when the credentials were checked: the commit stores nothing when
   * the user changed since (a password change or removal raced the login).
   */
  readonly userVersionstamp?: string;
  /**
   * Live sessions the user may hold (`MAX_SESSIONS_PER_USER`). When the user already holds
   * that many, the commit that stores the new session also ends the oldest live ones (by
   * `createdAt`), so that the new one is the last that fits: concurrent logins of one user,
   * in any process, never exceed it and never fail for it. Absent: no cap.
   */
  readonly maxSessions?: number;
  /** What "live" means for the count. */
  readonly now: number;
}

/**
 * What {@link SessionStore.createSession} did: `created`, and the live sessions it ended to
 * stay within `maxSessions` (as they were before, oldest first; ended exactly as
 * {@link SessionStore.revokeSession} ends one: revoked at `now`, out of the user's index); or
 * `changed`: stored nothing, because the user changed (or the sid is taken); `ended` is then
 * empty, except after a lowered cap, when a Deno KV store may have ended some first.
 */
export interface CreateOutcome {
  readonly outcome: "created" | "changed";
  readonly ended: readonly SessionRecord[];
}

/** The outcome of a create that stored nothing (see {@link CreateOutcome}). */
export const UNCHANGED: CreateOutcome = Object.freeze({ outcome: "changed", ended: [] });

/**
 * The oldest of `live` (sessions live at the commit's `now`) that must end so that one more
 * fits under `max`: oldest first by `createdAt`, then by `sid` (every engine ends the same ones).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oldestBeyondCap } from "./session_store.ts";
 * const live = [{ sid: "c", createdAt: 3 }, { sid: "a", createdAt: 1 }, { sid: "b", createdAt: 2 }];
 * assert.deepEqual(oldestBeyondCap(live, 3).map((s) => s.sid), ["a"]);
 * assert.deepEqual(oldestBeyondCap(live, 2).map((s) => s.sid), ["a", "b"]);
 * assert.deepEqual(oldestBeyondCap(live, 4), []);
 * ```
 */
export function oldestBeyondCap<T extends Pick<SessionRecord, "sid" | "createdAt">>(
  live: readonly T[],
  max: number,
): T[] {
  const ending = Math.max(0, live.length - max + 1);
  return [...live]
    .sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0))
    .slice(0, ending);
}

/** A session and its user with their versionstamps, read in one snapshot. */
export interface SessionAndUser {
  readonly session: Versioned<SessionRecord> | undefined;
  readonly user: Versioned<UserRecord> | undefined;
}

/**
 * Sessions and the per-user session index. Every method throws `StoreUnavailableError` when
 * the store fails.
 */
export interface SessionStore {
  /**
   * Stores a new session in one commit that also checks the user's versionstamp and, at the
   * cap, ends the user's oldest live sessions ({@link NewSession}, {@link CreateOutcome});
   * throws `ContendedError` when it keeps losing commit races (bounded).
   */
  createSession(input: NewSession): Promise<CreateOutcome>;
  getSession(sid: string): Promise<Versioned<SessionRecord> | undefined>;
  getSessionAndUser(sid: string, userId: string): Promise<SessionAndUser>;
  /**
   * Rewrites a session with its new refresh token; one commit, checking session and user. The
   * session's new versionstamp (what {@link getSession} reads next), or `undefined` when a check
   * failed and nothing was written.
   */
  commitRotation(rotation: Rotation): Promise<string | undefined>;
  /**
   * Marks a session revoked and drops its index entry (idempotent). Returns the session as it
   * was found, or `undefined` when there is none; throws `ContendedError` when it keeps losing
   * commit races.
   */
  revokeSession(sid: string, now: number): Promise<SessionRecord | undefined>;
  /**
   * A user's sessions (by internal id) that still exist; every live one is among them, revoked
   * or expired ones may be.
   */
  listUserSessions(userUid: string): Promise<SessionRecord[]>;
  /**
   * Forgets every session of a removed user: they are already dead by their uid (a re-created
   * user gets a new one); this only frees the storage and the user's session listing.
   */
  deleteUserSessions(userUid: string): Promise<void>;
}

/** The OAuth client a session is bound to, as the session service sees it (a client record). */
export interface SessionClient {
  readonly clientId: string;
  /** A public client (no secret): its id proves nothing, so it has no budget of its own. */
  readonly public?: boolean | undefined;
  readonly generation?: string | undefined;
  readonly createdAt: number;
}

/**
 * The one definition of a session's client being the one it was issued to: none for a session
 * without one; else the same id in the same generation (a session stored before generations
 * were recorded: a registration no younger than the session, so a re-added id still fails).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientMatches } from "./session_store.ts";
 * const session = { clientId: "web", clientGen: "g1", createdAt: 10 };
 * assert(clientMatches(session, { clientId: "web", generation: "g1", createdAt: 5 }));
 * assert(!clientMatches(session, { clientId: "web", generation: "g2", createdAt: 5 }));
 * assert(!clientMatches(session, undefined));
 * assert(clientMatches({ createdAt: 10 }, undefined));
 * // Stored before generations: only a registration at least as old as the session.
 * const legacy = { clientId: "web", createdAt: 10 };
 * assert(clientMatches(legacy, { clientId: "web", generation: "g1", createdAt: 10 }));
 * assert(!clientMatches(legacy, { clientId: "web", generation: "g2", createdAt: 11 }));
 * ```
 */
export function clientMatches(
  session: Pick<SessionRecord, "clientId" | "clientGen" | "createdAt">,
  client: SessionClient | undefined,
): boolean {
  if (session.clientId === undefined) return client === undefined;
  if (client === undefined || client.clientId !== session.clientId) return false;
  return session.clientGen !== undefined
    ? client.generation === session.clientGen
    : client.createdAt <= session.createdAt;
}

/**
 * The one definition of a session that has not ended by itself: it exists, is not revoked and
 * has not expired (sliding or absolute).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSessionLive } from "./session_store.ts";
 * const session = {
 *   sid: "s", userId: "ada", userUid: "u1", epoch: 0, role: "user", createdAt: 0,
 *   refreshedAt: 0, expiresAt: 10, maxExpiresAt: 20, currentHash: "h",
 * };
 * assert(isSessionLive(session, 5));
 * assert(!isSessionLive(session, 10) && !isSessionLive({ ...session, revokedAt: 1 }, 5));
 * ```
 */
export function isSessionLive(
  session: Pick<SessionRecord, "revokedAt" | "expiresAt" | "maxExpiresAt"> | undefined,
  now: number,
): boolean {
  return session !== undefined && session.revokedAt === undefined && session.expiresAt > now &&
    session.maxExpiresAt > now;
}

/**
 * The one definition of a usable session: live, and its user is the same user (same internal
 * id), enabled, still holds the session's role, and has not moved to a newer session epoch
 * (except for the one session a self-service password change kept).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSessionUsable } from "./session_store.ts";
 * const session = {
 *   sid: "s", userId: "ada", userUid: "u1", epoch: 0, role: "user", createdAt: 0,
 *   refreshedAt: 0, expiresAt: 10, maxExpiresAt: 20, currentHash: "h",
 * };
 * const user = {
 *   id: "ada", uid: "u1", sessionEpoch: 0, passwordHash: "x", roles: ["user"],
 *   disabled: false, createdAt: 0, updatedAt: 0,
 * };
 * assert(isSessionUsable(session, user, 5));
 * assert(!isSessionUsable(session, { ...user, sessionEpoch: 1 }, 5));
 * assert(!isSessionUsable(session, { ...user, uid: "u2" }, 5));
 * ```
 */
export function isSessionUsable(
  session: SessionRecord | undefined,
  user: UserRecord | undefined,
  now: number,
): boolean {
  if (!session || !user || !isSessionLive(session, now)) return false;
  return user.id === session.userId && userUid(user) === session.userUid && !user.disabled &&
    user.roles.includes(session.role) && epochMatches(session, user);
}

/** The session carries the user's epoch, or is the one a password change kept. */
export function epochMatches(session: SessionRecord, user: UserRecord): boolean {
  return session.epoch === sessionEpoch(user) || isKept(session, keptSession(user));
}

/**
 * The session is the one kept across the latest epoch bump, at an epoch it may still carry
 * (the one it was first kept at, or a later one it rebound to by refreshing).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isKept } from "./session_store.ts";
 * const kept = { sid: "s", epoch: 2 };
 * assert(isKept({ sid: "s", epoch: 2 }, kept) && isKept({ sid: "s", epoch: 3 }, kept));
 * assert(!isKept({ sid: "s", epoch: 1 }, kept) && !isKept({ sid: "t", epoch: 2 }, kept));
 * assert(!isKept({ sid: "s", epoch: 2 }, undefined));
 * ```
 */
export function isKept(
  session: { readonly sid: string; readonly epoch: number },
  kept: KeptSession | undefined,
): boolean {
  return kept !== undefined && kept.sid === session.sid && session.epoch >= kept.epoch;
}
