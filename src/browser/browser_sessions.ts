/**
 * Browser sessions: what lets the next `/authorize`, for any client, skip the login form (single
 * sign-on). The cookie holds 256 random bits; the store keeps their SHA-256 only. A session ends
 * at `SESSION_MAX_AGE` after sign-in, at logout (end-session or `POST /logout`, with the token
 * sessions it issued: `sign_out.ts`), and as soon as its user changes in a way that ends token
 * sessions too: a password change, disabling, removal or any session-epoch bump (checked on
 * every read, like `isSessionUsable`).
 *
 * Signing in again in the same browser as the same user (`prompt=login`, `max_age`, a step-up)
 * is re-authentication, not a logout (OpenID Connect Core 3.1.2.1): the session is replaced by a
 * new one (a new cookie value, against fixation; the new `auth_time` and `amr`; the same `sid`)
 * that lists the replaced one among its `predecessors`, and the replaced one names its
 * `successor`, so the token sessions it issued to applications live on and end with the sign-in.
 *
 * @module
 */
import { base64url } from "jose";
import { sha256Base64url } from "../crypto/digests.ts";
import { sessionEpoch, type UserRecord, type UserStore, userUid } from "../users/user_store.ts";
import { ContendedError } from "../errors.ts";
import type { Versioned } from "../versioned.ts";
import type { BrowserSessionRecord, BrowserSessionStore } from "./browser_session_store.ts";

/** Dependencies of {@link createBrowserSessions}. */
export interface BrowserSessionDeps {
  readonly store: BrowserSessionStore;
  readonly users: Pick<UserStore, "getUser">;
  /** `SESSION_MAX_AGE`, seconds. */
  readonly maxAge: number;
  readonly now: () => number;
}

/** A live browser session and its user as read now. */
export interface LiveBrowserSession {
  readonly session: BrowserSessionRecord;
  readonly user: Versioned<UserRecord>;
}

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;
/** Re-authentications one sign-in keeps within `SESSION_MAX_AGE`; past it, it ends whole. */
const MAX_PREDECESSORS = 16;
/** Tries to mark the replaced session before a sign-in gives up (503 `busy`). */
const MAX_LINK_ATTEMPTS = 4;

/** Successor links followed at most (a line holds at most `MAX_PREDECESSORS` + 1 sessions). */
const MAX_HOPS = 64;

/**
 * The line the stored session `key` belongs to: its latest session (reached through each
 * replaced session's `successor`), that one's record, and every key passed on the way.
 */
export async function lineFrom(
  store: Pick<BrowserSessionStore, "getBrowserSession">,
  key: string,
): Promise<
  { latest: string; found: Versioned<BrowserSessionRecord> | undefined; keys: Set<string> }
> {
  const keys = new Set([key]);
  let latest = key;
  let found = await store.getBrowserSession(key);
  for (let hop = 0; found?.value.successor !== undefined && hop < MAX_HOPS; hop++) {
    latest = found.value.successor;
    keys.add(latest);
    found = await store.getBrowserSession(latest);
  }
  return { latest, found, keys };
}

/** The store key of a cookie value. */
export function browserSessionKey(cookieValue: string): string {
  return sha256Base64url("browser-session/v1", cookieValue);
}

/** Whether a browser session still stands for `user` at `now`. */
export function isBrowserSessionLive(
  session: BrowserSessionRecord,
  user: UserRecord | undefined,
  now: number,
): boolean {
  return user !== undefined && now < session.expiresAt && !user.disabled &&
    session.successor === undefined &&
    userUid(user) === session.userUid && sessionEpoch(user) === session.epoch;
}

/**
 * Whether `user`, who just signed in, continues the browser's `previous` session (the same user,
 * still live: re-authentication), rather than replacing it with a sign-in of its own.
 */
export function continuesSignIn(
  previous: BrowserSessionRecord,
  user: UserRecord,
  now: number,
): boolean {
  return isBrowserSessionLive(previous, user, now) &&
    (previous.predecessors?.length ?? 0) < MAX_PREDECESSORS;
}

/**
 * The predecessors of a session that replaces `replaced`: its own, and itself. A predecessor
 * past its end issued nothing that still lives (token sessions end with it).
 */
function predecessorsAfter(replaced: BrowserSessionRecord, now: number) {
  return [
    ...(replaced.predecessors ?? []).filter((p) => p.expiresAt > now),
    { key: replaced.key, expiresAt: replaced.expiresAt },
  ];
}

/** Creates the browser session service. */
export function createBrowserSessions(deps: BrowserSessionDeps) {
  const maxAgeMs = deps.maxAge * 1000;

  /**
   * Starts a session for a user who just signed in; the cookie value and the record. With
   * `continued` (see {@link continuesSignIn}), the new session replaces that one: same `sid`,
   * the replaced key among its predecessors, and the replaced record marked with its successor.
   */
  async function start(
    user: UserRecord,
    amr: readonly string[],
    continued?: Versioned<BrowserSessionRecord>,
  ): Promise<{ cookieValue: string; session: BrowserSessionRecord }> {
    const now = deps.now();
    const cookieValue = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
    let session: BrowserSessionRecord = {
      key: browserSessionKey(cookieValue),
      sid: continued?.value.sid ?? crypto.randomUUID(),
      userId: user.id,
      userUid: userUid(user),
      epoch: sessionEpoch(user),
      authTime: now,
      amr: [...amr],
      expiresAt: now + maxAgeMs,
      ...(continued === undefined ? {} : { predecessors: predecessorsAfter(continued.value, now) }),
    };
    await deps.store.createBrowserSession(session);
    // Only then is the old cookie retired: a failure in between leaves the browser signed in.
    // Of two sign-ins of one browser replacing the same session at once (two tabs), one marks
    // it; the other follows the line to its latest session and continues that one, so one line,
    // never a fork, leads from every session of the sign-in to the latest (`sign_out.ts`).
    let target = continued;
    for (let attempt = 0; target !== undefined; attempt++) {
      const marked = await deps.store.replaceBrowserSession(
        { ...target.value, successor: session.key },
        target.versionstamp,
      );
      if (marked) break;
      const { found, keys } = await lineFrom(deps.store, target.value.key);
      if (found === undefined || attempt + 1 >= MAX_LINK_ATTEMPTS) {
        // The line ended meanwhile (a logout, another user), or the race goes on: this sign-in
        // starts nothing rather than a session no logout of the line would reach.
        await deps.store.deleteBrowserSession(session.key);
        throw new ContendedError("browser sign-in raced another one in the same browser");
      }
      if (found.value.key !== target.value.key) {
        // Replaced by another sign-in: this one continues the line's latest session, and lists
        // every session on the way (an expired one may have left the latest's own list).
        const listed = predecessorsAfter(found.value, now);
        const passed = [...keys].filter((key) =>
          key !== found.value.key && !listed.some((p) => p.key === key)
        ).map((key) => ({ key, expiresAt: found.value.expiresAt }));
        session = { ...session, predecessors: [...passed, ...listed] };
        await deps.store.createBrowserSession(session);
      }
      target = found;
    }
    return { cookieValue, session };
  }

  /** The live session a stored key names, else `undefined` (a dead one is deleted). */
  async function byKey(key: string): Promise<LiveBrowserSession | undefined> {
    const found = await deps.store.getBrowserSession(key);
    if (!found) return undefined;
    const user = await deps.users.getUser(found.value.userId);
    if (!isBrowserSessionLive(found.value, user?.value, deps.now())) {
      // A replaced session stays until its sign-in ends: a logout that names it finds the rest.
      if (found.value.successor === undefined) await deps.store.deleteBrowserSession(key);
      return undefined;
    }
    return { session: found.value, user: user! };
  }

  /** The live session a cookie names, else `undefined`. */
  function current(cookieValue: string | undefined): Promise<LiveBrowserSession | undefined> {
    if (cookieValue === undefined || !COOKIE_VALUE.test(cookieValue)) {
      return Promise.resolve(undefined);
    }
    return byKey(browserSessionKey(cookieValue));
  }

  /**
   * The stored session a cookie names, live or not (what a sign-out ends), else `undefined`. A
   * cookie of a replaced session (a tab that loaded its form before another tab signed in again)
   * names the latest session of its line: the same user signing in there continues that one,
   * and does not end the applications' sessions of the line.
   */
  async function stored(
    cookieValue: string | undefined,
  ): Promise<Versioned<BrowserSessionRecord> | undefined> {
    if (cookieValue === undefined || !COOKIE_VALUE.test(cookieValue)) return undefined;
    return (await lineFrom(deps.store, browserSessionKey(cookieValue))).found;
  }

  return { start, current, byKey, stored };
}

/** The browser session service's interface. */
export type BrowserSessions = ReturnType<typeof createBrowserSessions>;
