/**
 * `DATABASE_URL` and `DATABASE_POOL_SIZE`: which PostgreSQL database holds every piece of state,
 * checked once at start so a typo is one line and exit code 1, never a retry loop. The URL is
 * handed to the driver (`npm:postgres`) as it is: the driver reads its TLS parameters itself
 * (`sslmode`, `sslrootcert=system`); only values the driver would misread are refused here.
 *
 * @module
 */

/** The `sslmode` values libpq knows; the driver verifies the certificate for the `verify-*` ones. */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** Connections one instance may hold at most, unless `DATABASE_POOL_SIZE` says otherwise. */
export const DEFAULT_POOL_SIZE = 10;

/**
 * The problem with a `DATABASE_URL`, in words (completing "DATABASE_URL ..."), or `undefined`
 * when it is usable. Never repeats the password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { databaseUrlProblem } from "./database_url.ts";
 * assert.equal(databaseUrlProblem("postgres://app:pw@db.internal:5432/auth?sslmode=verify-full"), undefined);
 * assert.match(databaseUrlProblem("mysql://db/auth")!, /postgres:\/\//);
 * assert.match(databaseUrlProblem("postgres://db/auth?sslmode=maybe")!, /sslmode/);
 * ```
 */
export function databaseUrlProblem(value: string): string | undefined {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== "postgres:" && url.protocol !== "postgresql:")) {
    return "must be a PostgreSQL URL such as postgres://user:password@host:5432/database";
  }
  if (url.hostname === "") return "must name a host, as in postgres://user@host:5432/database";
  const sslmode = url.searchParams.get("sslmode");
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
    return `has sslmode=${sslmode.slice(0, 20)}: use one of ${SSL_MODES.join(", ")}`;
  }
  return undefined;
}

/**
 * A database URL as it may be shown (logs, the start-up line): engine, host, port and database,
 * never the user's password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeDatabaseUrl } from "./database_url.ts";
 * const shown = describeDatabaseUrl("postgres://app:hunter2@db:6432/auth?sslmode=require");
 * assert.equal(shown, "PostgreSQL at db:6432/auth (sslmode=require)");
 * assert(!shown.includes("hunter2"));
 * ```
 */
export function describeDatabaseUrl(value: string): string {
  const url = new URL(value);
  const sslmode = url.searchParams.get("sslmode");
  const database = decodeURIComponent(url.pathname.slice(1)) || "(default database)";
  return `PostgreSQL at ${url.hostname}:${url.port || "5432"}/${database}` +
    (sslmode ? ` (sslmode=${sslmode})` : "");
}
