/**
 * Opening the Deno KV store `KV_PATH` names (creating a file store's directory), with a failure
 * turned into one {@link ConfigError} line that says what to do.
 *
 * @module
 */
import { dirname } from "node:path";
import { ConfigError } from "../config/config_error.ts";
import type { Config } from "../config/parse_config.ts";
import { protectStoreFiles } from "./store_file_modes.ts";

/** Is `path` a KV Connect URL or `:memory:` rather than a file. */
export function isFileStore(path: string): boolean {
  return path !== ":memory:" && !/^https?:\/\//.test(path);
}

/**
 * Opens `config.kvPath`. A file store's files are made 0600 in a 0700 directory
 * (`store_file_modes.ts`). A path the process may not write (the tasks allow `./data` only), or
 * one that cannot be created, opened or made private, throws a {@link ConfigError} naming
 * `KV_PATH`.
 */
export async function openKvStore(config: Pick<Config, "kvPath">): Promise<Deno.Kv> {
  const path = config.kvPath;
  try {
    if (!isFileStore(path)) return await Deno.openKv(path);
    await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await protectStoreFiles(path);
    const kv = await Deno.openKv(path);
    try {
      // The -wal and -shm files exist now: SQLite gave them the database's mode; made sure.
      await protectStoreFiles(path);
    } catch (err) {
      kv.close();
      throw err;
    }
    return kv;
  } catch (err) {
    throw new ConfigError("KV_PATH", storeProblem(path, err));
  }
}

/**
 * Why a store cannot be opened, in words, with what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storeProblem } from "./open_kv.ts";
 * const line = storeProblem("/etc/auth.kv", new Deno.errors.NotCapable("Requires write access"));
 * assert.match(line, /not allowed.*\.\/data/);
 * ```
 */
export function storeProblem(path: string, err: unknown): string {
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    const why = err instanceof Deno.errors.NotCapable
      ? "the tasks allow writing only under ./data"
      : "the operating system refused access";
    return `is ${path}, which this process is not allowed to write (${why}): ` +
      "use a path under ./data, such as ./data/auth.kv";
  }
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  return `is ${path}, which cannot be opened (${message}): ` +
    "use a writable file path under ./data, :memory: or a KV Connect URL";
}
