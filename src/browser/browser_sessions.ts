/**
 * Browser sessions: what lets the next `/authorize`, for any client, skip the login form (single
 * sign-on). The cookie holds 256 random bits; the store keeps their SHA-256 only. A session ends
 * at `SESSION_MAX_AGE` after sign-in, at logout (end-session or `POST /logout`, with the token
 * sessions it issued: `sign_out.ts`), and as soon as its user changes in a way that ends token
 * sessions too: a password change, disabling, removal or any session-epoch bump (checked on
 * every read, like `isSessionUsable`).
 *
 * @module
 */
import { base64url } from "jose";
import { sha256Base64url } from "../crypto/digests.ts";
import { sessionEpoch, type UserRecord, type UserStore, userUid } from "../users/user_store.ts";
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
    userUid(user) === session.userUid && sessionEpoch(user) === session.epoch;
}

/** Creates the browser session service. */
export function createBrowserSessions(deps: BrowserSessionDeps) {
  const maxAgeMs = deps.maxAge * 1000;

  /** Starts a session for a user who just signed in; the cookie value and the record. */
  async function start(
    user: UserRecord,
    amr: readonly string[],
  ): Promise<{ cookieValue: string; session: BrowserSessionRecord }> {
    const now = deps.now();
    const cookieValue = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
    const session: BrowserSessionRecord = {
      key: browserSessionKey(cookieValue),
      sid: crypto.randomUUID(),
      userId: user.id,
      userUid: userUid(user),
      epoch: sessionEpoch(user),
      authTime: now,
      amr: [...amr],
      expiresAt: now + maxAgeMs,
    };
    await deps.store.createBrowserSession(session);
    return { cookieValue, session };
  }

  /** The live session a stored key names, else `undefined` (a dead one is deleted). */
  async function byKey(key: string): Promise<LiveBrowserSession | undefined> {
    const found = await deps.store.getBrowserSession(key);
    if (!found) return undefined;
    const user = await deps.users.getUser(found.value.userId);
    if (!isBrowserSessionLive(found.value, user?.value, deps.now())) {
      await deps.store.deleteBrowserSession(key);
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

  /** The stored session a cookie names, live or not (what a sign-out ends), else `undefined`. */
  async function stored(
    cookieValue: string | undefined,
  ): Promise<BrowserSessionRecord | undefined> {
    if (cookieValue === undefined || !COOKIE_VALUE.test(cookieValue)) return undefined;
    return (await deps.store.getBrowserSession(browserSessionKey(cookieValue)))?.value;
  }

  return { start, current, byKey, stored };
}

/** The browser session service's interface. */
export type BrowserSessions = ReturnType<typeof createBrowserSessions>;
