/**
 * The first hour, second round (issue 25), with real processes and the commands a newcomer types:
 * typos in `.env` are said, the tutorial's own `.env` (a name as issuer) works, an issuer change
 * is said once, a CLI run elsewhere refuses instead of making an empty store, the example service
 * verifies the quickstart's HS256 tokens, a move to EdDSA keeps sessions, and the small points.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createResourceApp } from "../../examples/resource_service.ts";
import { importHmacKey } from "../../src/middleware/require_auth.ts";
import { ROOT, runDeno } from "../helpers/server_process.ts";
import {
  decodeJwt,
  freePort,
  getJson,
  PASSWORD,
  postJson,
  readDotEnv,
  runServerToExit,
  runTask,
  scratchDir,
  startServer,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const BOOTSTRAP = "bootstrap password 1";
const STRONG_SECRET = "k8Jq2vX7mN4pR1sT6wY9zA3bC5dE0fG2hL7nQ4uV8x";

/**
 * Runs examples/resource_service.ts as its doc comment says (`deno run --allow-net --allow-env`)
 * with `env`, waits for its first line, runs `use`, and stops it.
 */
async function runExample<T>(
  env: Record<string, string>,
  use: () => Promise<T>,
): Promise<T & { line: string }> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--config",
      join(ROOT, "deno.json"),
      "--allow-net",
      "--allow-env",
      join(ROOT, "examples/resource_service.ts"),
    ],
    env,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const line = await Promise.race([
      reader.read().then((r) => r.value ?? ""),
      new Promise<string>((resolve) =>
        timer = setTimeout(() => resolve("(no line in 20 s)"), 20_000)
      ),
    ]);
    return { ...(await use()), line };
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGTERM");
    } catch {
      // it exited by itself
    }
    await reader.cancel();
    await child.status;
  }
}

test(".env typos and wrong case: one warning each, naming the closest setting", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  // The issue's four, after a first start wrote the file.
  await withServer({ dir, env: { BOOTSTRAP_PASSWORD: BOOTSTRAP } }, () => Promise.resolve());
  const written = Deno.readTextFileSync(join(dir, ".env"));
  Deno.writeTextFileSync(
    join(dir, ".env"),
    `${written}TOKEN_TLL=1m\nJWT_ALGO=RS256\nPROT=10003\nport=10004\nDENO_KV_ACCESS_TOKEN=x\n`,
  );
  const expected = [
    "Warning: .env sets TOKEN_TLL, which is not a setting and changes nothing; did you mean TOKEN_TTL?",
    "Warning: .env sets JWT_ALGO, which is not a setting and changes nothing; did you mean JWT_ALG?",
    "Warning: .env sets PROT, which is not a setting and changes nothing; did you mean PORT?",
    "Warning: .env sets port, which is not a setting and changes nothing: names are case-sensitive; did you mean PORT?",
  ];
  await withServer({ dir }, (server) => {
    const warnings = server.stderr().split("\n").filter((l) => l.startsWith("Warning: .env"));
    assert.deepEqual(warnings.slice(0, 4), expected, server.stderr());
    assert.equal(warnings.length, 5, server.stderr());
    assert.match(warnings[4]!, /DENO_KV_ACCESS_TOKEN, .*the closest setting is \w+/);
    return Promise.resolve();
  });
  // The CLIs read the same file and say the same.
  const listed = await runTask("user", dir, ["list"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(
    listed.stderr.split("\n").filter((l) => l.startsWith("Warning: .env")).slice(0, 4),
    expected,
  );
});

test("the tutorial's .env (ISSUER=your identity) starts, signs and verifies; discovery says why not", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  Deno.writeTextFileSync(join(dir, ".env"), `SECRET_KEY=${STRONG_SECRET}\nISSUER=your identity\n`);
  await withServer({ dir, env: { BOOTSTRAP_PASSWORD: BOOTSTRAP } }, async (server) => {
    const said = server.stderr().split("\n").filter((l) => /discovery/.test(l));
    assert.equal(said.length, 1, server.stderr());
    assert.match(
      said[0]!,
      /^Auth server listening .*issuer your identity; OAuth and OpenID discovery are off: they need a URL issuer/,
    );
    const login = await postJson(`${server.url}/login`, { user_id: "admin", password: BOOTSTRAP });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(decodeJwt(login.body.token).payload.iss, "your identity");
    assert.equal((await getJson(`${server.url}/me`, login.body.token)).status, 200);
    // Verified elsewhere with the secret and that issuer, as the tutorial's PyJWT did.
    const app = createResourceApp(
      "http://unused.invalid",
      "your identity",
      await importHmacKey(STRONG_SECRET),
    );
    const mine = await app.request("/orders/mine", {
      headers: { Authorization: `Bearer ${login.body.token}` },
    });
    assert.equal(mine.status, 200, await mine.clone().text());
    for (
      const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
    ) {
      const answer = await getJson(`${server.url}${path}`);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.body.code, "not_found");
      assert.match(
        answer.body.error,
        /discovery needs an issuer that is a URL.*"your identity".*set ISSUER/,
      );
    }
    assert.equal((await getJson(`${server.url}/.well-known/jwks.json`)).status, 200);
  });
});

test("a bad value in the environment at first start leaves no .env behind", async () => {
  await using scratch = await scratchDir();
  for (const env of [{ ISSUER: "your identity: prod" }, { PORT: "http" }, { TOKEN_TTL: "soon" }]) {
    const result = await runServerToExit(scratch.path, env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr.trim(), /^Configuration error: /);
    assert.doesNotMatch(result.stderr, /Wrote \.env/);
    assert.throws(() => Deno.statSync(join(scratch.path, ".env")), Deno.errors.NotFound);
  }
  // The tutorial's issuer in the environment is written, and read back exactly.
  const ok = await startServer({ dir: scratch.path, env: { ISSUER: "your identity" } });
  try {
    assert.equal(readDotEnv(scratch.path).ISSUER, "your identity");
  } finally {
    assert.equal((await ok.stop()).code, 0, ok.stderr());
  }
});

test("a new issuer (PORT changed, no ISSUER) is said once at start; the same one is not", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  const first = freePort();
  const second = freePort();
  const notes = async (port: number) =>
    await withServer(
      { dir, port, env: { BOOTSTRAP_PASSWORD: BOOTSTRAP } },
      (server) =>
        Promise.resolve(
          server.stderr().split("\n").filter((l) => l.startsWith("Note: the issuer")),
        ),
    );
  assert.deepEqual(await notes(first), [], "a new store");
  assert.deepEqual(await notes(first), [], "the same issuer");
  const changed = await notes(second);
  assert.equal(changed.length, 1);
  assert.equal(
    changed[0],
    `Note: the issuer is now http://localhost:${second}, and this store last served ` +
      `http://localhost:${first}: tokens issued before are refused everywhere (their iss claim ` +
      `is http://localhost:${first}); to keep them, set ISSUER=http://localhost:${first} ` +
      "(every instance must share one ISSUER)",
  );
  assert.deepEqual(await notes(second), [], "said once");
});

test("CLIs: refused outside the server's directory; a created .env or store is named", async () => {
  await using elsewhere = await scratchDir();
  Deno.removeSync(join(elsewhere.path, "deno.json")); // a directory that is not a clone
  for (
    const [task, args] of [["user", ["list"]], ["client", ["list"]], ["keys", ["list"]]] as const
  ) {
    const result = await runTask(task, elsewhere.path, [...args]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stderr.trim(),
      `Error: no .env or deno.json in ${elsewhere.path}: run this command in the auth server's ` +
        `directory (${
          ROOT.replace(/\/$/, "")
        }), where its .env and store are, so that it acts on ` +
        "the server's users",
    );
    assert.deepEqual([...Deno.readDirSync(elsewhere.path)], [], "nothing written");
  }
  // `deno run <clone>/src/cli/user_cli.ts` from elsewhere, as in the issue: the same refusal.
  const byPath = await runDeno(elsewhere.path, [
    "run",
    "--config",
    join(ROOT, "deno.json"),
    "-A",
    join(ROOT, "src/cli/user_cli.ts"),
    "list",
  ]);
  assert.equal(byPath.code, 1, byPath.stderr);
  assert.match(byPath.stderr, /^Error: no \.env or deno\.json in /);

  // In a clone (deno.json, no .env yet): the first line names what it creates.
  await using clone = await scratchDir();
  const added = await runTask("user", clone.path, ["add", "ada"], { stdin: `${PASSWORD}\n` });
  assert.equal(added.code, 0, added.stderr);
  assert.equal(
    added.stderr.split("\n")[0],
    `Created ${join(clone.path, ".env")} (mode 0600, a new random SECRET_KEY) and a new, empty ` +
      `store ${join(clone.path, "data", "auth.kv")}; a server started in ${clone.path} uses them`,
  );
  const again = await runTask("user", clone.path, ["list"]);
  assert.doesNotMatch(again.stderr, /Created/, "nothing new the second time");
  // A new KV_PATH is a new store: said too.
  const other = await runTask("user", clone.path, ["list"], {
    env: { KV_PATH: "./data/other.kv" },
  });
  assert.equal(
    other.stderr.split("\n")[0],
    `Created a new, empty store ${join(clone.path, "data", "other.kv")}; a server started in ` +
      `${clone.path} uses it`,
  );
});

test("the example service verifies the quickstart's HS256 tokens with SECRET_KEY, or says why not", async () => {
  await using scratch = await scratchDir();
  await withServer(
    { dir: scratch.path, env: { BOOTSTRAP_PASSWORD: BOOTSTRAP } },
    async (server) => {
      const secret = readDotEnv(scratch.path).SECRET_KEY!;
      const issuer = `http://localhost:${server.port}`;
      const login = await postJson(`${server.url}/login`, {
        user_id: "admin",
        password: BOOTSTRAP,
      });
      const bearer = { Authorization: `Bearer ${login.body.token}` };
      const port = freePort();
      const example = await runExample(
        { SECRET_KEY: secret, AUTH_URL: server.url, ISSUER: issuer, PORT: String(port) },
        async () => {
          const mine = await fetch(`http://127.0.0.1:${port}/orders/mine`, { headers: bearer });
          return { status: mine.status, body: await mine.json() };
        },
      );
      assert.equal(
        example.line.trim(),
        `Resource service listening on http://127.0.0.1:${port} (verifying HS256 tokens with SECRET_KEY, issuer ${issuer})`,
      );
      assert.equal(example.status, 200, JSON.stringify(example.body));
      assert.deepEqual(example.body, { owner: "admin", role: "admin" });

      // Without the secret it verifies from the JWKS, and an HS256 token's 401 names the fix.
      const jwksOnly = createResourceApp(server.url, issuer);
      const refused = await jwksOnly.request("/orders/mine", { headers: bearer });
      assert.equal(refused.status, 401);
      const body = await refused.json();
      assert.equal(body.code, "invalid_token");
      assert.match(
        body.error,
        /^token algorithm HS256 is not accepted here \(only EdDSA, ES256, RS256\): .*SECRET_KEY.*asymmetric JWT_ALG/,
      );
      assert.match(
        refused.headers.get("WWW-Authenticate")!,
        /error_description="token algorithm HS256/,
      );
    },
  );
});

test("HS256 -> EdDSA as docs/keys.md says: old access tokens refused, sessions refresh to EdDSA", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  const port = freePort();
  const before = await withServer(
    { dir, port, env: { BOOTSTRAP_PASSWORD: BOOTSTRAP } },
    async (s) => (await postJson(`${s.url}/login`, { user_id: "admin", password: BOOTSTRAP })).body,
  );
  assert.equal(decodeJwt(before.token).header.alg, "HS256");
  const env = Deno.readTextFileSync(join(dir, ".env"));
  Deno.writeTextFileSync(join(dir, ".env"), env.replace(/^JWT_ALG=HS256$/m, "JWT_ALG=EdDSA"));
  await withServer({ dir, port }, async (server) => {
    assert.match(server.stderr(), /listening on .* \(EdDSA,/);
    const old = await getJson(`${server.url}/me`, before.token);
    assert.equal(old.status, 401, "an HS256 access token is refused from the switch");
    const refreshed = await postJson(`${server.url}/refresh`, {
      refresh_token: before.refresh_token,
    });
    assert.equal(refreshed.status, 200, "the session survives: no new login");
    assert.equal(decodeJwt(refreshed.body.token).header.alg, "EdDSA");
    assert.equal((await getJson(`${server.url}/me`, refreshed.body.token)).status, 200);
    const jwks = await getJson(`${server.url}/.well-known/jwks.json`);
    // The EdDSA access-token key, and the RS256 key ID tokens are signed with under EdDSA.
    assert.deepEqual(
      jwks.body.keys.map((k: { alg: string; token_use: string }) => [k.alg, k.token_use]),
      [["EdDSA", "access"], ["RS256", "id_token"]],
    );
  });
});

test("small points: where a password comes from, one shutdown per Ctrl-C, keys list and rotate", async (t) => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  await t.step("user add with an empty stdin says where a password comes from", async () => {
    const empty = await runTask("user", dir, ["add", "bob"], { stdin: "" });
    assert.equal(empty.code, 5, empty.stderr);
    assert.match(
      empty.stderr,
      /^Error: No password on stdin: pipe one line \(echo '<password>' \| deno task user add bob\), or run the command in a terminal to be asked for it$/m,
    );
    assert.doesNotMatch(empty.stderr, /at least 8 characters/);
  });
  await t.step("user add bob mypassword123: the password is not an argument", async () => {
    const extra = await runTask("user", dir, ["add", "bob", "mypassword123"]);
    assert.equal(extra.code, 2, extra.stderr);
    assert.match(
      extra.stderr,
      /^Error: Expected exactly one <user_id>; the password is not an argument: it comes from a hidden prompt on a terminal, or one line of stdin/m,
    );
  });
  await t.step("two SIGINTs (one Ctrl-C under deno task) log one shutdown", async () => {
    const server = await startServer({ dir, env: { BOOTSTRAP_PASSWORD: BOOTSTRAP } });
    // A request in flight (its body still arriving) keeps the server draining while the second
    // signal arrives, as the task runner's forwarded copy of a Ctrl-C does.
    let finishBody!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"user_id": "admin", "password": "'));
        finishBody = () => {
          controller.enqueue(new TextEncoder().encode(`${BOOTSTRAP}"}`));
          controller.close();
        };
      },
    });
    const inFlight = fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    await new Promise((r) => setTimeout(r, 300));
    server.process.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 200));
    server.process.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 200));
    finishBody();
    assert.equal((await inFlight).status, 200, "the request in flight finishes");
    await server.process.status; // it stops by itself once that request is done
    const status = await server.stop(); // already exited: this only collects its output
    assert.equal(status.code, 0, server.stderr());
    const shutdowns = server.stdout().split("\n").filter((l) => /"shutdown"/.test(l));
    assert.equal(shutdowns.length, 1, server.stdout());
  });
  await t.step(
    "keys list: the active key signs now; rotate with a next key says what to do",
    async () => {
      const env = { JWT_ALG: "EdDSA" };
      const first = await runTask("keys", dir, ["rotate"], { env });
      assert.equal(first.code, 0, first.stderr);
      const listed = await runTask("keys", dir, ["list"], { env });
      const active = listed.stdout.split("\n").find((l) => / active /.test(l));
      assert.ok(active, listed.stdout);
      assert.match(active, / now /, "LAST SIGNED of the signing key");
      const next = await runTask("keys", dir, ["rotate"], { env });
      assert.equal(next.code, 0, next.stderr);
      const kid = next.stdout.match(/key (\S+): published now/)?.[1];
      assert.ok(kid, next.stdout);
      const again = await runTask("keys", dir, ["rotate"], { env });
      assert.equal(again.code, 4, again.stderr);
      assert.match(
        again.stderr,
        new RegExp(
          `^Error: ${kid} is already published as the next EdDSA key .*: run keys rotate again once it signs, or cancel it first with deno task keys retire ${kid} --force$`,
          "m",
        ),
      );
      const cancelled = await runTask("keys", dir, ["retire", kid, "--force"], { env });
      assert.equal(cancelled.code, 0, cancelled.stderr);
    },
  );
});
