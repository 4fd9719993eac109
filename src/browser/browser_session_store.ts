/**
 * What the browser session service needs from storage, and the record it stores. Implemented
 * over Deno KV by `store/kv_browser_sessions.ts`; the in-memory fake is in
 * `tests/helpers/fake_stores.ts`.
 *
 * @module
 */
import type { Versioned } from "../versioned.ts";

/**
 * A browser's sign-in at this server (single sign-on): the session cookie holds a random secret,
 * the store only its SHA-256 (`key`), so a copy of the store signs nobody in.
 */
export interface BrowserSessionRecord {
  /** SHA-256 of the cookie's value, base64url. */
  readonly key: string;
  /** The public id (`sid` in ID tokens; OpenID Connect Front-/Back-Channel Logout's name). */
  readonly sid: string;
  readonly userId: string;
  /** The user's internal id and session epoch at sign-in: a change of either ends it. */
  readonly userUid: string;
  readonly epoch: number;
  /** When the user entered credentials (epoch ms). */
  readonly authTime: number;
  readonly amr: readonly string[];
  /** `authTime + SESSION_MAX_AGE`: the absolute end (the KV entry expires then too). */
  readonly expiresAt: number;
  /**
   * The earlier sessions of this sign-in in this browser, replaced when the same user signed in
   * again (re-authentication, `browser_sessions.ts`): the token sessions they issued still name
   * their keys, and end with this one (`sign_out.ts`). Absent when there was none.
   */
  readonly predecessors?: readonly { readonly key: string; readonly expiresAt: number }[];
  /**
   * On a replaced session: the key of the session that replaced it. Its cookie signs nobody in
   * any more; a logout of a token session it issued ends the successor too.
   */
  readonly successor?: string;
}

/** Browser sessions by key. Every method throws `StoreUnavailableError` when the store fails. */
export interface BrowserSessionStore {
  createBrowserSession(session: BrowserSessionRecord): Promise<void>;
  getBrowserSession(key: string): Promise<Versioned<BrowserSessionRecord> | undefined>;
  /**
   * Writes `session` over the stored one of its key only if that one still has `versionstamp`
   * (marking a session replaced: of two sign-ins racing to replace it, one wins); false when it
   * changed or is gone. Its `expiresAt` still decides when it ends (PostgreSQL keeps the row's
   * end; Deno KV's entry may outlive it by up to `SESSION_MAX_AGE`, as a new session's does).
   */
  replaceBrowserSession(session: BrowserSessionRecord, versionstamp: string): Promise<boolean>;
  deleteBrowserSession(key: string): Promise<void>;
}
