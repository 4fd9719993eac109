/**
 * `deno task compile` builds dist/auth-server; the binary must start, read `.env` from its
 * working directory at run time, and issue a token that verifies with that file's secret.
 *
 * The binary grants no FFI (see docs/operations.md, "Single binary"), so it must say it hashes passwords with
 * Web Crypto, and `PASSWORD_HASHER=native` must refuse to start it.
 *
 * Building needs Deno's runtime base (denort), which `deno compile` downloads; this project's
 * machines cannot reach that download, so the test runs only when DENORT_BIN points at one.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import jwt from "npm:jsonwebtoken@^9.0.2";
import { join } from "node:path";
import { freePort, postJson, ROOT, runTask, taskCommand } from "../helpers/server_process.ts";
import { ENV, needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO, ENV);
// Read only where permitted: `deno test` as typed grants no env access (the test is then skipped).
const denort =
  Deno.permissions.querySync({ name: "env", variable: "DENORT_BIN" }).state === "granted"
    ? Deno.env.get("DENORT_BIN")
    : undefined;
const SKIP_REASON = "skipped: DENORT_BIN is not set. deno compile needs Deno's runtime base " +
  "(denort), which this machine cannot download; set DENORT_BIN to a denort binary to build " +
  "and run dist/auth-server";
if (!denort) console.log(SKIP_REASON);

test({
  name: `compile: the single binary starts, reads .env at run time and issues a token${
    denort ? "" : ` (${SKIP_REASON})`
  }`,
  ignore: !denort,
  async fn() {
    const { env, args } = taskCommand("compile");
    const build = await new Deno.Command("deno", {
      args,
      cwd: ROOT,
      env: { ...env, DENORT_BIN: denort! },
    }).output();
    assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
    const binary = join(ROOT, "dist", "auth-server");
    const size = (await Deno.stat(binary)).size;
    console.log(`dist/auth-server: ${(size / 1024 / 1024).toFixed(1)} MiB`);

    const dir = await Deno.makeTempDir({ prefix: "auth-binary-" });
    const secret = "binary-test-secret-" + crypto.randomUUID();
    await Deno.writeTextFile(join(dir, ".env"), `SECRET_KEY=${secret}\nISSUER=https://bin.test\n`);
    const added = await runTask("user", dir, ["add", "ada"], { stdin: "correct horse battery\n" });
    assert.equal(added.code, 0, added.stderr);
    const refused = await new Deno.Command(binary, {
      cwd: dir,
      env: { PASSWORD_HASHER: "native" },
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(refused.code, 1);
    assert.match(new TextDecoder().decode(refused.stderr), /PASSWORD_HASHER is native but/);

    const port = freePort();
    const server = new Deno.Command(binary, {
      cwd: dir,
      env: { HOST: "127.0.0.1", PORT: String(port) },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    const reading = (async () => {
      for await (const chunk of server.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
    })();
    try {
      let res: Awaited<ReturnType<typeof postJson>> | undefined;
      for (let i = 0; i < 100 && !res; i++) {
        try {
          res = await postJson(`http://127.0.0.1:${port}/login`, {
            user_id: "ada",
            password: "correct horse battery",
          });
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(res?.status, 200);
      const claims = jwt.verify(res!.body.token, secret, {
        algorithms: ["HS256"],
        issuer: "https://bin.test",
      }) as jwt.JwtPayload;
      assert.equal(claims.sub, "ada");
      // The document's generator is a dynamic import: the binary must hold it too.
      const doc = await fetch(`http://127.0.0.1:${port}/openapi.json`);
      assert.equal((await doc.json()).openapi, "3.1.0");
      assert.match(stderr, /argon2id via Web Crypto, native addon not permitted/);
    } finally {
      server.kill("SIGTERM");
      const status = await server.status;
      await reading;
      assert.equal(status.code, 0);
    }
  },
});
