/**
 * The KV store's files hold argon2id hashes, sessions and encrypted signing keys: only the
 * server's user may read them. SQLite gives its `-wal` and `-shm` files the mode of the database
 * file, so the database is created 0600 before SQLite opens it (no window in which it is
 * readable), and files an earlier version left 0644 are tightened. The directory is made 0700
 * too, unless it is the working directory (not ours to close).
 *
 * @module
 */
import { dirname, normalize } from "node:path";

/** The store file and the two SQLite writes beside it. */
export function storeFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/**
 * Creates the store file 0600 if it does not exist, and makes every store file that exists
 * 0600 and its directory 0700. Throws what the file system throws (the caller words it).
 * Does nothing on Windows, which has no such modes.
 */
export async function protectStoreFiles(path: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const dir = dirname(path);
  // Named without a cwd call: the tasks grant no read of the working directory itself.
  if (normalize(dir) !== "." && ((await Deno.stat(dir)).mode! & 0o077) !== 0) {
    await Deno.chmod(dir, 0o700);
  }
  try {
    // An empty file is an empty SQLite database: SQLite opens it as its own.
    (await Deno.open(path, { createNew: true, write: true, mode: 0o600 })).close();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  for (const file of storeFiles(path)) {
    const info = await Deno.stat(file).catch(() => undefined);
    if (info && (info.mode! & 0o077) !== 0) await Deno.chmod(file, 0o600);
  }
}
