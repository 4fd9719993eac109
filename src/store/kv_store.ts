/**
 * Every Deno KV key the server uses, and the only code that touches them.
 *
 * Layout (all values are plain JSON-like objects):
 * - `["users", userId]` -> {@link UserRecord}
 * - `["sessions", sid]` -> {@link SessionRecord}, rewritten with each newest refresh token and
 *   expiring with it
 * - `["user_sessions", userId, sid]` -> `true`, the index global logout walks
 * - `["refresh_tokens", sha256(token)]` -> {@link RefreshRecord}, expires with the token
 * - `["limits", bucket, subject, window]` -> attempt count, expires with its window
 * - `["oauth_clients", clientId]` -> {@link ClientRecord}
 *
 * The store receives its `Deno.Kv`, so tests pass `Deno.openKv(":memory:")`. Writes that must
 * not race are atomic commits guarded by versionstamps, so several processes sharing one KV file
 * or one KV Connect store behave as one server.
 *
 * @module
 */

/** A user as stored. Timestamps are epoch milliseconds. */
export interface UserRecord {
  readonly id: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

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

/** An OAuth client (service account) as stored; its secret only as a SHA-256 hash. */
export interface ClientRecord {
  readonly clientId: string;
  /** SHA-256 of the secret, base64url. */
  readonly secretHash: string;
  /** The scopes it may ask for (client_credentials). */
  readonly scopes: readonly string[];
  /** The grant types it may use. */
  readonly grantTypes: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A value with the versionstamp it was read at. */
export interface Versioned<T> {
  readonly value: T;
  readonly versionstamp: string;
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

/** A refresh record to write, guarded by the versionstamp it was read at. */
export interface GuardedRecord {
  readonly hash: string;
  readonly versionstamp: string;
  /** The record's new value. */
  readonly record: RefreshRecord;
}

/** One change to a fixed-window counter (see {@link KvStore.hitMany}). */
export interface CounterUpdate {
  readonly bucket: string;
  readonly subject: string;
  readonly windowStart: number;
  readonly windowMs: number;
  /** Default 1; negative to give attempts back. */
  readonly delta?: number;
}

/** The rotation of one refresh token, committed atomically by {@link KvStore.commitRotation}. */
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

const MAX_ATOMIC_MUTATIONS = 500;
/** Lost optimistic-commit races in a row before giving up (counters, revocations). */
const MAX_COUNTER_ATTEMPTS = 32;

/** Too many lost commit races in a row on one key: the caller decides how to fail safe. */
export class ContendedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContendedError";
  }
}

/** Typed access to the server's Deno KV data. */
export class KvStore {
  readonly #kv: Deno.Kv;
  /** The last queued counter update of this process (see `hitMany`). */
  #counterQueue: Promise<unknown> = Promise.resolve();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  // ---- users ----

  async getUser(id: string): Promise<Versioned<UserRecord> | undefined> {
    return versioned(await this.#kv.get<UserRecord>(["users", id]));
  }

  /** Creates a user; false when the id is taken (checked atomically). */
  async createUser(user: UserRecord): Promise<boolean> {
    const key = ["users", user.id];
    const result = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, user)
      .commit();
    return result.ok;
  }

  /**
   * Replaces a user read at `versionstamp`; returns the new versionstamp, or `undefined` when it,
   * or any `guards` entry (other users the change relies on, such as the admin that remains),
   * changed meanwhile.
   */
  async updateUser(
    user: UserRecord,
    versionstamp: string,
    guards: Guard[] = [],
  ): Promise<string | undefined> {
    const key = ["users", user.id];
    const op = this.#kv.atomic().check({ key, versionstamp });
    for (const guard of guards) {
      op.check({ key: ["users", guard.id], versionstamp: guard.versionstamp });
    }
    const result = await op.set(key, user).commit();
    return result.ok ? result.versionstamp : undefined;
  }

  /** Deletes a user read at `versionstamp`; false when it or a guard changed meanwhile. */
  async deleteUser(id: string, versionstamp: string, guards: Guard[] = []): Promise<boolean> {
    const key = ["users", id];
    const op = this.#kv.atomic().check({ key, versionstamp });
    for (const guard of guards) {
      op.check({ key: ["users", guard.id], versionstamp: guard.versionstamp });
    }
    return (await op.delete(key).commit()).ok;
  }

  /** Every user with the versionstamp it was read at, a page at a time. */
  async *allUsers(): AsyncGenerator<Versioned<UserRecord>> {
    for await (const entry of this.#kv.list<UserRecord>({ prefix: ["users"] })) {
      yield { value: entry.value, versionstamp: entry.versionstamp };
    }
  }

  async listUsers(options: { limit: number; cursor?: string | undefined }): Promise<UserPage> {
    const iterator = this.#kv.list<UserRecord>({ prefix: ["users"] }, {
      limit: options.limit,
      ...(options.cursor ? { cursor: options.cursor } : {}),
    });
    const users: UserRecord[] = [];
    for await (const entry of iterator) users.push(entry.value);
    return {
      users,
      cursor: users.length === options.limit && iterator.cursor ? iterator.cursor : undefined,
    };
  }

  async hasUsers(): Promise<boolean> {
    for await (const _ of this.#kv.list({ prefix: ["users"] }, { limit: 1 })) return true;
    return false;
  }

  // ---- sessions and refresh tokens ----

  /** Stores a new session and its first refresh token in one commit. */
  /**
   * Stores a new session and its first refresh token in one commit. With `token.userVersionstamp`
   * the commit also checks the user is as it was when the credentials were checked: false when
   * the user changed meanwhile (a password change or removal must not miss this session).
   */
  async createSession(
    session: SessionRecord,
    tokenHash: string,
    token: RefreshRecord,
  ): Promise<boolean> {
    const until = (at: number) => ({ expireIn: Math.max(1, at - session.createdAt) });
    const op = this.#kv.atomic().check({ key: ["sessions", session.sid], versionstamp: null });
    if (token.userVersionstamp !== undefined) {
      op.check({ key: ["users", session.userId], versionstamp: token.userVersionstamp });
    }
    const result = await op
      .set(["sessions", session.sid], session, until(session.expiresAt))
      .set(["user_sessions", session.userId, session.sid], true, until(token.indexExpiresAt))
      .set(["refresh_tokens", tokenHash], token, until(token.expiresAt))
      .commit();
    return result.ok;
  }

  async getSession(sid: string): Promise<Versioned<SessionRecord> | undefined> {
    return versioned(await this.#kv.get<SessionRecord>(["sessions", sid]));
  }

  /** A refresh token's record, by the hash of the token. */
  async getRefresh(tokenHash: string): Promise<Versioned<RefreshRecord> | undefined> {
    return versioned(await this.#kv.get<RefreshRecord>(["refresh_tokens", tokenHash]));
  }

  /** A session and its user with their versionstamps, read in one snapshot. */
  async getSessionAndUser(sid: string, userId: string): Promise<{
    session: Versioned<SessionRecord> | undefined;
    user: Versioned<UserRecord> | undefined;
  }> {
    const [session, user] = await this.#kv.getMany<[SessionRecord, UserRecord]>([
      ["sessions", sid],
      ["users", userId],
    ]);
    return { session: versioned(session), user: versioned(user) };
  }

  /**
   * Spends a refresh token and stores its child in one atomic commit, which checks that the
   * presented token, the session and the user are exactly as they were read (or recorded): of
   * concurrent rotations of one token exactly one commits, and none commits past a revocation.
   */
  async commitRotation(rotation: Rotation): Promise<boolean> {
    const { spent, child, superseded, session, now } = rotation;
    const until = (at: number) => ({ expireIn: Math.max(1, at - now) });
    const op = this.#kv.atomic()
      .check({ key: ["refresh_tokens", spent.hash], versionstamp: spent.versionstamp })
      .check({ key: ["sessions", rotation.sid], versionstamp: rotation.sessionVersionstamp })
      .check({ key: ["users", rotation.userId], versionstamp: rotation.userVersionstamp })
      .set(["refresh_tokens", spent.hash], spent.record, until(spent.record.expiresAt))
      .set(["refresh_tokens", child.hash], child.record, until(child.record.expiresAt))
      .set(["sessions", rotation.sid], session, until(session.expiresAt));
    if (superseded) {
      op.check({ key: ["refresh_tokens", superseded.hash], versionstamp: superseded.versionstamp })
        .set(
          ["refresh_tokens", superseded.hash],
          superseded.record,
          until(superseded.record.expiresAt),
        );
    }
    if (rotation.indexUntil !== undefined) {
      op.set(["user_sessions", rotation.userId, rotation.sid], true, until(rotation.indexUntil));
    }
    return (await op.commit()).ok;
  }

  /**
   * Marks a session revoked (idempotent); its refresh tokens stop working at once. Returns the
   * session as it was found, or `undefined` when there is none.
   */
  async revokeSession(sid: string, now: number): Promise<SessionRecord | undefined> {
    for (let attempt = 0; attempt < MAX_COUNTER_ATTEMPTS; attempt++) {
      const entry = await this.getSession(sid);
      if (!entry || entry.value.revokedAt !== undefined) return entry?.value;
      const expireIn = Math.max(1, entry.value.expiresAt - now);
      const result = await this.#kv.atomic()
        .check({ key: ["sessions", sid], versionstamp: entry.versionstamp })
        .set(["sessions", sid], { ...entry.value, revokedAt: now }, { expireIn })
        .commit();
      if (result.ok) return entry.value;
    }
    throw new ContendedError("Session revocation too contended");
  }

  /** The ids of a user's sessions (live or revoked but not yet expired). */
  async listSessionIds(userId: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const entry of this.#kv.list({ prefix: ["user_sessions", userId] })) {
      const sid = entry.key[2];
      if (typeof sid === "string") ids.push(sid);
    }
    return ids;
  }

  /** Removes the session index of a deleted user (the sessions themselves stay revoked). */
  async deleteSessionIndex(userId: string): Promise<void> {
    const keys: Deno.KvKey[] = [];
    for await (const entry of this.#kv.list({ prefix: ["user_sessions", userId] })) {
      keys.push(entry.key);
    }
    for (let i = 0; i < keys.length; i += MAX_ATOMIC_MUTATIONS) {
      const batch = this.#kv.atomic();
      for (const key of keys.slice(i, i + MAX_ATOMIC_MUTATIONS)) batch.delete(key);
      await batch.commit();
    }
  }

  // ---- rate limits ----

  /**
   * Adds `delta` (default one; negative to give an attempt back) to a fixed-window counter and
   * returns the new count; the entry expires with its window.
   */
  async hit(
    bucket: string,
    subject: string,
    windowStart: number,
    windowMs: number,
    now: number,
    delta = 1,
  ): Promise<number> {
    const [count] = await this.hitMany([{ bucket, subject, windowStart, windowMs, delta }], now);
    return count!;
  }

  /**
   * Adds to several fixed-window counters in one atomic commit and returns their new counts.
   * Exact: an optimistic commit, retried on a concurrent write. Within this process all counter
   * updates queue behind each other (a burst of logins to one account would otherwise mostly
   * lose commit races); only other instances can make a commit fail. Throws
   * {@link ContendedError} after 32 lost races in a row.
   */
  hitMany(counters: readonly CounterUpdate[], now: number): Promise<number[]> {
    const keys = counters.map((c) => ["limits", c.bucket, c.subject, c.windowStart]);
    const update = this.#counterQueue.catch(() => {}).then(async () => {
      for (let attempt = 0; attempt < MAX_COUNTER_ATTEMPTS; attempt++) {
        const entries = await this.#kv.getMany<number[]>(keys);
        const op = this.#kv.atomic();
        const counts = counters.map((counter, i) => {
          const entry = entries[i]!;
          const count = Math.max(0, (entry.value ?? 0) + (counter.delta ?? 1));
          const expireIn = Math.max(1, counter.windowStart + counter.windowMs - now);
          op.check({ key: entry.key, versionstamp: entry.versionstamp })
            .set(entry.key, count, { expireIn });
          return count;
        });
        if ((await op.commit()).ok) return counts;
      }
      throw new ContendedError("Rate-limit counter too contended");
    });
    this.#counterQueue = update;
    return update;
  }

  /** The current count of a fixed-window counter, without adding to it. */
  async count(bucket: string, subject: string, windowStart: number): Promise<number> {
    return (await this.#kv.get<number>(["limits", bucket, subject, windowStart])).value ?? 0;
  }

  // ---- OAuth clients ----

  async getClient(clientId: string): Promise<Versioned<ClientRecord> | undefined> {
    return versioned(await this.#kv.get<ClientRecord>(["oauth_clients", clientId]));
  }

  /** Creates a client; false when the id is taken (checked atomically). */
  async createClient(client: ClientRecord): Promise<boolean> {
    const key = ["oauth_clients", client.clientId];
    const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, client);
    return (await op.commit()).ok;
  }

  /** Replaces a client read at `versionstamp`; false when it changed meanwhile. */
  async updateClient(client: ClientRecord, versionstamp: string): Promise<boolean> {
    const key = ["oauth_clients", client.clientId];
    return (await this.#kv.atomic().check({ key, versionstamp }).set(key, client).commit()).ok;
  }

  /** Deletes a client; false when there was none (or a concurrent remove got it first). */
  async deleteClient(clientId: string): Promise<boolean> {
    const key = ["oauth_clients", clientId];
    const entry = await this.#kv.get(key);
    if (entry.versionstamp === null) return false;
    const op = this.#kv.atomic().check({ key, versionstamp: entry.versionstamp }).delete(key);
    return (await op.commit()).ok;
  }

  /** Every client (service accounts are few: no paging). */
  async listClients(): Promise<ClientRecord[]> {
    const clients: ClientRecord[] = [];
    for await (const entry of this.#kv.list<ClientRecord>({ prefix: ["oauth_clients"] })) {
      clients.push(entry.value);
    }
    return clients;
  }

  // ---- health ----

  /** Throws when the store cannot be read. */
  async ping(): Promise<void> {
    await this.#kv.get(["health"]);
  }
}

function versioned<T>(entry: Deno.KvEntryMaybe<T>): Versioned<T> | undefined {
  return entry.versionstamp === null
    ? undefined
    : { value: entry.value, versionstamp: entry.versionstamp };
}
