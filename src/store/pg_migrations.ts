/**
 * The schema, as numbered migrations applied at start under an advisory lock: a
 * fleet that starts at once migrates once (the others wait on the lock, then find the work
 * done). A migration is never edited once released; a change is a new number.
 *
 * Why the columns: every record is stored whole as `jsonb` (the ports exchange whole records,
 * as with Deno KV); the columns beside it are what the SQL filters, orders or checks on. `stamp`
 * takes the next value of the one sequence `stamps` on every write: a sequence never hands a
 * value out twice, even across a rollback, a delete and a re-create, so a versionstamp never
 * repeats (the fast refresh relies on it). `gone_at` is the wall-clock epoch ms at which a row
 * stops existing for reads (Deno KV's `expireIn`); the sweeper deletes such rows later.
 *
 * @module
 */
import { READ_COMMITTED, type Sql } from "./pg_client.ts";

/** The migrations, in order; the number is the position (1-based). */
export const MIGRATIONS: readonly string[] = [
  // 1: every table of 2.20.
  `
  CREATE SEQUENCE stamps;
  CREATE TABLE users (
    id text COLLATE "C" PRIMARY KEY,
    stamp bigint NOT NULL,
    record jsonb NOT NULL
  );
  CREATE TABLE sessions (
    sid text PRIMARY KEY,
    user_uid text NOT NULL,
    stamp bigint NOT NULL,
    record jsonb NOT NULL,
    revoked boolean NOT NULL DEFAULT false,
    expires_at bigint NOT NULL,
    max_expires_at bigint NOT NULL,
    gone_at bigint NOT NULL
  );
  CREATE INDEX sessions_by_user ON sessions (user_uid);
  CREATE INDEX sessions_by_gone_at ON sessions (gone_at);
  CREATE TABLE limits (
    bucket text NOT NULL,
    subject text NOT NULL,
    tat double precision,
    gone_at bigint NOT NULL,
    PRIMARY KEY (bucket, subject)
  );
  CREATE INDEX limits_by_gone_at ON limits (gone_at);
  CREATE TABLE oauth_clients (
    client_id text COLLATE "C" PRIMARY KEY,
    stamp bigint NOT NULL,
    record jsonb NOT NULL
  );
  CREATE TABLE key_set (
    id smallint PRIMARY KEY CHECK (id = 1),
    stamp bigint NOT NULL,
    record jsonb NOT NULL
  );
  CREATE TABLE keys_in_use (
    kid text PRIMARY KEY,
    at bigint NOT NULL
  );
  `,
  // 2: browser sign-in (issue 21): authorization codes and browser sessions.
  `
  CREATE TABLE authorization_codes (
    hash text PRIMARY KEY,
    stamp bigint NOT NULL,
    record jsonb NOT NULL,
    gone_at bigint NOT NULL
  );
  CREATE INDEX authorization_codes_by_gone_at ON authorization_codes (gone_at);
  CREATE TABLE browser_sessions (
    key text PRIMARY KEY,
    stamp bigint NOT NULL,
    record jsonb NOT NULL,
    gone_at bigint NOT NULL
  );
  CREATE INDEX browser_sessions_by_gone_at ON browser_sessions (gone_at);
  `,
  // 3: one-value settings of the store itself (the issuer it last served, issue 25).
  `
  CREATE TABLE store_settings (
    name text PRIMARY KEY,
    value text NOT NULL
  );
  `,
  // 4: the second factor (issue 22): TOTP factors and login challenges, passkeys and theirs.
  `
  CREATE TABLE mfa_factors (
    user_uid text PRIMARY KEY,
    stamp bigint NOT NULL,
    record jsonb NOT NULL
  );
  CREATE TABLE mfa_challenges (
    id text PRIMARY KEY,
    stamp bigint NOT NULL,
    record jsonb NOT NULL,
    gone_at bigint NOT NULL
  );
  CREATE INDEX mfa_challenges_by_gone_at ON mfa_challenges (gone_at);
  CREATE TABLE passkeys (
    id text COLLATE "C" PRIMARY KEY,
    user_uid text NOT NULL,
    stamp bigint NOT NULL,
    record jsonb NOT NULL
  );
  CREATE INDEX passkeys_by_user ON passkeys (user_uid);
  CREATE TABLE passkey_challenges (
    id text PRIMARY KEY,
    record jsonb NOT NULL,
    gone_at bigint NOT NULL
  );
  CREATE INDEX passkey_challenges_by_gone_at ON passkey_challenges (gone_at);
  `,
];

/** The advisory lock every migrating instance takes (any constant; "auth" in ASCII). */
const MIGRATION_LOCK = 0x61757468;

/**
 * Creates the schema if needed and applies the migrations not applied yet, all in one
 * transaction that first takes a transaction-level advisory lock (released by its commit or
 * rollback, so a crashed migrator never leaves it held); returns how many it applied.
 */
export async function migrate(sql: Sql, schema: string | undefined): Promise<number> {
  return await sql.begin(READ_COMMITTED, async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    if (schema) await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const [row] = await tx`SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations`;
    const current = (row?.version as number | undefined) ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `The database schema is at version ${current}, newer than this server knows ` +
          `(${MIGRATIONS.length}): run the newer server`,
      );
    }
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await tx.unsafe(MIGRATIONS[version - 1]!);
      await tx`INSERT INTO schema_migrations (version) VALUES (${version})`;
    }
    return MIGRATIONS.length - current;
  });
}

/**
 * An SQL identifier, quoted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quoteIdent } from "./pg_migrations.ts";
 * assert.equal(quoteIdent('a"b'), '"a""b"');
 * ```
 */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
