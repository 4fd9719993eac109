/**
 * One sign-in, one logout. A person who signs in on the login page gets a browser session
 * (single sign-on), and every application that then receives a code gets a token session
 * started from it. What a person means by "log out" is the end of all of that, so:
 *
 * - RP-initiated logout (`/end-session`) ends the browser session and every token session it
 *   issued: the applications' refresh tokens die and their access tokens stop passing `/me`,
 *   `/userinfo`, introspection and `requireAuth`'s session check. This is what
 *   node-oidc-provider does at end-session (it revokes the grants of every client of the
 *   session, except `offline_access` ones; this server gives `offline_access` no meaning, so
 *   none is kept), and Keycloak (logging out a user session ends its client sessions).
 * - `POST /logout` of a token session started that way ends the same sign-in: the browser
 *   session too, so the next `/authorize` shows the form instead of signing the person straight
 *   back in, and the sibling token sessions it issued (as Keycloak's logout endpoint with a
 *   refresh token ends the whole user session).
 * - `POST /oauth/revoke` (RFC 7009) stays about the token: it ends that token session only. An
 *   application revokes tokens for its own reasons (a lost device, a downgrade), which say nothing
 *   about the person's sign-in at this server; node-oidc-provider and Keycloak's revocation
 *   endpoints leave the single sign-on session alone as well.
 *
 * A sign-in may span several browser sessions: re-authentication by the same user replaces the
 * session and keeps what it issued (`browser_sessions.ts`). Ending any of them ends the whole
 * line: the latest one (found through `successor`) and every predecessor it lists.
 *
 * Other ends need no cascade: a password change, disabling, removal or a session-epoch bump end
 * browser and token sessions by the same check, and a token session started from a browser
 * session ends no later than it (`SESSION_MAX_AGE` after the sign-in).
 *
 * @module
 */
import type { SessionRecord, SessionStore } from "../tokens/session_store.ts";
import type { SessionService } from "../tokens/sessions.ts";
import type { BrowserSessionStore } from "./browser_session_store.ts";
import { lineFrom } from "./browser_sessions.ts";

/** Dependencies of {@link createSignOut}. */
export interface SignOutDeps {
  readonly browserSessions: Pick<
    BrowserSessionStore,
    "getBrowserSession" | "deleteBrowserSession"
  >;
  readonly sessionStore: Pick<SessionStore, "listUserSessions">;
  readonly sessions: Pick<SessionService, "revoke">;
}

/** A sign-in at the login page: the browser session's store key and its user. */
export interface SignIn {
  readonly userUid: string;
  readonly browserSessionKey: string;
}

/** Creates the sign-out service. */
export function createSignOut(deps: SignOutDeps) {
  /**
   * Ends a sign-in: every token session it issued, then its browser session (if it still
   * exists), then any token session a code exchange started meanwhile. The browser session goes
   * after the first revocations, so a logout that fails partway leaves it in place and a retry
   * finds the sign-in again; a code exchanged at the same time either committed its session
   * before the second listing (and is found there) or finds the browser session gone and revokes
   * its own (`authorization_codes.ts`).
   */
  async function endSignIn(signIn: SignIn, reason: string): Promise<void> {
    const { latest, keys } = await lineOf(signIn.browserSessionKey);
    await revokeIssued(signIn.userUid, keys, reason);
    // The latest last: a retry through the browser's cookie finds the line again.
    for (const key of keys) {
      if (key !== latest) await deps.browserSessions.deleteBrowserSession(key);
    }
    await deps.browserSessions.deleteBrowserSession(latest);
    await revokeIssued(signIn.userUid, keys, reason);
  }

  /** The browser sessions of the sign-in `key` belongs to: its latest one and every key. */
  async function lineOf(key: string): Promise<{ latest: string; keys: Set<string> }> {
    const { latest, found, keys } = await lineFrom(deps.browserSessions, key);
    for (const predecessor of found?.value.predecessors ?? []) keys.add(predecessor.key);
    return { latest, keys };
  }

  async function revokeIssued(
    userUid: string,
    keys: ReadonlySet<string>,
    reason: string,
  ): Promise<void> {
    const issued = (await deps.sessionStore.listUserSessions(userUid)).filter((session) =>
      session.browserSessionKey !== undefined && keys.has(session.browserSessionKey) &&
      session.revokedAt === undefined
    );
    for (const session of issued) await deps.sessions.revoke(session.sid, reason);
  }

  /** After a token session was logged out: the sign-in it came from ends too, if it had one. */
  async function afterLogout(ended: SessionRecord, reason: string): Promise<void> {
    if (ended.browserSessionKey === undefined) return;
    await endSignIn({ userUid: ended.userUid, browserSessionKey: ended.browserSessionKey }, reason);
  }

  return { endSignIn, afterLogout };
}

/** The sign-out service's interface. */
export type SignOut = ReturnType<typeof createSignOut>;
