/**
 * The PostgreSQL connection pool (`npm:postgres`, porsager's driver: pure JavaScript over
 * `node:net`/`node:tls`, so it runs in Deno with `--allow-net --allow-env` alone, no native
 * addon, no `--allow-ffi`; it pipelines queries, reconnects by itself and has LISTEN/NOTIFY
 * built in), and the one wrapper that turns any failure of the database into
 * `StoreUnavailableError` (503 `unavailable`), as `kvCall` does for Deno KV.
 *
 * @module
 */
import postgres from "postgres";
import { ApiError, ContendedError, InvalidCursorError, StoreUnavailableError } from "../errors.ts";

/** The driver's client (a pool); `Sql` in its own types. */
export type Sql = postgres.Sql;
/** A transaction's client. */
export type Tx = postgres.TransactionSql;

/** How to reach the database. */
export interface PgOptions {
  /** `DATABASE_URL`: TLS parameters (`sslmode`, `sslrootcert=system`) are the driver's. */
  readonly url: string;
  /** `DATABASE_POOL_SIZE`: most connections (LISTEN holds one more). */
  readonly poolSize: number;
  /**
   * The schema that holds the tables (created if missing); default `public`. Each test run
   * takes its own, so runs on one database never collide.
   */
  readonly schema?: string;
}

/** Seconds a new connection may take before a query fails (then 503, and the next one retries). */
const CONNECT_TIMEOUT_S = 5;

/** Opens the pool (lazily: the first query connects). */
export function openPool(options: PgOptions): Sql {
  return postgres(options.url, {
    max: options.poolSize,
    connect_timeout: CONNECT_TIMEOUT_S,
    idle_timeout: 60,
    // Seconds before reconnecting after a failure: the driver's own grows to 20 s, and every
    // request of an outage would wait that long for its 503. Bounded at half a second.
    backoff: (retries: number) => Math.min(0.025 * 2 ** retries, 0.5),
    // `CREATE ... IF NOT EXISTS` notices are not news.
    onnotice: () => {},
    connection: {
      application_name: "auth-server",
      ...(options.schema ? { search_path: options.schema } : {}),
    },
  });
}

/**
 * How every transaction of the stores begins (`sql.begin(READ_COMMITTED, ...)`). Each race here
 * is settled by READ COMMITTED's re-check of a row after a wait (stamp checks, `ON CONFLICT DO
 * UPDATE`, `FOR UPDATE`); at a database or role default of REPEATABLE READ or SERIALIZABLE those
 * races would be 40001 errors, 503 `busy`. Said in `BEGIN`, not as a connection parameter:
 * PgBouncer refuses unknown startup parameters. Single statements run at the default, which
 * `openPgStores` checks and warns about.
 */
export const READ_COMMITTED = "isolation level read committed";

/** SQLSTATEs of text PostgreSQL refuses to hold: a NUL byte, a byte sequence not UTF-8. */
const BAD_INPUT_STATES = new Set(["22021", "22P05"]);

/** SQLSTATEs of a transaction PostgreSQL aborted to keep it consistent: lost a race. */
const RACE_STATES = new Set(["40001", "40P01"]);

/**
 * Runs one store operation; any failure of the database (refused or lost connection, timeout,
 * a server shutting down) becomes `StoreUnavailableError`. A serialization failure or deadlock
 * becomes `ContendedError` (503 `busy`). The pool reconnects by itself on the next call.
 */
export async function pgCall<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw asPgStoreError(what, err);
  }
}

/** The error a database failure during `what` is reported as. */
export function asPgStoreError(what: string, err: unknown): Error {
  if (
    err instanceof ContendedError || err instanceof StoreUnavailableError ||
    err instanceof InvalidCursorError || err instanceof ApiError
  ) {
    return err;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && BAD_INPUT_STATES.has(code)) {
    // Text PostgreSQL cannot hold (a NUL character): the request's fault, never an outage (a
    // 503 and a store_failed line would page someone); Deno KV stores such text as it is.
    return new ApiError("bad_request", "the request holds a character that cannot be stored");
  }
  if (typeof code === "string" && RACE_STATES.has(code)) {
    return new ContendedError(`Database transaction lost a race (${what})`);
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new StoreUnavailableError(`store failed (${what}): ${reason.slice(0, 200)}`, {
    cause: err,
  });
}

/** A record as JSON text for a `jsonb` parameter (`${json(x)}::text::jsonb`). */
export function json(value: unknown): string {
  return JSON.stringify(value);
}
