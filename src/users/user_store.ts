/**
 * What the user service needs from storage, and the user record it stores. Implemented over
 * Deno KV by `store/kv_users.ts`; tests use it over `:memory:` or a failing fake.
 *
 * @module
 */
import type { Versioned } from "../versioned.ts";

/** A user as stored. Timestamps are epoch milliseconds. */
export interface UserRecord {
  readonly id: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * Internal identifier, random and never reused: sessions bind to it, so a user removed and
   * created again under the same `id` revives none of the old sessions. Absent on records
   * written before it existed (see {@link userUid}).
   */
  readonly uid?: string;
  /**
   * Session epoch: a session is usable only while it carries the user's current epoch. A
   * password change, disable or role loss bumps it in the same commit as the change itself,
   * which ends every session at once (O(1), never half done).
   */
  readonly sessionEpoch?: number;
  /** The one session a self-service password change kept across the latest epoch bump. */
  readonly keptSession?: string;
  /**
   * The oldest epoch the kept session may still carry: the one it had when it was first kept,
   * carried over every later change it makes itself (it need not refresh in between). Absent
   * on records written before it existed: one epoch behind.
   */
  readonly keptSessionEpoch?: number;
}

/** The session a self-service password change kept, and the oldest epoch it may carry. */
export interface KeptSession {
  readonly sid: string;
  readonly epoch: number;
}

/** A user's internal identifier ({@link UserRecord.uid}; `id:` + id for older records). */
export function userUid(user: UserRecord): string {
  return user.uid ?? `id:${user.id}`;
}

/** A user's session epoch (0 for records written before epochs existed). */
export function sessionEpoch(user: UserRecord): number {
  return user.sessionEpoch ?? 0;
}

/**
 * The session a self-service password change kept across the user's latest epoch bump, if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keptSession } from "./user_store.ts";
 * const user = {
 *   id: "ada", passwordHash: "x", roles: ["user"], disabled: false, createdAt: 0, updatedAt: 0,
 *   sessionEpoch: 3,
 * };
 * assert.equal(keptSession(user), undefined);
 * assert.deepEqual(keptSession({ ...user, keptSession: "s" }), { sid: "s", epoch: 2 });
 * assert.deepEqual(keptSession({ ...user, keptSession: "s", keptSessionEpoch: 1 }), {
 *   sid: "s",
 *   epoch: 1,
 * });
 * ```
 */
export function keptSession(user: UserRecord): KeptSession | undefined {
  if (user.keptSession === undefined) return undefined;
  return { sid: user.keptSession, epoch: user.keptSessionEpoch ?? sessionEpoch(user) - 1 };
}

/** Another user's record that a change relies on, at the versionstamp it was read at. */
export interface Guard {
  readonly id: string;
  readonly versionstamp: string;
}

/** A page of users and the cursor for the next one (`undefined` at the end). */
export interface UserPage {
  readonly users: UserRecord[];
  readonly cursor: string | undefined;
}

/**
 * Users by id. Every method throws `StoreUnavailableError` when the store fails; the commits
 * return false/`undefined` when a checked versionstamp changed.
 */
export interface UserStore {
  getUser(id: string): Promise<Versioned<UserRecord> | undefined>;
  /** Creates a user; false when the id is taken (checked atomically). */
  createUser(user: UserRecord): Promise<boolean>;
  /**
   * Replaces a user read at `versionstamp`; the new versionstamp, or `undefined` when it, or any
   * `guards` entry (other users the change relies on), changed meanwhile.
   */
  updateUser(user: UserRecord, versionstamp: string, guards?: Guard[]): Promise<string | undefined>;
  /** Deletes a user read at `versionstamp`; false when it or a guard changed meanwhile. */
  deleteUser(id: string, versionstamp: string, guards?: Guard[]): Promise<boolean>;
  /** Every user with the versionstamp it was read at. */
  allUsers(): AsyncIterable<Versioned<UserRecord>>;
  /** A page of users; throws `InvalidCursorError` for a cursor the store did not issue. */
  listUsers(options: { limit: number; cursor?: string | undefined }): Promise<UserPage>;
  hasUsers(): Promise<boolean>;
}
