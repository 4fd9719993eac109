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

/**
 * The `target_session_attrs` values a one-host URL may carry: both make the driver refuse a server
 * that cannot take writes (the server writes on every login). The driver rejects libpq's `any`.
 */
export const SESSION_ATTRS = ["read-write", "primary"];

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
 * assert.match(databaseUrlProblem("postgres://h1:5432,h2:5432/auth")!, /several hosts/);
 * ```
 */
export function databaseUrlProblem(value: string): string | undefined {
  const hosts = authorityHosts(value);
  if (hosts !== undefined && hosts.includes(",")) return MULTI_HOST_PROBLEM;
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== "postgres:" && url.protocol !== "postgresql:")) {
    return "must be a PostgreSQL URL such as postgres://user:password@host:5432/database";
  }
  if (url.hostname === "") return "must name a host, as in postgres://user@host:5432/database";
  const sslmode = url.searchParams.get("sslmode");
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
    return `has sslmode=${sslmode.slice(0, 20)}: use one of ${SSL_MODES.join(", ")}`;
  }
  const attrs = url.searchParams.get("target_session_attrs");
  if (attrs !== null && !SESSION_ATTRS.includes(attrs)) {
    return `has target_session_attrs=${attrs.slice(0, 20)}: the server writes, so use ` +
      `${SESSION_ATTRS.join(" or ")}, or leave it out`;
  }
  return undefined;
}

/**
 * Why a URL naming several hosts (`postgres://h1:5432,h2:5432/db`, libpq's failover list) is
 * refused. The driver (`npm:postgres` 3.4.9) parses such a list, but choosing the writable host
 * is where it goes wrong, each seen against real servers (a primary, its streaming standby, a
 * server with `default_transaction_read_only=on`; docs/scaling.md, "Several hosts in one URL"):
 * - `target_session_attrs=read-write` checks `default_transaction_read_only` alone, so it takes a
 *   hot standby (libpq also checks `in_hot_standby`); every write then fails
 *   (porsager/postgres#815);
 * - `primary` checks `in_hot_standby` alone, so it takes a read-only server;
 * - when no listed host is up or acceptable (the failover window), the connection attempt
 *   loops from host to host with no pause and the query never settles, `connect_timeout` or
 *   not: `retries` is never incremented (porsager/postgres#1174, fixes unmerged);
 * - reported upstream, not tried here: a host that times out fails the query instead of moving
 *   on (porsager/postgres#988).
 * A store that hangs or writes to a standby is worse than a refusal at start.
 */
export const MULTI_HOST_PROBLEM = "names several hosts, which this server does not support: " +
  "its driver (npm:postgres 3.4) may pick a hot standby for target_session_attrs=read-write " +
  "and waits forever when no listed host can take writes (porsager/postgres#815, #1174); " +
  "name one address that always reaches the primary (a virtual IP, PgBouncer or HAProxy in " +
  "front of the cluster, or the managed service's writer endpoint)";

/**
 * The host list of a URL (between `//` and the path, after any `user@`), percent-decoded as the
 * driver decodes it (so `h1%2Ch2` is two hosts there too).
 */
function authorityHosts(value: string): string | undefined {
  const start = value.indexOf("://");
  if (start < 0) return undefined;
  const authority = value.slice(start + 3).split(/[/?#]/)[0]!;
  const hosts = authority.slice(authority.lastIndexOf("@") + 1);
  try {
    return decodeURIComponent(hosts);
  } catch {
    return hosts;
  }
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
