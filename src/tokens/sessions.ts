/**
 * Sessions and refresh tokens: issue, rotate, detect reuse, revoke.
 *
 * A refresh token is 256 random bits, base64url; only its SHA-256 is stored (a slow hash buys
 * nothing for a random 256-bit value). Each rotation spends the presented token and stores its
 * child in one atomic commit guarded by versionstamps (see `SessionStore.commitRotation`): the
 * presented token's, the session's and the user's. Presenting a spent token again revokes the
 * session, except once, inside `REFRESH_GRACE_SECONDS` after its rotation and while its child is
 * unused, for a client that lost the answer: then that child is superseded by a new one.
 *
 * @module
 */
import { base64url } from "jose";
import { createHash } from "node:crypto";
import { ApiError, ContendedError } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import type { Versioned } from "../versioned.ts";
import type { TokenPair } from "../wire.ts";
import type { SignedToken } from "./access_token.ts";
import {
  isSessionLive,
  type RefreshRecord,
  type SessionRecord,
  type SessionStore,
} from "./session_store.ts";

export type { TokenPair } from "../wire.ts";

/** Dependencies of {@link createSessionService}. */
export interface SessionDeps {
  readonly store: SessionStore;
  readonly signAccessToken: (
    subject: { sub: string; role: string; sid: string },
    nowMs: number,
  ) => Promise<SignedToken>;
  /** Refresh token lifetime in seconds (sliding: each rotation starts a new one). */
  readonly refreshTtl: number;
  readonly graceSeconds: number;
  readonly now: () => number;
  /** The domain event stream (log, metrics and the session gate listen). */
  readonly onEvent?: EmitEvent;
}

const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const MAX_ROTATION_ATTEMPTS = 8;

/** Creates the session service. */
export function createSessionService(deps: SessionDeps) {
  const emit: EmitEvent = (event) => deps.onEvent?.(event);
  const refreshTtlMs = deps.refreshTtl * 1000;

  async function issuePair(
    subject: { sub: string; role: string; sid: string },
    refreshToken: string,
    nowMs: number,
  ): Promise<TokenPair> {
    return pair(await deps.signAccessToken(subject, nowMs), refreshToken);
  }

  /**
   * Starts a session for a user who just proved their credentials. `userVersionstamp` is the
   * user record's as read for that check: the session is stored only if the user is still
   * exactly so (else 401: a password change or removal raced the login), and the first refresh
   * can skip reading the user.
   */
  async function start(
    userId: string,
    role: string,
    userVersionstamp?: string,
  ): Promise<TokenPair> {
    const now = deps.now();
    const { token, hash } = newRefreshToken();
    const session: SessionRecord = {
      sid: crypto.randomUUID(),
      userId,
      role,
      createdAt: now,
      expiresAt: now + refreshTtlMs,
    };
    const record: RefreshRecord = {
      sid: session.sid,
      userId,
      role,
      sessionCreatedAt: now,
      indexExpiresAt: now + 2 * refreshTtlMs,
      ...(userVersionstamp !== undefined ? { userVersionstamp } : {}),
      issuedAt: now,
      expiresAt: session.expiresAt,
    };
    // The access token is signed before the commit, but sent only after it: nothing is
    // acknowledged that is not stored.
    const answer = await issuePair({ sub: userId, role, sid: session.sid }, token, now);
    if (!(await deps.store.createSession(session, hash, record))) {
      throw new ApiError("invalid_credentials", "invalid credentials");
    }
    emit({ type: "session_started", sid: session.sid, sub: userId });
    return answer;
  }

  /**
   * Spends a refresh token and returns a new pair.
   *
   * Fast path (a live token, nothing changed): one read, one commit. The newest token was
   * written in the same commit as its session, so its versionstamp is the session's; it also
   * records the user's. The commit checks both, so a revocation or a change to the user makes
   * it fail instead. Slow path (after such a failure, or for a spent token): read session and
   * user, decide, commit with what was read.
   */
  async function refresh(refreshToken: string): Promise<TokenPair> {
    if (!REFRESH_TOKEN_PATTERN.test(refreshToken)) throw invalidRefresh();
    const hash = sha256(refreshToken);
    const firstReadAt = deps.now();
    for (let attempt = 0; attempt < MAX_ROTATION_ATTEMPTS; attempt++) {
      const now = deps.now();
      const token = await deps.store.getRefresh(hash);
      if (!token || token.value.expiresAt <= now) throw invalidRefresh();
      const record = token.value;
      const live = record.spentAt === undefined && record.supersededAt === undefined;
      if (attempt > 0 && record.spentAt !== undefined && record.spentAt >= firstReadAt) {
        // Spent by a concurrent request while this one was in flight: not a replay of an old
        // token and not a lost answer. This one loses, the winner's pair stays good, and no
        // session ends over two requests that raced (a later replay is judged as usual).
        throw new ApiError(
          "refresh_conflict",
          "refresh token was spent by a concurrent request; use the newest one",
        );
      }

      if (live && attempt === 0 && record.userVersionstamp !== undefined) {
        // The newest token was written with its session: the same versionstamp, unless revoked.
        const answer = await rotate(hash, token, now, token.versionstamp, record.userVersionstamp);
        if (answer) return answer;
        continue; // something changed since the read: read it all and decide
      }

      const { session, user } = await deps.store.getSessionAndUser(
        record.sid,
        record.userId,
      );
      if (!session || !isSessionLive(session.value, now)) throw sessionEnded();
      if (!user || user.value.disabled || !user.value.roles.includes(record.role)) {
        await revoke(record.sid, "user changed");
        throw sessionEnded();
      }
      let replaced: Versioned<RefreshRecord> | undefined;
      if (!live) {
        replaced = await unusedChildForGrace(record, now);
        if (!replaced) {
          await deps.store.revokeSession(record.sid, now);
          emit({ type: "refresh_reused", sid: record.sid, sub: record.userId });
          throw new ApiError(
            "refresh_token_reused",
            "refresh token was already used; the session has been revoked",
          );
        }
      }
      const answer = await rotate(
        hash,
        token,
        now,
        session.versionstamp,
        user.versionstamp,
        replaced,
      );
      if (answer) return answer;
    }
    throw new ContendedError("refresh is contended");
  }

  /**
   * The child a spent token's rotation issued, if this is a lost-answer replay the grace window
   * forgives: the grace is on, unused for this token, within the window, and the child unused.
   */
  async function unusedChildForGrace(record: RefreshRecord, now: number) {
    if (
      deps.graceSeconds <= 0 || record.spentAt === undefined || record.graceUsedAt !== undefined ||
      record.childHash === undefined || now - record.spentAt >= deps.graceSeconds * 1000
    ) {
      return undefined;
    }
    const child = await deps.store.getRefresh(record.childHash);
    const unused = child && child.value.spentAt === undefined &&
      child.value.supersededAt === undefined;
    return unused ? child : undefined;
  }

  /** Commits one rotation; undefined when a checked versionstamp no longer matches. */
  async function rotate(
    hash: string,
    token: Versioned<RefreshRecord>,
    now: number,
    sessionVersionstamp: string,
    userVersionstamp: string,
    replaced?: Versioned<RefreshRecord>,
  ): Promise<TokenPair | undefined> {
    const record = token.value;
    const child = newRefreshToken();
    const expiresAt = now + refreshTtlMs;
    // The index entry global logout walks is renewed only when the child would outlive it
    // (about once per REFRESH_TTL of activity), not with every rotation.
    const renewIndex = record.indexExpiresAt < expiresAt;
    const indexExpiresAt = renewIndex ? now + 2 * refreshTtlMs : record.indexExpiresAt;
    const childRecord: RefreshRecord = {
      sid: record.sid,
      userId: record.userId,
      role: record.role,
      sessionCreatedAt: record.sessionCreatedAt,
      indexExpiresAt,
      userVersionstamp,
      issuedAt: now,
      expiresAt,
      parentHash: hash,
    };
    const answer = await issuePair(
      { sub: record.userId, role: record.role, sid: record.sid },
      child.token,
      now,
    );
    const committed = await deps.store.commitRotation({
      sid: record.sid,
      userId: record.userId,
      spent: {
        hash,
        versionstamp: token.versionstamp,
        record: replaced
          ? { ...record, graceUsedAt: now, childHash: child.hash }
          : { ...record, spentAt: now, childHash: child.hash },
      },
      ...(replaced && record.childHash
        ? {
          superseded: {
            hash: record.childHash,
            versionstamp: replaced.versionstamp,
            record: { ...replaced.value, supersededAt: now },
          },
        }
        : {}),
      child: { hash: child.hash, record: childRecord },
      sessionVersionstamp,
      userVersionstamp,
      // Rebuilt from the token's copy of its fixed fields: the commit checks the session is
      // unchanged (so not revoked) since it was written with this token or read just now.
      session: {
        sid: record.sid,
        userId: record.userId,
        role: record.role,
        createdAt: record.sessionCreatedAt,
        expiresAt,
      },
      ...(renewIndex ? { indexUntil: indexExpiresAt } : {}),
      now,
    });
    if (!committed) return undefined;
    emit({ type: "refreshed", sid: record.sid, sub: record.userId, grace: replaced !== undefined });
    return answer;
  }

  /** Revokes one session. */
  async function revoke(sid: string, reason: string): Promise<void> {
    const session = await deps.store.revokeSession(sid, deps.now());
    if (session) emit({ type: "session_revoked", sid, sub: session.userId, reason });
  }

  /** Revokes every session of a user. */
  async function revokeAll(userId: string, reason: string): Promise<number> {
    const ids = await deps.store.listSessionIds(userId);
    for (const sid of ids) await revoke(sid, reason);
    return ids.length;
  }

  return { start, refresh, revoke, revokeAll };
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

function newRefreshToken(): { token: string; hash: string } {
  const token = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  return { token, hash: sha256(token) };
}

/** SHA-256, base64url. Synchronous: a 43-byte input costs less than one async crypto op's trip. */
function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

function invalidRefresh(): ApiError {
  return new ApiError("invalid_refresh_token", "refresh token is invalid or expired");
}

function sessionEnded(): ApiError {
  return new ApiError("session_revoked", "session has ended; log in again");
}
