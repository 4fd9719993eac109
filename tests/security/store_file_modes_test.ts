/**
 * Issue 23 item 6: the KV store holds argon2id hashes, sessions and encrypted keys. Its files
 * (`auth.kv`, `-wal`, `-shm`) are 0600 in a 0700 directory, whoever created the directory, and
 * files an earlier version left 0644 are tightened at the next start.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openKvStore } from "../../src/store/open_kv.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE);
const posix = Deno.build.os !== "windows";

async function mode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

test({
  name: "a new store: 0600 files in a 0700 directory, even in a directory made 0755",
  ignore: !posix,
  async fn() {
    const root = await Deno.makeTempDir();
    try {
      const dir = join(root, "data");
      await Deno.mkdir(dir);
      await Deno.chmod(dir, 0o755); // made by hand (mkdir data), as a user would
      const path = join(dir, "auth.kv");
      const kv = await openKvStore({ kvPath: path });
      try {
        await kv.set(["x"], "y"); // writes through the WAL
        assert.equal(await mode(dir), 0o700);
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          assert.equal(await mode(file), 0o600, file);
        }
      } finally {
        kv.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

test({
  name: "a store an earlier version left readable is tightened at the next start",
  ignore: !posix,
  async fn() {
    const root = await Deno.makeTempDir();
    try {
      const dir = join(root, "data");
      await Deno.mkdir(dir);
      const path = join(dir, "auth.kv");
      const old = await Deno.openKv(path);
      await old.set(["x"], "y");
      // As 2.19.0 left it: the files as SQLite made them under umask 022, still open.
      for (const file of [path, `${path}-wal`, `${path}-shm`]) await Deno.chmod(file, 0o644);
      await Deno.chmod(dir, 0o755);
      const kv = await openKvStore({ kvPath: path });
      try {
        assert.equal((await kv.get(["x"])).value, "y", "the data is kept");
        assert.equal(await mode(dir), 0o700);
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          assert.equal(await mode(file), 0o600, file);
        }
      } finally {
        kv.close();
        old.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
