/**
 * The one place a store is opened, for the server and every CLI: PostgreSQL when `DATABASE_URL`
 * is set, else Deno KV at `KV_PATH`. Nothing else opens an engine.
 *
 * @module
 */
import type { Config } from "../config/parse_config.ts";
import { kvStores } from "./kv_stores.ts";
import { openKvStore } from "./open_kv.ts";
import type { OpenedStores } from "./stores.ts";

/** What {@link openStores} reads of the configuration. */
export type StoreConfig = Pick<Config, "kvPath" | "databaseUrl" | "databasePoolSize">;

/**
 * Opens the configured store. A store that cannot be opened (a KV path it may not write, a
 * malformed or unreachable database) throws a `ConfigError` naming the variable: the callers
 * print it as one line and exit 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStores } from "./open_stores.ts";
 * const opened = await openStores({ kvPath: ":memory:", databaseUrl: undefined, databasePoolSize: 1 });
 * assert.equal(opened.engine, "Deno KV (:memory:)");
 * assert.equal(await opened.stores.users.hasUsers(), false);
 * await opened.close();
 * ```
 */
export async function openStores(config: StoreConfig): Promise<OpenedStores> {
  if (config.databaseUrl !== undefined) {
    // Loaded only when asked for: a KV install never loads the driver.
    const { openPgStores } = await import("./pg_stores.ts");
    return await openPgStores({ url: config.databaseUrl, poolSize: config.databasePoolSize });
  }
  const kv = await openKvStore(config);
  return {
    stores: kvStores(kv),
    engine: `Deno KV (${config.kvPath})`,
    close: () => Promise.resolve(kv.close()),
  };
}
