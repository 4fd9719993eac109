/**
 * The auth server's own check that an access token's session is still alive and its user still
 * holds the token's role: one KV read per session per `maxAgeMs` (1 s by default) instead of one
 * per request.
 *
 * Bound on staleness: a revocation made on THIS instance (logout, reuse, disable, password
 * change) takes effect here at once, even for a read that was already in flight when it
 * committed: the gate remembers what it has seen revoked (the sid, or the user's uid and
 * session epoch, which only grow) and judges every read against that, so the order in which a
 * read and a revocation arrive decides nothing. One made on ANOTHER instance sharing the store
 * is seen here within `maxAgeMs`. Other services see revocations only at `exp` (`TOKEN_TTL`), unless
 * they use `requireAuth`'s introspection mode (`/oauth/introspect` answers through this gate).
 *
 * @module
 */
import type { EventSubscriber } from "../events.ts";
import type { AccessClaims } from "./access_token.ts";
import type { KeptSession } from "../users/user_store.ts";
import type { ClientStore } from "../oauth/client_store.ts";
import {
  clientMatches,
  isKept,
  isSessionUsable,
  type SessionRecord,
  type SessionStore,
} from "./session_store.ts";

/** The one read the gate needs. */
export type SessionReader = Pick<SessionStore, "getSessionAndUser">;

/** The read of a session's OAuth client (only for sessions issued to one). */
export type ClientReader = Pick<ClientStore, "getClient">;

/** A user's internal id and the session epoch its sessions must reach (`Infinity`: removed). */
interface Floor {
  readonly uid: string;
  readonly epoch: number;
  /** The one session kept behind (self-service password change), and its oldest epoch. */
  readonly kept?: KeptSession | undefined;
}

interface Checked {
  readonly userId: string;
  /** The OAuth client the session was issued to, if any. */
  readonly clientId: string | undefined;
  readonly live: boolean;
  readonly roles: readonly string[];
  /** The internal id (`userUid`) of the user the session is bound to. */
  readonly userUid: string | undefined;
  readonly checkedAt: number;
}

/** Options of {@link createSessionGate}. */
export interface SessionGateOptions {
  readonly store: SessionReader;
  /**
   * Where a session's OAuth client is read: a session issued to a client is live only while
   * that client exists in the same generation (`clientMatches`). Required whenever sessions
   * may carry a client; without it such a session is never live.
   */
  readonly clients?: ClientReader;
  readonly now: () => number;
  readonly maxAgeMs?: number;
  readonly maxEntries?: number;
}

/**
 * Creates the gate; subscribe its `onEvent` to the event stream so it forgets at once what this
 * instance revokes or changes.
 */
export function createSessionGate(options: SessionGateOptions) {
  const maxAgeMs = options.maxAgeMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const checked = new Map<string, Checked>();
  // What this instance has seen revoked: sids, and per user the uid and the lowest epoch a
  // session must carry. Both only ever move one way, so a read that predates them cannot
  // bring a revoked session back, whenever it completes.
  const revoked = new Set<string>();
  const floors = new Map<string, Floor>();

  function remember<K, V>(map: Map<K, V> | Set<K>, key: K, value?: V): void {
    if (map.size >= maxEntries) map.delete(map.keys().next().value!);
    map.delete(key);
    if (map instanceof Set) map.add(key);
    else map.set(key, value!);
  }

  /** The session is older than a revocation of its user this instance has seen. */
  function isBehind(userId: string, sid: string, uid: string | undefined, epoch: number) {
    const floor = floors.get(userId);
    if (!floor || floor.uid !== uid) return false;
    return epoch < floor.epoch && !isKept({ sid, epoch }, floor.kept);
  }

  /** The session's OAuth client, if it has one, is still the one it was issued to. */
  async function clientIsCurrent(session: SessionRecord | undefined): Promise<boolean> {
    if (session?.clientId === undefined) return true;
    if (!options.clients) return false;
    const client = await options.clients.getClient(session.clientId);
    return clientMatches(session, client?.value);
  }

  /** The entry of `sid` checked less than `maxAgeMs` before `at`, for this user. */
  function fresh(sid: string, userId: string, at: number): Checked | undefined {
    const cached = checked.get(sid);
    return cached && cached.userId === userId && at - cached.checkedAt < maxAgeMs
      ? cached
      : undefined;
  }

  /** The session is live and its user holds the token's role. */
  function admits(entry: Checked, claims: AccessClaims): boolean {
    return entry.live && entry.roles.includes(claims.role);
  }

  async function lookup(sid: string, userId: string): Promise<Checked> {
    const at = options.now();
    const cached = fresh(sid, userId, at);
    if (cached) return cached;
    const read = await options.store.getSessionAndUser(sid, userId);
    const session = read.session?.value;
    const user = read.user?.value;
    const clientCurrent = isSessionUsable(session, user, at) && await clientIsCurrent(session);
    // What this instance has seen revoked is asked after the last read: a revocation announced
    // while the client was read counts.
    const live = clientCurrent && !revoked.has(sid) &&
      !isBehind(userId, sid, session?.userUid, session?.epoch ?? -1);
    const clientId = session?.clientId;
    const entry: Checked = {
      userId,
      clientId,
      live,
      roles: user?.roles ?? [],
      userUid: session?.userUid,
      checkedAt: at,
    };
    remember(checked, sid, entry);
    return entry;
  }

  return {
    /** True when the token's session is live and its user is enabled and holds its role. */
    async isActive(claims: AccessClaims): Promise<boolean> {
      if (claims.sid === undefined) return false;
      return admits(await lookup(claims.sid, claims.sub), claims);
    },
    /**
     * Synchronously, without a read: the user's roles when a fresh entry (what `isActive` would
     * use now) admits the token; `undefined` when there is none (ask `isActive`) or it refuses.
     * A revocation seen here deletes the entry, so it is `undefined` from that instant.
     */
    peek(claims: AccessClaims): readonly string[] | undefined {
      if (claims.sid === undefined) return undefined;
      const entry = fresh(claims.sid, claims.sub, options.now());
      return entry && admits(entry, claims) ? entry.roles : undefined;
    },
    /** The user's current roles as last checked for this session. */
    async roles(claims: AccessClaims): Promise<readonly string[]> {
      if (claims.sid === undefined) return [];
      return (await lookup(claims.sid, claims.sub)).roles;
    },
    /**
     * The internal id (`userUid`) of the user the token's session is bound to, when the last
     * check found the session live; `undefined` otherwise. A user removed and created again under
     * the same id is another uid: its sessions are not the old user's.
     */
    async userUid(claims: AccessClaims): Promise<string | undefined> {
      if (claims.sid === undefined) return undefined;
      const entry = await lookup(claims.sid, claims.sub);
      return entry.live ? entry.userUid : undefined;
    },
    /** The event-stream subscriber: forgets revoked sessions and changed users. */
    onEvent: ((event) => {
      if (event.type === "session_revoked" || event.type === "refresh_reused") {
        remember(revoked, event.sid);
        checked.delete(event.sid);
      }
      if (event.type === "client_changed") {
        for (const [sid, entry] of checked) {
          if (entry.clientId === event.client_id) checked.delete(sid);
        }
      }
      if (event.type === "user_changed") {
        const floor = floors.get(event.user_id);
        if (!floor || floor.uid !== event.uid || event.epoch > floor.epoch) {
          remember(floors, event.user_id, { uid: event.uid, epoch: event.epoch, kept: event.kept });
        }
        for (const [sid, entry] of checked) {
          if (entry.userId === event.user_id) checked.delete(sid);
        }
      }
    }) as EventSubscriber,
  };
}

/** The gate's interface. */
export type SessionGate = ReturnType<typeof createSessionGate>;
