/**
 * A fresh checkout for tests that run the project as a newcomer would: a copy of this working
 * tree without `.git`, `node_modules`, `.env`, `data/`, `dist/` and KV files (what `git clone`
 * gives, including uncommitted work; `git` itself is not among the suite's permissions).
 */
import { join } from "node:path";

const SKIPPED = new Set([".git", "node_modules", "data", "dist", ".env"]);

/** Copies the checkout at `from` into the existing directory `to`. */
export async function copyCheckout(from: string, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    if (SKIPPED.has(entry.name) || /\.kv(-shm|-wal)?$/.test(entry.name)) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) {
      await Deno.mkdir(target);
      await copyCheckout(source, target);
    } else if (entry.isFile) {
      await Deno.copyFile(source, target);
    }
  }
}
