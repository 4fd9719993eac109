/**
 * What the session service and the session gate need from storage, and the records they store.
 * Implemented over Deno KV by `store/kv_sessions.ts` (key layout: `store/kv_layout.ts`).
 *
 * @module
 */
import type { UserRecord } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";

/**
 * A login session: every access token it issues carries its `sid`. Written in the same commit
 * as each of its refresh tokens, so the newest token's own versionstamp is the session's, until
 * a revocation changes it: a rotation's commit checks exactly that.
 */
export interface SessionRecord {
  readonly sid: string;
  readonly userId: string;
  readonly role: string;
  readonly createdAt: number;
  /** When its newest refresh token expires; the KV entry expires then too. */
  readonly expiresAt: number;
  readonly revokedAt?: number;
}

/**
 * One refresh token, by the SHA-256 of its text; the text itself is never stored. It carries
 * what a rotation needs without reading the session and the user: the session's fixed fields and
 * the user's versionstamp at issue (the commit checks it and the session's, so a revocation or a
 * change to the user sends the rotation down the slow path, which reads them).
 */
export interface RefreshRecord {
  readonly sid: string;
  readonly userId: string;
  readonly role: string;
  readonly sessionCreatedAt: number;
  /** When the session's entry in the `user_sessions` index expires. */
  readonly indexExpiresAt: number;
  /** The user's versionstamp at issue; absent when unknown (the first rotation reads it). */
  readonly userVersionstamp?: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly parentHash?: string;
  /** Set when it was rotated. */
  readonly spentAt?: number;
  /** The hash of the token that replaced it. */
  readonly childHash?: string;
  /** Set once it was presented again inside the grace window and forgiven. */
  readonly graceUsedAt?: number;
  /** Set when a grace replay of its parent replaced it before it was used. */
  readonly supersededAt?: number;
}

/** A refresh record to write, guarded by the versionstamp it was read at. */
export interface GuardedRecord {
  readonly hash: string;
  readonly versionstamp: string;
  /** The record's new value. */
  readonly record: RefreshRecord;
}

/** The rotation of one refresh token, committed atomically by {@link SessionStore.commitRotation}. */
export interface Rotation {
  readonly sid: string;
  readonly userId: string;
  /** The presented token, now spent (or its grace used). */
  readonly spent: GuardedRecord;
  /** The child issued before, superseded by a grace replay. */
  readonly superseded?: GuardedRecord;
  readonly child: { readonly hash: string; readonly record: RefreshRecord };
  /** Versionstamps the session and the user must still have (else nothing is written). */
  readonly sessionVersionstamp: string;
  readonly userVersionstamp: string;
  /** The session, rewritten with the child (same commit, same versionstamp). */
  readonly session: SessionRecord;
  /** Renew the `user_sessions` index entry until this time (when the child would outlive it). */
  readonly indexUntil?: number;
  readonly now: number;
}

/** A session and its user with their versionstamps, read in one snapshot. */
export interface SessionAndUser {
  readonly session: Versioned<SessionRecord> | undefined;
  readonly user: Versioned<UserRecord> | undefined;
}

/**
 * Sessions, their refresh tokens and the per-user session index. Every method throws
 * `StoreUnavailableError` when the store fails.
 */
export interface SessionStore {
  /**
   * Stores a new session and its first refresh token in one commit. With
   * `token.userVersionstamp` the commit also checks the user is as it was when the credentials
   * were checked: false when the user changed meanwhile.
   */
  createSession(session: SessionRecord, tokenHash: string, token: RefreshRecord): Promise<boolean>;
  getSession(sid: string): Promise<Versioned<SessionRecord> | undefined>;
  /** A refresh token's record, by the hash of the token. */
  getRefresh(tokenHash: string): Promise<Versioned<RefreshRecord> | undefined>;
  getSessionAndUser(sid: string, userId: string): Promise<SessionAndUser>;
  /**
   * Spends a refresh token and stores its child in one atomic commit, which checks that the
   * presented token, the session and the user are exactly as they were read (or recorded).
   */
  commitRotation(rotation: Rotation): Promise<boolean>;
  /**
   * Marks a session revoked (idempotent). Returns the session as it was found, or `undefined`
   * when there is none; throws `ContendedError` when it keeps losing commit races.
   */
  revokeSession(sid: string, now: number): Promise<SessionRecord | undefined>;
  /** The ids of a user's sessions (live or revoked but not yet expired). */
  listSessionIds(userId: string): Promise<string[]>;
  /** Removes the session index of a deleted user (the sessions themselves stay revoked). */
  deleteSessionIndex(userId: string): Promise<void>;
}

/**
 * The one definition of a usable session: it exists, is not revoked and has not expired.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSessionLive } from "./session_store.ts";
 * const session = { sid: "s", userId: "ada", role: "user", createdAt: 0, expiresAt: 10 };
 * assert(isSessionLive(session, 5));
 * assert(!isSessionLive(session, 10) && !isSessionLive({ ...session, revokedAt: 1 }, 5));
 * ```
 */
export function isSessionLive(session: SessionRecord | undefined, now: number): boolean {
  return session !== undefined && session.revokedAt === undefined && session.expiresAt > now;
}
