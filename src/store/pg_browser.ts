/**
 * {@link AuthorizationCodeStore} and {@link BrowserSessionStore} over PostgreSQL (schema:
 * `pg_migrations.ts`, migration 2), with the lifetimes of `kv_authorization_codes.ts` and
 * `kv_browser_sessions.ts`: rows past `gone_at` are invisible and swept.
 *
 * @module
 */
import type {
  AuthorizationCodeRecord,
  AuthorizationCodeStore,
} from "../browser/authorization_code_store.ts";
import type {
  BrowserSessionRecord,
  BrowserSessionStore,
} from "../browser/browser_session_store.ts";
import type { Versioned } from "../versioned.ts";
import { CODE_RECORD_KEPT_MS } from "./kv_authorization_codes.ts";
import { json, pgCall, type Sql } from "./pg_client.ts";

/** How long an unspent code's row outlives the code (as in KV). */
const UNSPENT_MARGIN_MS = 60 * 1000;

/** Authorization codes in PostgreSQL. */
export class PgAuthorizationCodeStore implements AuthorizationCodeStore {
  readonly #sql: Sql;
  readonly #wall: () => number;

  constructor(sql: Sql, wall: () => number = Date.now) {
    this.#sql = sql;
    this.#wall = wall;
  }

  createCode(code: AuthorizationCodeRecord): Promise<void> {
    return pgCall("createCode", async () => {
      const goneAt = this.#wall() + code.expiresAt - code.createdAt + UNSPENT_MARGIN_MS;
      const record = json(code);
      const rows = await this.#sql`
        INSERT INTO authorization_codes (hash, stamp, record, gone_at)
        VALUES (${code.hash}, nextval('stamps'), ${record}::text::jsonb, ${goneAt})
        ON CONFLICT (hash) DO NOTHING RETURNING hash`;
      // 256 random bits never collide; the key only keeps a bug from overwriting a record.
      if (rows.length !== 1) throw new Error("authorization code collision");
    });
  }

  getCode(hash: string): Promise<Versioned<AuthorizationCodeRecord> | undefined> {
    return pgCall("getCode", async () => {
      const [row] = await this.#sql<{ stamp: string; record: AuthorizationCodeRecord }[]>`
        SELECT stamp, record FROM authorization_codes
        WHERE hash = ${hash} AND gone_at > ${this.#wall()}`;
      return row && { value: row.record, versionstamp: row.stamp };
    });
  }

  updateCode(code: AuthorizationCodeRecord, versionstamp: string): Promise<boolean> {
    // One UPDATE: its row lock and READ COMMITTED's re-check of `stamp` make one of two
    // exchanges of the same code win (the KV check of the versionstamp).
    return pgCall("updateCode", async () => {
      const wall = this.#wall();
      const record = json(code);
      const rows = await this.#sql`
        UPDATE authorization_codes SET record = ${record}::text::jsonb, stamp = nextval('stamps'),
          gone_at = ${wall + CODE_RECORD_KEPT_MS}
        WHERE hash = ${code.hash} AND stamp = ${versionstamp} AND gone_at > ${wall}
        RETURNING hash`;
      return rows.length === 1;
    });
  }
}

/** Browser (single sign-on) sessions in PostgreSQL. */
export class PgBrowserSessionStore implements BrowserSessionStore {
  readonly #sql: Sql;
  readonly #wall: () => number;

  constructor(sql: Sql, wall: () => number = Date.now) {
    this.#sql = sql;
    this.#wall = wall;
  }

  createBrowserSession(session: BrowserSessionRecord): Promise<void> {
    return pgCall("createBrowserSession", async () => {
      const goneAt = this.#wall() + Math.max(1, session.expiresAt - session.authTime);
      const record = json(session);
      await this.#sql`
        INSERT INTO browser_sessions (key, stamp, record, gone_at)
        VALUES (${session.key}, nextval('stamps'), ${record}::text::jsonb, ${goneAt})
        ON CONFLICT (key) DO UPDATE
          SET record = EXCLUDED.record, stamp = EXCLUDED.stamp, gone_at = EXCLUDED.gone_at`;
    });
  }

  getBrowserSession(key: string): Promise<Versioned<BrowserSessionRecord> | undefined> {
    return pgCall("getBrowserSession", async () => {
      const [row] = await this.#sql<{ stamp: string; record: BrowserSessionRecord }[]>`
        SELECT stamp, record FROM browser_sessions WHERE key = ${key} AND gone_at > ${this.#wall()}`;
      return row && { value: row.record, versionstamp: row.stamp };
    });
  }

  replaceBrowserSession(session: BrowserSessionRecord, versionstamp: string): Promise<boolean> {
    return pgCall("replaceBrowserSession", async () => {
      const record = json(session);
      const rows = await this.#sql`
        UPDATE browser_sessions SET record = ${record}::text::jsonb, stamp = nextval('stamps')
        WHERE key = ${session.key} AND stamp = ${versionstamp} AND gone_at > ${this.#wall()}
        RETURNING key`;
      return rows.length === 1;
    });
  }

  deleteBrowserSession(key: string): Promise<void> {
    return pgCall("deleteBrowserSession", async () => {
      await this.#sql`DELETE FROM browser_sessions WHERE key = ${key}`;
    });
  }
}
