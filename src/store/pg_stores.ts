/**
 * Every store over one PostgreSQL pool: the schema migrated at open, the key set's
 * LISTEN/NOTIFY channel, and the bounded sweeper of rows that are gone.
 *
 * @module
 */
import { ConfigError } from "../config/config_error.ts";
import { describeDatabaseUrl } from "./database_url.ts";
import { PgAuthorizationCodeStore, PgBrowserSessionStore } from "./pg_browser.ts";
import { openPool, pgCall, type PgOptions, type Sql } from "./pg_client.ts";
import { PgClientStore } from "./pg_clients.ts";
import { PgCounterStore } from "./pg_counters.ts";
import { PgKeyStore } from "./pg_keys.ts";
import { PgMfaStore, PgPasskeyStore } from "./pg_second_factor.ts";
import { migrate } from "./pg_migrations.ts";
import { PgSessionStore } from "./pg_sessions.ts";
import { PgUserStore } from "./pg_users.ts";
import type { OpenedStores, Stores } from "./stores.ts";

/** How often the sweeper runs, and the most rows one sweep deletes per table. */
export const SWEEP_INTERVAL_MS = 60_000;
export const SWEEP_BATCH = 1000;

/** The stores over `sql`, and `sweep()`: deletes up to {@link SWEEP_BATCH} gone rows a table. */
export function pgStores(
  sql: Sql,
  options: { channel: string; wall?: () => number },
): Stores & { sweep(): Promise<number> } {
  const wall = options.wall ?? Date.now;
  return {
    users: new PgUserStore(sql),
    sessions: new PgSessionStore(sql, wall),
    counters: new PgCounterStore(sql, wall),
    clients: new PgClientStore(sql),
    keys: new PgKeyStore(sql, options.channel),
    mfa: new PgMfaStore(sql, wall),
    passkeys: new PgPasskeyStore(sql, wall),
    authorizationCodes: new PgAuthorizationCodeStore(sql, wall),
    browserSessions: new PgBrowserSessionStore(sql, wall),
    ping: () => pgCall("ping", async () => void await sql`SELECT 1`),
    recordIssuer: (issuer) =>
      pgCall("record issuer", async () => {
        // Read, then write only on a change: a plain read on every start, and two instances
        // that start at once under one issuer both see the one recorded before.
        const [row] = await sql`SELECT value FROM store_settings WHERE name = 'served_issuer'`;
        const before = row?.value as string | undefined;
        if (before !== issuer) {
          await sql`
            INSERT INTO store_settings (name, value) VALUES ('served_issuer', ${issuer})
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`;
        }
        return before;
      }),
    sweep: () =>
      pgCall("sweep", async () => {
        // Rows past `gone_at` are already invisible to every read; this only frees the space,
        // a bounded batch at a time so a sweep never holds long locks. `SKIP LOCKED`: a row a
        // request's transaction holds (a rate-limit take locks its cells, gone ones included)
        // waits for the next sweep. A sweep that waited for it while holding rows it had
        // deleted could close a deadlock with a take that locked the first and wanted those.
        const now = wall();
        const sessions = await sql`
          DELETE FROM sessions WHERE sid IN (
            SELECT sid FROM sessions WHERE gone_at <= ${now} LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`;
        const limits = await sql`
          DELETE FROM limits WHERE (bucket, subject) IN (
            SELECT bucket, subject FROM limits WHERE gone_at <= ${now} LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`;
        const codes = await sql`
          DELETE FROM authorization_codes WHERE hash IN (
            SELECT hash FROM authorization_codes WHERE gone_at <= ${now} LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`;
        const browser = await sql`
          DELETE FROM browser_sessions WHERE key IN (
            SELECT key FROM browser_sessions WHERE gone_at <= ${now} LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`;
        const mfa = await sql`
          DELETE FROM mfa_challenges WHERE id IN (
            SELECT id FROM mfa_challenges WHERE gone_at <= ${now} LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`;
        const passkey = await sql`
          DELETE FROM passkey_challenges WHERE id IN (
            SELECT id FROM passkey_challenges WHERE gone_at <= ${now} LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`;
        return sessions.count + limits.count + codes.count + browser.count + mfa.count +
          passkey.count;
      }),
  };
}

/**
 * The stores' transactions say READ COMMITTED themselves (`READ_COMMITTED`); their single-statement
 * writes (a rotation, a revocation) run at the database's default, where a stricter level turns a
 * contended write into a 503 `busy`. Said, not refused: the server works, only less well.
 */
async function isolationWarnings(sql: Sql): Promise<string[]> {
  const [row] = await sql<{ level: string; role: string }[]>`
    SELECT current_setting('default_transaction_isolation') AS level, current_user AS role`;
  // READ UNCOMMITTED behaves as READ COMMITTED in PostgreSQL.
  if (row === undefined || row.level === "read committed" || row.level === "read uncommitted") {
    return [];
  }
  return [
    `default_transaction_isolation is "${row.level}" for this connection (set for the server, ` +
    `the database or the role): single-statement writes that race (two refreshes of one token) ` +
    `then fail with 503 busy after waiting instead of re-checking the row; set it for the ` +
    `server's role and restart: ALTER ROLE "${row.role}" SET default_transaction_isolation = ` +
    `'read committed' (an ALTER ROLE ... IN DATABASE setting, if any, wins over it)`,
  ];
}

/** The NOTIFY channel of a schema's key set. */
export function keySetChannel(schema: string | undefined): string {
  return schema ? `auth_key_set_${schema}` : "auth_key_set";
}

/**
 * Opens the pool, checks the database answers and migrates it; a database that cannot be
 * reached or migrated throws a {@link ConfigError} naming `DATABASE_URL` (never its password).
 * `close()` stops the sweeper and ends the pool.
 */
export async function openPgStores(options: PgOptions): Promise<OpenedStores> {
  const sql = openPool(options);
  const engine = describeDatabaseUrl(options.url);
  let warnings: string[];
  try {
    await migrate(sql, options.schema);
    warnings = await isolationWarnings(sql);
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0]!.slice(0, 200);
    throw new ConfigError(
      "DATABASE_URL",
      `names ${engine}, which cannot be used (${reason}): start the database or fix the URL`,
    );
  }
  const stores = pgStores(sql, { channel: keySetChannel(options.schema) });
  const sweeper = setInterval(() => void stores.sweep().catch(() => {}), SWEEP_INTERVAL_MS);
  Deno.unrefTimer(sweeper);
  return {
    stores,
    engine: `${engine}, pool of ${options.poolSize}`,
    warnings,
    close: async () => {
      clearInterval(sweeper);
      await sql.end({ timeout: 5 });
    },
  };
}
