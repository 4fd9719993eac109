/**
 * Sessions: start, rotate refresh tokens, forgive the near-simultaneous, detect reuse, revoke.
 * The token format itself (family id, MAC, counter; the `sid`) is `refresh_token.ts`, pure
 * functions with no store; this service decides what a token means for its session record,
 * which stores only SHA-256 hashes of its current token and that token's parent.
 *
 * The family id alone proves nothing (it is the first 22 characters of every token of the
 * session, forever): reuse detection and revocation act only on a token the server issued,
 * one whose hash the record holds or whose MAC verifies (`isIssued`). A token of a session
 * started before the MAC layout is proven by its hash alone; its next rotation moves the
 * session to the MAC layout.
 *
 * Reuse interval, as Supabase Auth (GoTrue) has it (internal/tokens/service.go: a revoked token
 * that is the parent of the active one gets the active one back): within
 * `REFRESH_GRACE_SECONDS` of a rotation, presenting the parent of the current token returns the
 * current token (the same string) with a fresh access token. Any number of near-simultaneous
 * presenters converge on it: nothing forks, nothing is written. Presenting the parent later, or
 * any older token of the family, is reuse: the session is revoked.
 *
 * @module
 */
import { ApiError, ContendedError } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import { sessionEpoch, type UserRecord, userUid } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";
import type { TokenPair } from "../wire.ts";
import type { SignedToken, TokenSubject } from "./access_token.ts";
import { RecentRotations } from "./recent_rotations.ts";
import {
  childOf,
  familyOf,
  legacyChildOf,
  macVerifies,
  newFamily,
  sidOf,
  tokenAt,
  tokenHash,
} from "./refresh_token.ts";
import {
  clientMatches,
  isSessionLive,
  isSessionUsable,
  type SessionClient,
  type SessionRecord,
  type SessionStore,
} from "./session_store.ts";

export type { TokenPair } from "../wire.ts";
export { deriveChainKey } from "./refresh_token.ts";

/** Dependencies of {@link createSessionService}. */
export interface SessionDeps {
  readonly store: SessionStore;
  readonly signAccessToken: (subject: TokenSubject, nowMs: number) => Promise<SignedToken>;
  /** Refresh token lifetime in seconds (sliding: each rotation starts a new one). */
  readonly refreshTtl: number;
  readonly graceSeconds: number;
  /** Absolute session lifetime in seconds (default: ten years, for tests that do not care). */
  readonly sessionMaxAge?: number;
  /** Live sessions per user; a login beyond it ends the oldest (default: unlimited). */
  readonly maxSessionsPerUser?: number;
  /** The key rotations derive child tokens with (`deriveChainKey`, `refresh_token.ts`). */
  readonly chainKey: Uint8Array;
  readonly now: () => number;
  /** The domain event stream (log, metrics and the session gate listen). */
  readonly onEvent?: EmitEvent;
}

/** A user as read for a login, with the versionstamp the session commit checks. */
export type CheckedUser = UserRecord & { readonly versionstamp: string };

/** One of a user's sessions as `GET /sessions` shows it. */
export interface SessionSummary {
  readonly sid: string;
  readonly role: string;
  readonly createdAt: number;
  readonly refreshedAt: number;
  readonly expiresAt: number;
}

const MAX_ROTATION_ATTEMPTS = 8;

/**
 * Runs `task` once every earlier task of `key` in `queue` has settled: one at a time per key,
 * in arrival order; the key leaves the map with its last task.
 */
async function inTurn<T>(
  queue: Map<string, Promise<void>>,
  key: string,
  task: () => Promise<T>,
): Promise<T> {
  const before = queue.get(key);
  let finished!: () => void;
  const mine = new Promise<void>((resolve) => finished = resolve);
  const last = before ? before.then(() => mine) : mine;
  queue.set(key, last);
  try {
    await before;
    return await task();
  } finally {
    finished();
    if (queue.get(key) === last) queue.delete(key);
  }
}

/** Creates the session service. */
export function createSessionService(deps: SessionDeps) {
  const emit: EmitEvent = (event) => deps.onEvent?.(event);
  const refreshTtlMs = deps.refreshTtl * 1000;
  const maxAgeMs = (deps.sessionMaxAge ?? 3650 * 86_400) * 1000;
  const maxSessions = deps.maxSessionsPerUser ?? Infinity;
  /** Each user's new sessions in this process, committed one at a time (see start). */
  const creating = new Map<string, Promise<void>>();
  /** The sessions this process rotated last: the next refresh of each commits without a read. */
  const recent = new RecentRotations();

  function issuePair(session: SessionRecord, refreshToken: string, nowMs: number) {
    // No access token outlives its session's absolute end.
    const notAfter = Math.floor(session.maxExpiresAt / 1000);
    return deps.signAccessToken(
      {
        sub: session.userId,
        role: session.role,
        sid: session.sid,
        notAfter,
        ...(session.amr !== undefined ? { amr: session.amr } : {}),
      },
      nowMs,
    )
      .then((signed) => pair(signed, refreshToken));
  }

  /**
   * Starts a session for a user who just proved their credentials, as read for that check: the
   * session is stored only if the user is still exactly so (else 401: a password change or
   * removal raced the login). When the user already holds `MAX_SESSIONS_PER_USER` live
   * sessions, the oldest end in the commit that stores this one. `client` binds the session to
   * the OAuth client that authenticated for it, in its current generation: its refresh tokens
   * then need that client (see {@link refresh}), and the session ends when the client is
   * removed or its secret rotated ({@link clientMatches}).
   * `amr` (RFC 8176: how the user proved who they are) goes into every access token of the
   * session, refreshed ones too. `browser` names the browser session whose sign-in an
   * authorization code carried: the session records it and ends no later than it.
   */
  async function start(
    user: CheckedUser,
    role: string,
    client?: SessionClient,
    amr?: readonly string[],
    browser?: { readonly key: string; readonly expiresAt: number },
  ): Promise<TokenPair> {
    const now = deps.now();
    const family = newFamily();
    const token = tokenAt(deps.chainKey, family, 0);
    const maxExpiresAt = Math.min(now + maxAgeMs, browser?.expiresAt ?? Infinity);
    const session: SessionRecord = {
      sid: sidOf(family),
      userId: user.id,
      userUid: userUid(user),
      epoch: sessionEpoch(user),
      role,
      ...(client !== undefined ? { clientId: client.clientId } : {}),
      ...(client?.generation !== undefined ? { clientGen: client.generation } : {}),
      ...(amr !== undefined ? { amr: [...amr] } : {}),
      ...(browser !== undefined ? { browserSessionKey: browser.key } : {}),
      createdAt: now,
      refreshedAt: now,
      expiresAt: Math.min(now + refreshTtlMs, maxExpiresAt),
      maxExpiresAt,
      currentHash: tokenHash(token),
      userVersionstamp: user.versionstamp,
    };
    // The access token is signed before the commit, but sent only after it: nothing is
    // acknowledged that is not stored.
    const answer = await issuePair(session, token, now);
    // The commit that stores the session also ends the user's oldest live sessions when the
    // cap is full (the store's one transaction: concurrent logins of one user, in any process,
    // never exceed it and never fail for it). In this process a user's commits take turns:
    // at the cap each reads the user's sessions, and of logins that race all but one would
    // read them again (32 at once fell to 7 logins a second in `deno task bench`).
    const { outcome, ended } = await inTurn(
      creating,
      session.userUid,
      () =>
        deps.store.createSession({
          session,
          userVersionstamp: user.versionstamp,
          ...(Number.isFinite(maxSessions) ? { maxSessions } : {}),
          now,
        }),
    );
    // Each ended session as revoke() ends one: the session gate, the log and the metrics hear.
    for (const old of ended) {
      emit({ type: "session_revoked", sid: old.sid, sub: old.userId, reason: "session limit" });
    }
    if (outcome !== "created") throw new ApiError("invalid_credentials", "invalid credentials");
    emit({ type: "session_started", sid: session.sid, sub: user.id });
    return answer;
  }

  /**
   * Spends a refresh token and returns a new pair, or, for the parent of the current token
   * inside the grace window, the current token again with a fresh access token.
   *
   * Fast path (the current token, nothing changed): one read, one commit; no read when this
   * instance rotated the session last and remembers it ({@link RecentRotations}). The session records
   * the user's versionstamp as last checked; the commit checks it and the session's, so a
   * concurrent rotation, a revocation or any change to the user makes it fail instead. Slow
   * path (after such a failure, or for any other token): read session and user in one
   * snapshot, decide, and commit with what was read. A grace answer commits nothing, so it is
   * decided only on that second snapshot: a revocation acknowledged before it wins.
   *
   * `client` is the OAuth client that authenticated for this request (none at `/refresh`).
   * It must be the one the session was issued to (RFC 6749 sections 6 and 10.4), else
   * `invalid_refresh_token`: checked on the record already read, before anything else, so a
   * caller without the right client learns nothing of the session and changes nothing. The
   * same client in another generation (removed and added again, or its secret rotated since)
   * finds the session ended.
   */
  async function refresh(refreshToken: string, client?: SessionClient): Promise<TokenPair> {
    const clientId = client?.clientId;
    const family = familyOf(refreshToken);
    if (!family) throw invalidRefresh();
    const sid = sidOf(family);
    const hash = tokenHash(refreshToken);
    let owner = "";
    for (let attempt = 0; attempt < MAX_ROTATION_ATTEMPTS; attempt++) {
      const now = deps.now();
      let entry: Versioned<SessionRecord> | undefined;
      let user: Versioned<UserRecord> | undefined;
      if (attempt === 0) {
        // This process's own last rotation of the session stands in for the read when the
        // token presented is its current one (the commit's check proves nothing changed since).
        entry = recent.take(sid, hash, now) ?? await deps.store.getSession(sid);
      } else {
        ({ session: entry, user } = await deps.store.getSessionAndUser(sid, owner));
      }
      if (!entry) throw invalidRefresh();
      const session = entry.value;
      if (session.clientId !== clientId) throw wrongClient(session.clientId, clientId);
      if (!clientMatches(session, client)) throw sessionEnded();
      owner = session.userId;
      if (session.revokedAt !== undefined) throw sessionEnded();
      if (!isSessionLive(session, now)) throw invalidRefresh();

      if (hash === session.currentHash) {
        if (attempt === 0 && session.userVersionstamp !== undefined) {
          const answer = await rotate(refreshToken, entry, session.userVersionstamp, now);
          if (answer) return answer;
          continue; // something changed since the read: read it all and decide
        }
        if (attempt === 0) continue; // no user versionstamp recorded: read both, decide again
        await requireUsable(session, user, now);
        // Usable, so bound to the user's epoch from now on (a kept session catches up here).
        const answer = await rotate(refreshToken, entry, user!.versionstamp, now, user!.value);
        if (answer) return answer;
        continue;
      }

      if (hash === session.parentHash && now - session.refreshedAt < deps.graceSeconds * 1000) {
        // Nothing is committed here, so nothing would notice a revocation that lands after the
        // first read: decide only on one fresh snapshot of session and user (the next attempt).
        if (attempt === 0) continue;
        // A near-simultaneous presenter, or a client that lost the answer: the current token
        // again. Derived, not stored; it matches unless SECRET_KEY changed in between (or the
        // parent was rotated by a version before the MAC layout: its child is the legacy one).
        const current = [
          childOf(deps.chainKey, refreshToken),
          legacyChildOf(deps.chainKey, refreshToken),
        ]
          .find((child) => tokenHash(child) === session.currentHash);
        if (current === undefined) throw conflict();
        await requireUsable(session, user, now);
        emit({ type: "refreshed", sid, sub: session.userId, grace: true });
        return await issuePair(session, current, now);
      }

      // The family id proves nothing; a token the server issued for this session and spent
      // since (its parent, or an older one whose MAC verifies) is a replay: the session ends.
      if (!isIssued(refreshToken, session)) throw invalidRefresh();
      recent.forget(sid);
      await deps.store.revokeSession(sid, now);
      emit({ type: "refresh_reused", sid, sub: session.userId });
      throw new ApiError(
        "refresh_token_reused",
        "refresh token was already used; the session has been revoked",
      );
    }
    throw new ContendedError("refresh is contended");
  }

  /** Ends the session (not usable any more) when its user changed under it. */
  async function requireUsable(
    session: SessionRecord,
    user: Versioned<UserRecord> | undefined,
    now: number,
  ): Promise<void> {
    if (isSessionUsable(session, user?.value, now)) return;
    await revoke(session.sid, "user changed");
    throw sessionEnded();
  }

  /** Commits one rotation; undefined when a checked versionstamp no longer matches. */
  async function rotate(
    presented: string,
    entry: Versioned<SessionRecord>,
    userVersionstamp: string,
    now: number,
    user?: UserRecord,
  ): Promise<TokenPair | undefined> {
    const before = entry.value;
    const child = childOf(deps.chainKey, presented);
    const session: SessionRecord = {
      ...before,
      refreshedAt: now,
      expiresAt: Math.min(now + refreshTtlMs, before.maxExpiresAt),
      currentHash: tokenHash(child),
      parentHash: before.currentHash,
      userVersionstamp,
      epoch: user ? sessionEpoch(user) : before.epoch,
    };
    // The access token is signed while the commit is in flight (it is sent only once the commit
    // succeeded: nothing is acknowledged that is not stored). If signing failed after a commit,
    // the client's retry with the same token is the parent within the reuse interval and gets
    // this child again.
    const [answer, committed] = await Promise.all([
      issuePair(session, child, now),
      deps.store.commitRotation({
        session,
        sessionVersionstamp: entry.versionstamp,
        userVersionstamp,
        now,
      }),
    ]);
    if (committed === undefined) return undefined;
    recent.remember({ value: session, versionstamp: committed });
    emit({ type: "refreshed", sid: session.sid, sub: session.userId, grace: false });
    return answer;
  }

  /** Revokes one session; the session as it was, `undefined` when there is none. */
  async function revoke(sid: string, reason: string): Promise<SessionRecord | undefined> {
    recent.forget(sid);
    const session = await deps.store.revokeSession(sid, deps.now());
    if (session) emit({ type: "session_revoked", sid, sub: session.userId, reason });
    return session;
  }

  /**
   * Revokes the session a refresh token belongs to, for a token the server issued for it (the
   * current one or any older one: {@link isIssued}; a family id alone is not enough), as long
   * as the session record lives; the session as it was, `undefined` when the token is unknown
   * (RFC 7009: the caller answers 200 all the same). `clientId` is the OAuth client that authenticated (none at
   * `/logout`): it must be the one the session was issued to (RFC 7009 section 2.1), else
   * `invalid_refresh_token` and nothing changes.
   */
  async function revokeByRefreshToken(
    refreshToken: string,
    reason: string,
    clientId?: string,
  ): Promise<SessionRecord | undefined> {
    const family = familyOf(refreshToken);
    if (!family) return undefined;
    const sid = sidOf(family);
    const found = await deps.store.getSession(sid);
    if (!found || !isIssued(refreshToken, found.value)) return undefined;
    if (found.value.clientId !== clientId) throw wrongClient(found.value.clientId, clientId);
    return await revoke(sid, reason) ?? found.value;
  }

  /**
   * Revokes a session named by an access token's `sid` for the OAuth client that presented it
   * (none: a public caller); `invalid_refresh_token` when the session was issued to another
   * client (RFC 7009 section 2.1). False when there is no such session.
   */
  async function revokeForClient(
    sid: string,
    reason: string,
    clientId: string | undefined,
  ): Promise<boolean> {
    const found = await deps.store.getSession(sid);
    if (!found) return false;
    if (found.value.clientId !== clientId) throw wrongClient(found.value.clientId, clientId);
    await revoke(sid, reason);
    return true;
  }

  /** A user's live, usable sessions, oldest first. */
  async function list(user: UserRecord): Promise<SessionSummary[]> {
    const now = deps.now();
    return (await deps.store.listUserSessions(userUid(user)))
      .filter((session) => isSessionUsable(session, user, now))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(({ sid, role, createdAt, refreshedAt, expiresAt }) => ({
        sid,
        role,
        createdAt,
        refreshedAt,
        expiresAt,
      }));
  }

  /** Revokes one of the user's own sessions; false when `sid` is not one of them. */
  async function revokeOwn(user: UserRecord, sid: string, reason: string): Promise<boolean> {
    const found = await deps.store.getSession(sid);
    if (!found || !isSessionUsable(found.value, user, deps.now())) return false;
    await revoke(sid, reason);
    return true;
  }

  return { start, refresh, revoke, revokeByRefreshToken, revokeForClient, list, revokeOwn };

  /**
   * Did the server issue this token for this session: its hash is the current or the parent
   * on record, or its MAC verifies (any older token of the family).
   */
  function isIssued(token: string, session: SessionRecord): boolean {
    const hash = tokenHash(token);
    if (hash === session.currentHash || hash === session.parentHash) return true;
    return macVerifies(deps.chainKey, token);
  }
}

/** The session service's interface. */
export type SessionService = ReturnType<typeof createSessionService>;

function pair(signed: SignedToken, refreshToken: string): TokenPair {
  return {
    token: signed.token,
    token_type: "Bearer",
    expires_in: signed.expiresIn,
    refresh_token: refreshToken,
  };
}

function invalidRefresh(): ApiError {
  return new ApiError("invalid_refresh_token", "refresh token is invalid or expired");
}

function wrongClient(issuedTo: string | undefined, presentedBy: string | undefined): ApiError {
  return new ApiError(
    "invalid_refresh_token",
    issuedTo !== undefined && presentedBy === undefined
      ? "refresh token was issued to an OAuth client: spend it at /oauth/token with that " +
        "client's credentials"
      : "refresh token was not issued to this client",
  );
}

function sessionEnded(): ApiError {
  return new ApiError("session_revoked", "session has ended; log in again");
}

function conflict(): ApiError {
  return new ApiError(
    "refresh_conflict",
    "refresh token was spent by a concurrent request; use the newest one",
  );
}
