/**
 * In-memory fakes of the five stores (users, sessions and refresh tokens, counters, OAuth
 * clients, signing keys) with the KV implementations' contract (versionstamps, atomic checks), and
 * a switch that makes them fail or contend on demand: `fail` throws `StoreUnavailableError` from
 * every call, as the KV stores do when Deno KV fails; `contend` makes every guarded commit lose its race, so the loops that
 * retry give up with `ContendedError` and single commits report a changed versionstamp.
 */
import { ContendedError, StoreUnavailableError } from "../../src/errors.ts";
import { cursorAfter, idAfterCursor } from "../../src/store/user_cursor.ts";
import type { KeyStore, StoredKeySet, VersionedKeySet } from "../../src/keys/key_store.ts";
import type { CounterStore, LimitCell } from "../../src/limits/counter_store.ts";
import type {
  ChallengeSuccess,
  MfaChallenge,
  MfaRecord,
  MfaStore,
  StoredFactors,
} from "../../src/mfa/mfa_store.ts";
import type {
  PasskeyChallenge,
  PasskeyRecord,
  PasskeyStore,
} from "../../src/passkeys/passkey_store.ts";
import { gcraGiveBack, gcraTake } from "../../src/limits/gcra.ts";
import type { ClientRecord, ClientStore } from "../../src/oauth/client_store.ts";
import type {
  AuthorizationCodeRecord,
  AuthorizationCodeStore,
} from "../../src/browser/authorization_code_store.ts";
import type {
  BrowserSessionRecord,
  BrowserSessionStore,
} from "../../src/browser/browser_session_store.ts";
import type { Stores } from "../../src/store/stores.ts";
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
} from "../../src/tokens/session_store.ts";
import type { Guard, UserPage, UserRecord, UserStore } from "../../src/users/user_store.ts";
import type { Versioned } from "../../src/versioned.ts";

/** How the fakes behave right now; tests flip `mode`. */
export interface Faults {
  mode: "ok" | "fail" | "contend";
  /**
   * Awaited by `getSessionAndUser` after it has read, before it answers: a test holds a read
   * in flight while something commits.
   */
  readPause?: (() => Promise<void>) | undefined;
  /**
   * Awaited by `getSession` after it has read, before it answers: a test lands a commit
   * between a refresh's first read and its next one.
   */
  getSessionPause?: (() => Promise<void>) | undefined;
}

/** One versioned map shared by the fakes (the session commits check users too). */
class FakeTable {
  #entries = new Map<string, Versioned<unknown>>();
  #version = 0;

  constructor(readonly faults: Faults) {}

  /** Throws when failing; call first in every operation. */
  touch(what: string): void {
    if (this.faults.mode === "fail") throw new StoreUnavailableError(`fake store failed (${what})`);
  }

  /** False when contending: the commit lost its race. */
  wins(): boolean {
    return this.faults.mode !== "contend";
  }

  get<T>(key: string): Versioned<T> | undefined {
    return this.#entries.get(key) as Versioned<T> | undefined;
  }

  stamp(key: string): string | null {
    return this.#entries.get(key)?.versionstamp ?? null;
  }

  /** Applies `writes` when every check holds (and the race is won); the new versionstamp. */
  commit(
    checks: readonly (readonly [string, string | null])[],
    writes: readonly (readonly [string, unknown | undefined])[],
    canContend = true,
  ): string | undefined {
    if ((canContend && !this.wins()) || checks.some(([key, stamp]) => this.stamp(key) !== stamp)) {
      return undefined;
    }
    const versionstamp = String(++this.#version).padStart(20, "0");
    for (const [key, value] of writes) {
      if (value === undefined) this.#entries.delete(key);
      else this.#entries.set(key, { value, versionstamp });
    }
    return versionstamp;
  }

  keys(prefix: string): string[] {
    return [...this.#entries.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

const userKey = (id: string) => `users/${JSON.stringify(id)}`;
const sessionKey = (sid: string) => `sessions/${JSON.stringify(sid)}`;
const indexKey = (userUid: string, sid = "") =>
  `user_sessions/${JSON.stringify(userUid)}/${sid === "" ? "" : JSON.stringify(sid)}`;
const clientKey = (clientId: string) => `oauth_clients/${JSON.stringify(clientId)}`;

class FakeUserStore implements UserStore {
  constructor(private readonly t: FakeTable) {}

  getUser(id: string) {
    this.t.touch("getUser");
    return Promise.resolve(this.t.get<UserRecord>(userKey(id)));
  }
  createUser(user: UserRecord) {
    this.t.touch("createUser");
    // An insert-if-absent cannot lose a race to anything but the same id: no contention here.
    const key = userKey(user.id);
    return Promise.resolve(
      this.t.stamp(key) === null &&
        this.t.commit([[key, null]], [[key, user]], false) !== undefined,
    );
  }
  updateUser(user: UserRecord, versionstamp: string, guards: Guard[] = []) {
    this.t.touch("updateUser");
    const key = userKey(user.id);
    const checks = [
      [key, versionstamp] as const,
      ...guards.map((g) => [userKey(g.id), g.versionstamp] as const),
    ];
    return Promise.resolve(this.t.commit(checks, [[key, user]]));
  }
  deleteUser(id: string, versionstamp: string, guards: Guard[] = []) {
    this.t.touch("deleteUser");
    const key = userKey(id);
    const checks = [
      [key, versionstamp] as const,
      ...guards.map((g) => [userKey(g.id), g.versionstamp] as const),
    ];
    return Promise.resolve(this.t.commit(checks, [[key, undefined]]) !== undefined);
  }
  async *allUsers(): AsyncGenerator<Versioned<UserRecord>> {
    this.t.touch("allUsers");
    for (const key of this.t.keys("users/")) yield this.t.get<UserRecord>(key)!;
  }
  listUsers(options: { limit: number; cursor?: string | undefined }): Promise<UserPage> {
    this.t.touch("listUsers");
    let after: string | undefined;
    try {
      after = options.cursor ? idAfterCursor(options.cursor) : undefined;
    } catch (err) {
      return Promise.reject(err);
    }
    const users = this.t.keys("users/").map((key) => this.t.get<UserRecord>(key)!.value)
      .filter((user) => after === undefined || byteOrder(user.id, after) > 0)
      .sort((a, b) => byteOrder(a.id, b.id))
      .slice(0, options.limit);
    const last = users.at(-1);
    return Promise.resolve({
      users,
      cursor: users.length === options.limit && last ? cursorAfter(last.id) : undefined,
    });
  }
  hasUsers() {
    this.t.touch("hasUsers");
    return Promise.resolve(this.t.keys("users/").length > 0);
  }
}

class FakeSessionStore implements SessionStore {
  constructor(private readonly t: FakeTable) {}

  createSession({ session, userVersionstamp, maxSessions, now }: NewSession) {
    this.t.touch("createSession");
    const checks: [string, string | null][] = [[sessionKey(session.sid), null]];
    if (userVersionstamp !== undefined) checks.push([userKey(session.userId), userVersionstamp]);
    if (checks.some(([key, stamp]) => this.t.stamp(key) !== stamp)) {
      return Promise.resolve<CreateOutcome>(UNCHANGED);
    }
    // Counted, ended and stored in one synchronous step: nothing can come in between.
    const live = this.#indexed(session.userUid).filter((s) => isSessionLive(s, now));
    const ending = maxSessions === undefined ? [] : oldestBeyondCap(live, maxSessions);
    const stored = this.t.commit(checks, [
      ...ending.flatMap((old) =>
        [
          [sessionKey(old.sid), { ...old, revokedAt: now }],
          [indexKey(old.userUid, old.sid), undefined],
        ] as const
      ),
      [sessionKey(session.sid), session],
      [indexKey(session.userUid, session.sid), true],
    ]);
    return Promise.resolve<CreateOutcome>(
      stored === undefined ? UNCHANGED : { outcome: "created", ended: ending },
    );
  }
  #indexed(userUid: string): SessionRecord[] {
    const prefix = indexKey(userUid);
    return this.t.keys(prefix).flatMap((key) => {
      const found = this.t.get<SessionRecord>(sessionKey(JSON.parse(key.slice(prefix.length))));
      return found ? [found.value] : [];
    });
  }
  async getSession(sid: string) {
    this.t.touch("getSession");
    const read = this.t.get<SessionRecord>(sessionKey(sid));
    await this.t.faults.getSessionPause?.();
    return read;
  }
  async getSessionAndUser(sid: string, userId: string): Promise<SessionAndUser> {
    this.t.touch("getSessionAndUser");
    const read = {
      session: this.t.get<SessionRecord>(sessionKey(sid)),
      user: this.t.get<UserRecord>(userKey(userId)),
    };
    await this.t.faults.readPause?.();
    return read;
  }
  commitRotation(r: Rotation) {
    this.t.touch("commitRotation");
    const checks: [string, string | null][] = [
      [sessionKey(r.session.sid), r.sessionVersionstamp],
      [userKey(r.session.userId), r.userVersionstamp],
    ];
    return Promise.resolve(this.t.commit(checks, [[sessionKey(r.session.sid), r.session]]));
  }
  revokeSession(sid: string, now: number) {
    this.t.touch("revokeSession");
    for (let attempt = 0; attempt < 32; attempt++) {
      const entry = this.t.get<SessionRecord>(sessionKey(sid));
      if (!entry || entry.value.revokedAt !== undefined) return Promise.resolve(entry?.value);
      const revoked = { ...entry.value, revokedAt: now };
      const writes = [
        [sessionKey(sid), revoked],
        [indexKey(entry.value.userUid, sid), undefined],
      ] as const;
      if (this.t.commit([[sessionKey(sid), entry.versionstamp]], writes)) {
        return Promise.resolve(entry.value);
      }
    }
    return Promise.reject(new ContendedError("fake: session revocation too contended"));
  }
  listUserSessions(userUid: string) {
    this.t.touch("listUserSessions");
    return Promise.resolve(this.#indexed(userUid));
  }
  deleteUserSessions(userUid: string) {
    this.t.touch("deleteUserSessions");
    this.t.commit([], this.t.keys(indexKey(userUid)).map((key) => [key, undefined] as const));
    return Promise.resolve();
  }
}

class FakeCounterStore implements CounterStore {
  constructor(private readonly t: FakeTable) {}

  take(cells: readonly LimitCell[], now: number) {
    this.t.touch("take");
    const keys = cells.map((c) => `limits/${c.bucket}/${c.subject}`);
    for (let attempt = 0; attempt < 32; attempt++) {
      const steps = keys.map((key, i) =>
        gcraTake(live(this.t.get<number>(key)?.value, now), cells[i]!, now)
      );
      if (steps.some((s) => !s.allowed)) {
        return Promise.resolve(steps.map((s) => s.allowed ? 0 : s.waitMs));
      }
      const checks = keys.map((key) => [key, this.t.stamp(key)] as const);
      const writes = keys.map((key, i) => [key, (steps[i] as { tat: number }).tat] as const);
      if (this.t.commit(checks, writes)) return Promise.resolve(steps.map(() => 0));
    }
    return Promise.reject(new ContendedError("fake: limit cell too contended"));
  }
  giveBack(cell: LimitCell, now: number) {
    this.t.touch("giveBack");
    const key = `limits/${cell.bucket}/${cell.subject}`;
    for (let attempt = 0; attempt < 32; attempt++) {
      const tat = gcraGiveBack(live(this.t.get<number>(key)?.value, now), cell, now);
      if (this.t.commit([[key, this.t.stamp(key)]], [[key, tat]])) return Promise.resolve();
    }
    return Promise.reject(new ContendedError("fake: limit cell too contended"));
  }
}

/** Compares two ids by their UTF-8 bytes: the order every engine lists users in. */
function byteOrder(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return x.length - y.length;
}

/** A stored timestamp that has run back to the present is as good as absent (KV expiry). */
function live(tat: number | undefined, now: number): number | undefined {
  return tat !== undefined && tat > now ? tat : undefined;
}

class FakeClientStore implements ClientStore {
  constructor(private readonly t: FakeTable) {}

  getClient(clientId: string) {
    this.t.touch("getClient");
    return Promise.resolve(this.t.get<ClientRecord>(clientKey(clientId)));
  }
  createClient(client: ClientRecord) {
    this.t.touch("createClient");
    // Insert-if-absent, as for users: only the same id can make it fail.
    const key = clientKey(client.clientId);
    return Promise.resolve(
      this.t.stamp(key) === null &&
        this.t.commit([[key, null]], [[key, client]], false) !== undefined,
    );
  }
  updateClient(client: ClientRecord, versionstamp: string) {
    this.t.touch("updateClient");
    const key = clientKey(client.clientId);
    return Promise.resolve(this.t.commit([[key, versionstamp]], [[key, client]]) !== undefined);
  }
  deleteClient(clientId: string) {
    this.t.touch("deleteClient");
    const key = clientKey(clientId);
    const stamp = this.t.stamp(key);
    return Promise.resolve(
      stamp !== null && this.t.commit([[key, stamp]], [[key, undefined]]) !== undefined,
    );
  }
  listClients() {
    this.t.touch("listClients");
    return Promise.resolve(
      this.t.keys("oauth_clients/").map((key) => this.t.get<ClientRecord>(key)!.value),
    );
  }
}

const KEY_SET = "signing_keys/set";
const inUseKey = (kid: string) => `signing_keys/in_use/${JSON.stringify(kid)}`;

class FakeKeyStore implements KeyStore {
  constructor(private readonly t: FakeTable) {}

  read(): Promise<VersionedKeySet | undefined> {
    this.t.touch("readKeySet");
    const entry = this.t.get<StoredKeySet>(KEY_SET);
    return Promise.resolve(entry && { set: entry.value, versionstamp: entry.versionstamp });
  }
  version() {
    this.t.touch("keySetVersion");
    return Promise.resolve(this.t.stamp(KEY_SET) ?? undefined);
  }
  write(set: StoredKeySet, expected: string | undefined, removed: readonly string[] = []) {
    this.t.touch("writeKeySet");
    const writes = [
      [KEY_SET, set] as const,
      ...removed.map((kid) => [inUseKey(kid), undefined] as const),
    ];
    return Promise.resolve(this.t.commit([[KEY_SET, expected ?? null]], writes) !== undefined);
  }
  markInUse(kid: string, at: number) {
    this.t.touch("markKeyInUse");
    this.t.commit([], [[inUseKey(kid), at]], false);
    return Promise.resolve();
  }
  inUse() {
    this.t.touch("keysInUse");
    const prefix = "signing_keys/in_use/";
    return Promise.resolve(
      new Map(
        this.t.keys(prefix).map((key) => [
          JSON.parse(key.slice(prefix.length)) as string,
          this.t.get<number>(key)!.value,
        ]),
      ),
    );
  }
}

const mfaKey = (userUid: string) => `mfa/${JSON.stringify(userUid)}`;
const challengeKey = (id: string) => `mfa_challenges/${JSON.stringify(id)}`;

class FakeMfaStore implements MfaStore {
  constructor(private readonly t: FakeTable) {}

  getFactors(userUid: string) {
    this.t.touch("getFactors");
    return Promise.resolve(this.t.get<MfaRecord>(mfaKey(userUid)));
  }
  putFactors(userUid: string, record: MfaRecord, versionstamp: string | null) {
    this.t.touch("putFactors");
    const key = mfaKey(userUid);
    return Promise.resolve(this.t.commit([[key, versionstamp]], [[key, record]]) !== undefined);
  }
  deleteFactors(userUid: string) {
    this.t.touch("deleteFactors");
    const key = mfaKey(userUid);
    const found = this.t.stamp(key) !== null;
    this.t.commit([], [[key, undefined]], false);
    return Promise.resolve(found);
  }
  async *allFactors(): AsyncGenerator<StoredFactors> {
    this.t.touch("allFactors");
    for (const key of this.t.keys("mfa/")) {
      const userUid = JSON.parse(key.slice("mfa/".length)) as string;
      yield { userUid, record: this.t.get<MfaRecord>(key)!.value };
    }
  }
  createChallenge(id: string, challenge: MfaChallenge) {
    this.t.touch("createChallenge");
    this.t.commit([], [[challengeKey(id), challenge]], false);
    return Promise.resolve();
  }
  getChallenge(id: string) {
    this.t.touch("getChallenge");
    return Promise.resolve(this.t.get<MfaChallenge>(challengeKey(id)));
  }
  failChallenge(id: string, challenge: MfaChallenge | undefined, versionstamp: string) {
    this.t.touch("failChallenge");
    const key = challengeKey(id);
    return Promise.resolve(this.t.commit([[key, versionstamp]], [[key, challenge]]) !== undefined);
  }
  completeChallenge(s: ChallengeSuccess) {
    this.t.touch("completeChallenge");
    const checks = [
      [challengeKey(s.challengeId), s.challengeVersionstamp] as const,
      [mfaKey(s.userUid), s.factorsVersionstamp] as const,
    ];
    const writes = [
      [challengeKey(s.challengeId), undefined] as const,
      [mfaKey(s.userUid), s.factors] as const,
    ];
    return Promise.resolve(this.t.commit(checks, writes) !== undefined);
  }
}

const passkeyKey = (id: string) => `passkeys/${JSON.stringify(id)}`;
const passkeyIndexKey = (uid: string, id = "") =>
  `user_passkeys/${JSON.stringify(uid)}/${id === "" ? "" : JSON.stringify(id)}`;
const passkeyChallengeKey = (id: string) => `passkey_challenges/${JSON.stringify(id)}`;

class FakePasskeyStore implements PasskeyStore {
  constructor(private readonly t: FakeTable) {}

  getPasskey(id: string) {
    this.t.touch("getPasskey");
    return Promise.resolve(this.t.get<PasskeyRecord>(passkeyKey(id)));
  }
  listPasskeys(userUid: string) {
    this.t.touch("listPasskeys");
    const prefix = passkeyIndexKey(userUid);
    return Promise.resolve(
      this.t.keys(prefix).flatMap((key) => {
        const found = this.t.get<PasskeyRecord>(passkeyKey(JSON.parse(key.slice(prefix.length))));
        return found && found.value.userUid === userUid ? [found.value] : [];
      }),
    );
  }
  async *allPasskeys(): AsyncGenerator<PasskeyRecord> {
    this.t.touch("allPasskeys");
    for (const key of this.t.keys("passkeys/")) yield this.t.get<PasskeyRecord>(key)!.value;
  }
  createPasskey(record: PasskeyRecord) {
    this.t.touch("createPasskey");
    const key = passkeyKey(record.id);
    return Promise.resolve(
      this.t.commit([[key, null]], [[key, record], [
        passkeyIndexKey(record.userUid, record.id),
        true,
      ]], false) !==
        undefined,
    );
  }
  updatePasskey(record: PasskeyRecord, versionstamp: string) {
    this.t.touch("updatePasskey");
    const key = passkeyKey(record.id);
    return Promise.resolve(this.t.commit([[key, versionstamp]], [[key, record]]) !== undefined);
  }
  deletePasskey(userUid: string, id: string) {
    this.t.touch("deletePasskey");
    const entry = this.t.get<PasskeyRecord>(passkeyKey(id));
    if (!entry || entry.value.userUid !== userUid) return Promise.resolve(false);
    const writes = [[passkeyKey(id), undefined], [
      passkeyIndexKey(userUid, id),
      undefined,
    ]] as const;
    return Promise.resolve(
      this.t.commit([[passkeyKey(id), entry.versionstamp]], writes) !== undefined,
    );
  }
  putChallenge(id: string, challenge: PasskeyChallenge) {
    this.t.touch("putPasskeyChallenge");
    this.t.commit([], [[passkeyChallengeKey(id), challenge]], false);
    return Promise.resolve();
  }
  takeChallenge(id: string) {
    this.t.touch("takePasskeyChallenge");
    const key = passkeyChallengeKey(id);
    const entry = this.t.get<PasskeyChallenge>(key);
    if (!entry) return Promise.resolve(undefined);
    const taken = this.t.commit([[key, entry.versionstamp]], [[key, undefined]]) !== undefined;
    return Promise.resolve(taken ? entry.value : undefined);
  }
}

const codeKey = (hash: string) => `authorization_codes/${JSON.stringify(hash)}`;
const browserKey = (key: string) => `browser_sessions/${JSON.stringify(key)}`;

class FakeAuthorizationCodeStore implements AuthorizationCodeStore {
  constructor(private readonly t: FakeTable) {}

  createCode(code: AuthorizationCodeRecord) {
    this.t.touch("createCode");
    const key = codeKey(code.hash);
    if (this.t.commit([[key, null]], [[key, code]], false) === undefined) {
      return Promise.reject(new Error("authorization code collision"));
    }
    return Promise.resolve();
  }
  getCode(hash: string) {
    this.t.touch("getCode");
    return Promise.resolve(this.t.get<AuthorizationCodeRecord>(codeKey(hash)));
  }
  updateCode(code: AuthorizationCodeRecord, versionstamp: string) {
    this.t.touch("updateCode");
    const key = codeKey(code.hash);
    return Promise.resolve(this.t.commit([[key, versionstamp]], [[key, code]]) !== undefined);
  }
}

class FakeBrowserSessionStore implements BrowserSessionStore {
  constructor(private readonly t: FakeTable) {}

  createBrowserSession(session: BrowserSessionRecord) {
    this.t.touch("createBrowserSession");
    this.t.commit([], [[browserKey(session.key), session]], false);
    return Promise.resolve();
  }
  getBrowserSession(key: string) {
    this.t.touch("getBrowserSession");
    return Promise.resolve(this.t.get<BrowserSessionRecord>(browserKey(key)));
  }
  replaceBrowserSession(session: BrowserSessionRecord, versionstamp: string) {
    this.t.touch("replaceBrowserSession");
    const key = browserKey(session.key);
    return Promise.resolve(this.t.commit([[key, versionstamp]], [[key, session]]) !== undefined);
  }
  deleteBrowserSession(key: string) {
    this.t.touch("deleteBrowserSession");
    this.t.commit([], [[browserKey(key), undefined]], false);
    return Promise.resolve();
  }
}

/** The fakes over one table, switched by `faults`. */
export function fakeStores(faults: Faults): Stores & { keyCount(prefix?: string): number } {
  const table = new FakeTable(faults);
  return {
    /** How many keys the fakes hold (under `prefix`): storage bounds are asserted on it. */
    keyCount: (prefix = "") => table.keys(prefix).length,
    users: new FakeUserStore(table),
    sessions: new FakeSessionStore(table),
    counters: new FakeCounterStore(table),
    clients: new FakeClientStore(table),
    keys: new FakeKeyStore(table),
    mfa: new FakeMfaStore(table),
    passkeys: new FakePasskeyStore(table),
    authorizationCodes: new FakeAuthorizationCodeStore(table),
    browserSessions: new FakeBrowserSessionStore(table),
    ping: () => {
      table.touch("ping");
      return Promise.resolve();
    },
    recordIssuer: (issuer) => {
      table.touch("served_issuer");
      const before = table.get<string>("served_issuer")?.value;
      table.commit([], [["served_issuer", issuer]], false);
      return Promise.resolve(before);
    },
  };
}
