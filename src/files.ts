/**
 * File writes that several processes can race on safely: a new file appears whole or not at
 * all, replacements are atomic renames, and read-modify-write runs under a lock file.
 *
 * @module
 */

const LOCK_WAIT_MS = 10_000;
const STALE_LOCK_MS = 30_000;

/**
 * Creates `path` with `text` only if it does not exist: written to a temporary file first and
 * hard-linked into place, so a concurrent reader never sees it half-written. False when another
 * process created it first.
 */
export async function createFileExclusive(
  path: string,
  text: string,
  mode = 0o600,
): Promise<boolean> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temporary, text, { mode });
  try {
    await Deno.link(temporary, path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
}

/** Replaces `path` atomically (temporary file, then rename). */
export async function replaceFile(path: string, text: string, mode = 0o600): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temporary, text, { mode });
  await Deno.rename(temporary, path);
}

/**
 * Runs `task` while holding `<path>.lock` (created exclusively; a lock older than 30 s is taken
 * to be left by a dead process and removed). Waits up to 10 s for it.
 */
export async function withFileLock<T>(path: string, task: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await Deno.writeTextFile(lock, String(Deno.pid), { createNew: true, mode: 0o600 });
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      const age = await Deno.stat(lock).then(
        (s) => Date.now() - (s.mtime?.getTime() ?? 0),
        () => 0,
      );
      if (age > STALE_LOCK_MS) await Deno.remove(lock).catch(() => {});
      else if (Date.now() > deadline) throw new Error(`Timed out waiting for ${lock}`);
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  try {
    return await task();
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}
