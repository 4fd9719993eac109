/**
 * Sessions and refresh tokens: issue, rotate, detect reuse, revoke.
 *
 * A refresh token is 256 random bits, base64url; only its SHA-256 is stored (a slow hash buys
 * nothing for a random 256-bit value). Each rotation spends the presented token and stores its
 * child in one atomic commit guarded by versionstamps (see `KvStore.commitRotation`). Presenting
 * a spent token again revokes the session, except once, inside `REFRESH_GRACE_SECONDS` after its
 * rotation and while its child is unused, for a client that lost the answer: then the child is
 * replaced by a new one.
 *
 * @module
 */
import { base64url } from "jose";
import { AuthError } from "../errors.ts";
import type {
  KvStore,
  RefreshRecord,
  SessionRecord,
  UserRecord,
  Versioned,
} from "../store/kv_store.ts";
import type { SignedToken } from "./access_token.ts";

/** The `/login` and `/refresh` answer. */
export interface TokenPair {
  readonly token: string;
  readonly token_type: "Bearer";
  readonly expires_in: number;
  readonly refresh_token: string;
}

/** What happened, for logs and metrics. */
export type SessionEvent =
  | { type: "session_started"; sid: string; sub: string }
  | { type: "refreshed"; sid: string; sub: string; grace: boolean }
  | { type: "refresh_reused"; sid: string; sub: string }
  | { type: "session_revoked"; sid: string; sub: string; reason: string };

/** Dependencies of {@link createSessionService}. */
export interface SessionDeps {
  readonly store: KvStore;
  readonly signAccessToken: (
    subject: { sub: string; role: string; sid: string },
    nowMs: number,
  ) => Promise<SignedToken>;
  /** Refresh token lifetime in seconds (sliding: each rotation starts a new one). */
  readonly refreshTtl: number;
  readonly graceSeconds: number;
  readonly now: () => number;
  readonly onEvent?: (event: SessionEvent) => void;
}

const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const MAX_ROTATION_ATTEMPTS = 8;

/** Creates the session service. */
export function createSessionService(deps: SessionDeps) {
  const emit = (event: SessionEvent) => deps.onEvent?.(event);
  const refreshTtlMs = deps.refreshTtl * 1000;

  async function issuePair(session: SessionRecord, refreshToken: string, nowMs: number) {
    const signed = await deps.signAccessToken(
      { sub: session.userId, role: session.role, sid: session.sid },
      nowMs,
    );
    return pair(signed, refreshToken);
  }

  /** Starts a session for a user who just proved their credentials. */
  async function start(userId: string, role: string): Promise<TokenPair> {
    const now = deps.now();
    const { token, hash } = await newRefreshToken();
    const session: SessionRecord = {
      sid: crypto.randomUUID(),
      userId,
      role,
      createdAt: now,
      expiresAt: now + refreshTtlMs,
      currentHash: hash,
    };
    const record: RefreshRecord = {
      sid: session.sid,
      userId,
      issuedAt: now,
      expiresAt: session.expiresAt,
    };
    // The access token is signed before the commit, but sent only after it: nothing is
    // acknowledged that is not stored.
    const answer = await issuePair(session, token, now);
    await deps.store.createSession(session, hash, record);
    emit({ type: "session_started", sid: session.sid, sub: userId });
    return answer;
  }

  /** Spends a refresh token and returns a new pair. */
  async function refresh(refreshToken: string): Promise<TokenPair> {
    if (!REFRESH_TOKEN_PATTERN.test(refreshToken)) throw invalidRefresh();
    const hash = await sha256(refreshToken);
    let graceAllowed = true;
    for (let attempt = 0; attempt < MAX_ROTATION_ATTEMPTS; attempt++) {
      const now = deps.now();
      const found = await deps.store.getRefresh(hash);
      if (!found || found.token.value.expiresAt <= now) throw invalidRefresh();
      const { token, session, user } = found;
      if (!session || session.value.revokedAt !== undefined || session.value.expiresAt <= now) {
        throw sessionEnded();
      }
      await requireUserStillHolds(session.value, user);

      const isCurrent = session.value.currentHash === hash && token.value.spentAt === undefined;
      // A grace window of 0 turns the forgiveness off entirely.
      const isGraceReplay = graceAllowed && deps.graceSeconds > 0 &&
        token.value.spentAt !== undefined && token.value.graceUsedAt === undefined &&
        token.value.childHash === session.value.currentHash &&
        now - token.value.spentAt < deps.graceSeconds * 1000;
      if (!isCurrent && !isGraceReplay) {
        await deps.store.revokeSession(session.value.sid, now);
        emit({ type: "refresh_reused", sid: session.value.sid, sub: session.value.userId });
        throw new AuthError(
          "refresh_token_reused",
          "refresh token was already used; the session has been revoked",
        );
      }

      const child = await newRefreshToken();
      const childRecord: RefreshRecord = {
        sid: session.value.sid,
        userId: session.value.userId,
        issuedAt: now,
        expiresAt: now + refreshTtlMs,
        parentHash: hash,
      };
      const answer = await issuePair(session.value, child.token, now);
      const committed = await deps.store.commitRotation({
        spent: { ...token, hash },
        session,
        child: { hash: child.hash, record: childRecord },
        now,
        grace: isGraceReplay,
      });
      if (committed) {
        emit({
          type: "refreshed",
          sid: session.value.sid,
          sub: session.value.userId,
          grace: isGraceReplay,
        });
        return answer;
      }
      // Someone else changed this token or session since we read it. A concurrent presentation
      // of the same token is not a lost answer, so it gets no grace: of many, exactly one wins.
      graceAllowed = false;
    }
    throw sessionEnded();
  }

  /** Refresh only continues while the user exists, is enabled and still holds the role. */
  async function requireUserStillHolds(session: SessionRecord, user: UserRecord | undefined) {
    if (user && stillHolds(user, session.role)) return;
    await revoke(session.sid, "user changed");
    throw sessionEnded();
  }

  /** Revokes one session. */
  async function revoke(sid: string, reason: string): Promise<void> {
    const session = await deps.store.getSession(sid);
    await deps.store.revokeSession(sid, deps.now());
    if (session) emit({ type: "session_revoked", sid, sub: session.value.userId, reason });
  }

  /** Revokes every session of a user. */
  async function revokeAll(userId: string, reason: string): Promise<number> {
    const ids = await deps.store.listSessionIds(userId);
    for (const sid of ids) await revoke(sid, reason);
    return ids.length;
  }

  /** Whether a session may still be used (exists, not revoked, not expired). */
  async function isActive(sid: string): Promise<boolean> {
    const session = await deps.store.getSession(sid);
    return isLive(session, deps.now());
  }

  return { start, refresh, revoke, revokeAll, isActive };
}

/** The session service's interface. */
export type SessionService = ReturnType<typeof createSessionService>;

function stillHolds(user: UserRecord, role: string): boolean {
  return !user.disabled && user.roles.includes(role);
}

function isLive(session: Versioned<SessionRecord> | undefined, now: number): boolean {
  return session !== undefined && session.value.revokedAt === undefined &&
    session.value.expiresAt > now;
}

function pair(signed: SignedToken, refreshToken: string): TokenPair {
  return {
    token: signed.token,
    token_type: "Bearer",
    expires_in: signed.expiresIn,
    refresh_token: refreshToken,
  };
}

async function newRefreshToken(): Promise<{ token: string; hash: string }> {
  const token = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  return { token, hash: await sha256(token) };
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return base64url.encode(new Uint8Array(digest));
}

function invalidRefresh(): AuthError {
  return new AuthError("invalid_refresh_token", "refresh token is invalid or expired");
}

function sessionEnded(): AuthError {
  return new AuthError("session_revoked", "session has ended; log in again");
}
