/**
 * {@link BrowserSessionStore} over Deno KV: `["browser_sessions", key]` ->
 * `BrowserSessionRecord`, expiring at the session's absolute end.
 *
 * @module
 */
import type {
  BrowserSessionRecord,
  BrowserSessionStore,
} from "../browser/browser_session_store.ts";
import type { Versioned } from "../versioned.ts";
import { kvCall, versioned } from "./kv_layout.ts";

const browserKey = (key: string): Deno.KvKey => ["browser_sessions", key];

/**
 * How long a session's KV entry lives: `SESSION_MAX_AGE` from its sign-in (`expiresAt` still
 * decides when it ends; a replaced session's entry may outlive it, as the store's contract says).
 */
function entryLife(session: BrowserSessionRecord): number {
  return Math.max(1, session.expiresAt - session.authTime);
}

/** Browser sessions in Deno KV. */
export class KvBrowserSessionStore implements BrowserSessionStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  createBrowserSession(session: BrowserSessionRecord): Promise<void> {
    return kvCall("createBrowserSession", async () => {
      await this.#kv.set(browserKey(session.key), session, { expireIn: entryLife(session) });
    });
  }

  getBrowserSession(key: string): Promise<Versioned<BrowserSessionRecord> | undefined> {
    return kvCall(
      "getBrowserSession",
      async () => versioned(await this.#kv.get<BrowserSessionRecord>(browserKey(key))),
    );
  }

  replaceBrowserSession(session: BrowserSessionRecord, versionstamp: string): Promise<boolean> {
    return kvCall("replaceBrowserSession", async () => {
      const key = browserKey(session.key);
      const result = await this.#kv.atomic().check({ key, versionstamp })
        .set(key, session, { expireIn: entryLife(session) }).commit();
      return result.ok;
    });
  }

  deleteBrowserSession(key: string): Promise<void> {
    return kvCall("deleteBrowserSession", () => this.#kv.delete(browserKey(key)));
  }
}
