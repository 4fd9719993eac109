/**
 * The auth server's own check that an access token's session is still alive and its user still
 * holds the token's role: one KV read per session per `maxAgeMs` (1 s by default) instead of one
 * per request.
 *
 * Bound on staleness: a revocation made on THIS instance (logout, reuse, disable, password
 * change) is forgotten from the cache at once; one made on ANOTHER instance sharing the store is
 * seen here within `maxAgeMs`. Other services never see revocations: their tokens live until
 * `exp` (`TOKEN_TTL`).
 *
 * @module
 */
import type { EventSubscriber } from "../events.ts";
import type { AccessClaims } from "./access_token.ts";
import { isSessionLive, type SessionStore } from "./session_store.ts";

/** The one read the gate needs. */
export type SessionReader = Pick<SessionStore, "getSessionAndUser">;

interface Checked {
  readonly userId: string;
  readonly live: boolean;
  readonly roles: readonly string[];
  readonly checkedAt: number;
}

/** Options of {@link createSessionGate}. */
export interface SessionGateOptions {
  readonly store: SessionReader;
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

  async function lookup(sid: string, userId: string): Promise<Checked> {
    const at = options.now();
    const cached = checked.get(sid);
    if (cached && cached.userId === userId && at - cached.checkedAt < maxAgeMs) return cached;
    const read = await options.store.getSessionAndUser(sid, userId);
    const session = read.session?.value;
    const user = read.user?.value;
    const live = isSessionLive(session, at) && session?.userId === userId && user !== undefined &&
      !user.disabled;
    const entry: Checked = { userId, live, roles: user?.roles ?? [], checkedAt: at };
    if (checked.size >= maxEntries) checked.delete(checked.keys().next().value!);
    checked.delete(sid);
    checked.set(sid, entry);
    return entry;
  }

  return {
    /** True when the token's session is live and its user is enabled and holds its role. */
    async isActive(claims: AccessClaims): Promise<boolean> {
      if (claims.sid === undefined) return false;
      const entry = await lookup(claims.sid, claims.sub);
      return entry.live && entry.roles.includes(claims.role);
    },
    /** The user's current roles as last checked for this session. */
    async roles(claims: AccessClaims): Promise<readonly string[]> {
      if (claims.sid === undefined) return [];
      return (await lookup(claims.sid, claims.sub)).roles;
    },
    /** The event-stream subscriber: forgets revoked sessions and changed users. */
    onEvent: ((event) => {
      if (event.type === "session_revoked" || event.type === "refresh_reused") {
        checked.delete(event.sid);
      }
      if (event.type === "user_changed") {
        for (const [sid, entry] of checked) {
          if (entry.userId === event.user_id) checked.delete(sid);
        }
      }
    }) as EventSubscriber,
  };
}

/** The gate's interface. */
export type SessionGate = ReturnType<typeof createSessionGate>;
