/**
 * "Runs wherever Deno runs": a fresh checkout whose native argon2 addon cannot load (its `.node`
 * files replaced by files that are not shared objects, as on a platform with no binding) still
 * adds users, starts, and logs in, on Web Crypto, with no change by the user; and
 * `PASSWORD_HASHER=native` refuses to start there with one line.
 *
 * The checkout is a copy of this working tree without `.git`, `node_modules`, `.env`, `data/`
 * and `dist/` (what `git clone` gives, including uncommitted work), and the commands are the
 * real `deno install` and `deno task ...` run in it.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import {
  freePort,
  postJson,
  ROOT,
  runDeno as deno,
  startTaskIn,
} from "../helpers/server_process.ts";
import { PASSWORD } from "./support.ts";
import { copyCheckout } from "../helpers/checkout_copy.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

/** Every argon2 `.node` file under `dir`. */
async function* argon2Bindings(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* argon2Bindings(path);
    else if (entry.isFile && /argon2.*\.node$/.test(entry.name)) yield path;
  }
}

test("fresh checkout with an unloadable argon2 addon: user add, start and /login on Web Crypto", async () => {
  const dir = await Deno.makeTempDir({ prefix: "auth-portable-" });
  try {
    await copyCheckout(ROOT, dir);
    const installed = await deno(dir, ["install"]);
    assert.equal(installed.code, 0, installed.stderr);

    // node_modules files are hard links into Deno's global cache: remove the link, then write
    // a new file, so the cache itself is never touched.
    const replaced: string[] = [];
    for await (const path of argon2Bindings(join(dir, "node_modules"))) {
      await Deno.remove(path);
      await Deno.writeTextFile(path, "not a shared object\n");
      replaced.push(relative(dir, path));
    }
    assert.ok(replaced.length >= 1, "the install has at least one argon2 binding to break");
    // The same files in this checkout's node_modules share the cache's inodes: still ELF.
    for (const path of replaced) {
      const original = await Deno.open(join(ROOT, path)).catch(() => undefined);
      if (!original) continue; // installed there only for another platform
      const magic = new Uint8Array(4);
      await original.read(magic);
      original.close();
      assert.deepEqual([...magic], [0x7f, 0x45, 0x4c, 0x46], `${path} in the cache is intact`);
    }

    const added = await deno(dir, ["task", "user", "add", "ada"], { stdin: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.stderr);
    assert.doesNotMatch(added.stderr, /at file:|Error:/, "no stack trace");

    const refused = await deno(dir, ["task", "start"], { env: { PASSWORD_HASHER: "native" } });
    assert.equal(refused.code, 1);
    const refusal = refused.stderr.split("\n").filter((l) => l.trim() && !/^\S*Task\b/.test(l));
    assert.equal(refusal.length, 1, refused.stderr);
    assert.match(refusal[0]!, /PASSWORD_HASHER is native but @node-rs\/argon2 cannot load/);

    const port = freePort();
    const server = await startTaskIn(dir, "start", { HOST: "127.0.0.1", PORT: String(port) });
    try {
      const stderr = server.stderr();
      const listening = stderr.split("\n").find((l) => l.includes("listening on"));
      assert.ok(listening, stderr);
      assert.match(listening, /argon2id via Web Crypto, native addon not loaded/);
      assert.doesNotMatch(stderr, /at file:|Cannot find native binding/, "silent fallback");

      const url = `http://127.0.0.1:${port}/login`;
      const ok = await postJson(url, { user_id: "ada", password: PASSWORD });
      assert.equal(ok.status, 200);
      assert.equal(typeof ok.body.token, "string");
      const wrong = await postJson(url, { user_id: "ada", password: PASSWORD + "x" });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.code, "invalid_credentials");
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
