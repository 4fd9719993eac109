/**
 * Issue 2, end to end: a fresh machine with no `.env`, the first-start bootstrap, the user CLI,
 * every `/login` status over real TCP, configuration errors, `/me` and the probes.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import jwt from "npm:jsonwebtoken@^9.0.2";
import {
  assertError,
  cliOk,
  decodeJwt,
  getJson,
  loginOk,
  me,
  PASSWORD,
  postJson,
  readDotEnv,
  request,
  runServerToExit,
  runTask,
  scratchDir,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const BOOTSTRAP = "bootstrap-Pa55word-e2e";

test("first run: .env, bootstrap admin, CLI users, every /login status over TCP", async (t) => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  await withServer({
    dir,
    env: {
      BOOTSTRAP_PASSWORD: BOOTSTRAP,
      LOGIN_LIMIT_PER_ACCOUNT: "3/15m",
      LOGIN_LIMIT_PER_CLIENT: "1000/1m",
    },
  }, async (server) => {
    const envFile = join(dir, ".env");
    const vars = readDotEnv(dir);
    const secret = vars.SECRET_KEY ?? "";
    // No ISSUER in .env: the issuer follows the address served.
    const issuer = `http://localhost:${server.port}`;

    await t.step(
      ".env is written with mode 0600, a random SECRET_KEY, and one line says so",
      () => {
        const info = Deno.statSync(envFile);
        assert.equal((info.mode ?? 0) & 0o777, 0o600);
        assert.ok(new TextEncoder().encode(secret).length >= 32, "SECRET_KEY has >= 32 bytes");
        if (/^[A-Za-z0-9_-]+$/.test(secret)) {
          assert.ok(Buffer.from(secret, "base64url").length >= 32, "encodes >= 32 random bytes");
        }
        assert.ok(new Set(secret).size >= 16, "SECRET_KEY looks random");
        assert.equal(vars.ISSUER, undefined, ".env leaves ISSUER to follow the port");
        assert.match(server.stderr(), new RegExp(`issuer ${issuer}; set ISSUER`));
        const aboutEnv = server.stderr().split("\n").filter((line) => line.includes(".env"));
        assert.equal(aboutEnv.length, 1, `one line about .env:\n${server.stderr()}`);
        assert.ok(!server.stderr().includes(secret) && !server.stdout().includes(secret));
      },
    );

    await t.step(
      "empty store: admin is created with BOOTSTRAP_PASSWORD (not printed)",
      async () => {
        const pair = await loginOk(server, "admin", BOOTSTRAP);
        assert.equal(decodeJwt(pair.token).payload.role, "admin", "the first role is used");
        const withUser = await loginOk(server, "admin", BOOTSTRAP, "user");
        assert.equal(decodeJwt(withUser.token).payload.role, "user");
        assert.ok(!server.stderr().includes(BOOTSTRAP) && !server.stdout().includes(BOOTSTRAP));
      },
    );

    await t.step("deno task user add (password on stdin) while the server runs", async () => {
      const added = await cliOk(dir, ["add", "ada", "--role", "user", "--role", "editor"], {
        stdin: `${PASSWORD}\n`,
      });
      assert.ok(!added.stdout.includes(PASSWORD) && !added.stderr.includes(PASSWORD));
      await cliOk(dir, ["add", "bob"], { stdin: `${PASSWORD}\n` });
      await cliOk(dir, ["add", "carol"], { stdin: `${PASSWORD}\n` });
    });

    await t.step("login over TCP; jsonwebtoken verifies with SECRET_KEY and ISSUER", async () => {
      const pair = await loginOk(server, "ada");
      assert.equal(pair.expires_in, 1800);
      const verified = jwt.verify(pair.token, secret, {
        algorithms: ["HS256"],
        issuer,
        complete: true,
      }) as unknown as { header: Record<string, unknown>; payload: Record<string, unknown> };
      const { header, payload } = verified;
      assert.equal(header.alg, "HS256");
      assert.equal(header.typ, "JWT");
      assert.equal(typeof header.kid, "string");
      assert.ok((header.kid as string).length > 0);
      assert.equal(payload.sub, "ada");
      assert.equal(payload.role, "user", "without role, the user's first role");
      assert.equal(payload.iss, issuer);
      assert.equal(typeof payload.jti, "string");
      assert.equal(typeof payload.sid, "string");
      const iat = payload.iat as number;
      const exp = payload.exp as number;
      assert.equal(exp - iat, 1800);
      assert.ok(Math.abs(iat - Date.now() / 1000) < 120, "iat is now");
      for (
        const claim of Object.keys(payload).filter((k) =>
          !["sub", "role", "iat", "exp", "iss", "jti", "sid", "aud"].includes(k)
        )
      ) {
        assert.fail(`unexpected claim ${claim}`);
      }
      assert.throws(() => jwt.verify(pair.token, secret + "x", { algorithms: ["HS256"], issuer }));
      assert.throws(() =>
        jwt.verify(pair.token, secret, { algorithms: ["HS256"], issuer: "https://other.example" })
      );
      const editor = await loginOk(server, "ada", PASSWORD, "editor");
      const editorClaims = jwt.verify(editor.token, secret, { algorithms: ["HS256"], issuer });
      assert.equal((editorClaims as Record<string, unknown>).role, "editor");
      assert.notEqual(decodeJwt(editor.token).payload.jti, payload.jti);
      assert.notEqual(editor.refresh_token, pair.refresh_token);
    });

    await t.step("400: missing user_id, missing password, malformed JSON", async () => {
      const missing = await postJson(`${server.url}/login`, { password: PASSWORD });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, "user_id is required");
      assert.deepEqual(Object.keys(missing.body).sort(), ["code", "error"]);
      assert.match(missing.headers.get("Content-Type") ?? "", /^application\/json/);

      const noPassword = await postJson(`${server.url}/login`, { user_id: "ada" });
      assert.equal(noPassword.status, 400);
      assert.equal(noPassword.body.error, "password is required");

      const malformed = await request(`${server.url}/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: '{"user_id": "ada",',
      });
      assertError(malformed, 400);

      const wrongType = await postJson(`${server.url}/login`, { user_id: 7, password: PASSWORD });
      assertError(wrongType, 400);
    });

    await t.step(
      "401: one body for an unknown user, a wrong password, a disabled user",
      async () => {
        await cliOk(dir, ["disable", "bob"]);
        const unknown = await postJson(`${server.url}/login`, {
          user_id: "nobody",
          password: PASSWORD,
        });
        const wrong = await postJson(`${server.url}/login`, {
          user_id: "ada",
          password: "not the password",
        });
        const disabled = await postJson(`${server.url}/login`, {
          user_id: "bob",
          password: PASSWORD,
        });
        for (const answer of [unknown, wrong, disabled]) {
          assert.equal(answer.status, 401);
          assert.deepEqual(answer.body, {
            error: "invalid credentials",
            code: "invalid_credentials",
          });
        }
        await cliOk(dir, ["enable", "bob"]);
        await loginOk(server, "bob");
      },
    );

    await t.step("403: a role the user does not hold", async () => {
      const answer = await postJson(`${server.url}/login`, {
        user_id: "ada",
        password: PASSWORD,
        role: "admin",
      });
      assertError(answer, 403);
    });

    await t.step("413: a body over 16 KiB", async () => {
      const answer = await postJson(`${server.url}/login`, {
        user_id: "ada",
        password: "x".repeat(20 * 1024),
      });
      assertError(answer, 413);
    });

    await t.step("415: not JSON", async () => {
      const answer = await request(`${server.url}/login`, {
        method: "POST",
        headers: { "Content-Type": "text/plain" },
        body: JSON.stringify({ user_id: "ada", password: PASSWORD }),
      });
      assertError(answer, 415);
      const form = await request(`${server.url}/login`, {
        method: "POST",
        body: new URLSearchParams({ user_id: "ada", password: PASSWORD }),
      });
      assertError(form, 415);
    });

    await t.step("429 with Retry-After past LOGIN_LIMIT_PER_ACCOUNT=3/15m", async () => {
      for (let i = 0; i < 3; i++) {
        const answer = await postJson(`${server.url}/login`, {
          user_id: "carol",
          password: "nope",
        });
        assert.equal(answer.status, 401, `attempt ${i + 1}`);
      }
      const locked = await postJson(`${server.url}/login`, {
        user_id: "carol",
        password: PASSWORD,
      });
      assertError(locked, 429);
      const retryAfter = Number(locked.headers.get("Retry-After"));
      assert.ok(Number.isInteger(retryAfter), `Retry-After: ${locked.headers.get("Retry-After")}`);
      assert.ok(retryAfter >= 1 && retryAfter <= 900, `Retry-After ${retryAfter}`);
      await loginOk(server, "ada"); // another account is not locked
    });

    await t.step("GET /me: 200 with claims and roles; 401 with WWW-Authenticate", async () => {
      const pair = await loginOk(server, "ada");
      const ok = await me(server, pair.token);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.claims.sub, "ada");
      assert.equal(ok.body.claims.role, "user");
      assert.equal(ok.body.claims.iss, issuer);
      assert.deepEqual(ok.body.roles, ["user", "editor"]);

      const none = await getJson(`${server.url}/me`);
      assertError(none, 401);
      assert.match(none.headers.get("WWW-Authenticate") ?? "", /^Bearer\b/);

      const forged = jwt.sign(
        decodeJwt(pair.token).payload,
        "another-secret-0123456789abcdefghij",
        {
          algorithm: "HS256",
          keyid: decodeJwt(pair.token).header.kid,
        },
      );
      for (const token of ["not-a-jwt", forged, pair.token.slice(0, -4) + "AAAA"]) {
        const refused = await me(server, token);
        assertError(refused, 401, "invalid_token");
        assert.match(refused.headers.get("WWW-Authenticate") ?? "", /^Bearer\b/);
        assert.match(refused.headers.get("WWW-Authenticate") ?? "", /error="invalid_token"/);
      }
    });

    await t.step("/healthz, /readyz, and a JSON 404", async () => {
      const health = await getJson(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      const ready = await getJson(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      const missing = await getJson(`${server.url}/no/such/path`);
      assertError(missing, 404);
      assert.match(missing.headers.get("Content-Type") ?? "", /^application\/json/);
    });

    await t.step("user CLI: exit codes and list --json", async () => {
      const cases: [string, string[], string | undefined, number][] = [
        ["duplicate id", ["add", "ada"], `${PASSWORD}\n`, 4],
        ["empty password", ["add", "dora"], "\n", 5],
        ["short password", ["add", "dora"], "short\n", 5],
        ["control character in id", ["add", "do\u0007ra"], `${PASSWORD}\n`, 5],
        ["remove unknown", ["remove", "ghost"], undefined, 3],
        ["passwd unknown", ["passwd", "ghost"], `${PASSWORD}\n`, 3],
        ["no command", [], undefined, 2],
        ["unknown command", ["frobnicate"], undefined, 2],
        ["add without id", ["add"], `${PASSWORD}\n`, 2],
        ["unknown option", ["list", "--colour"], undefined, 2],
      ];
      for (const [name, args, stdin, code] of cases) {
        const result = await runTask("user", dir, args, stdin === undefined ? {} : { stdin });
        assert.equal(result.code, code, `${name}: ${result.stderr}`);
        assert.ok(result.stderr.trim().length > 0, `${name} explains itself on stderr`);
      }
      const listed = await cliOk(dir, ["list", "--json"]);
      assert.ok(!listed.stdout.includes("$argon2"), "no hash in the listing");
      const users = JSON.parse(listed.stdout) as { user_id: string; roles: string[] }[];
      assert.ok(Array.isArray(users));
      const byId = new Map(users.map((u) => [u.user_id, u]));
      assert.deepEqual(byId.get("ada")?.roles, ["user", "editor"]);
      assert.deepEqual(byId.get("admin")?.roles, ["admin", "user"]);
      assert.ok(!byId.has("dora"), "refused users were not created");
      assert.equal(users.length, 4);
    });
  });
});

test("first run without BOOTSTRAP_PASSWORD: a random admin password, printed once", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  const password = await withServer({ dir }, async (server) => {
    // The password is base64url: it may begin with "-" or "_", so take the word as printed.
    const match = /with password (\S{12,}) \(shown once/.exec(server.stderr());
    assert.ok(match?.[1], `a generated password on stderr:\n${server.stderr()}`);
    const generated = match[1];
    assert.equal(server.stderr().split(generated).length - 1, 1, "printed exactly once");
    assert.ok(!server.stdout().includes(generated), "not in the JSON log");
    const pair = await loginOk(server, "admin", generated);
    assert.equal(decodeJwt(pair.token).payload.role, "admin");
    const wrong = await postJson(`${server.url}/login`, {
      user_id: "admin",
      password: "x" + generated,
    });
    assert.equal(wrong.status, 401);
    return generated;
  });
  await withServer({ dir }, async (server) => {
    assert.ok(!server.stderr().includes(password), "not printed again on the next start");
    assert.ok(!server.stderr().includes(".env"), "the existing .env is kept silently");
    await loginOk(server, "admin", password);
  });
});

test("configuration errors: exit 1 and one stderr line naming the variable", async (t) => {
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
  const cases: [string, Record<string, string>, string, boolean][] = [
    ["PORT=abc", { PORT: "abc" }, "PORT", true],
    ["SECRET_KEY=changeme", { SECRET_KEY: "changeme" }, "SECRET_KEY", false],
    ["SECRET_KEY under 32 bytes", { SECRET_KEY: "Zq8#r2!Lm4" }, "SECRET_KEY", false],
    ["JWT_ALG=HS512", { JWT_ALG: "HS512" }, "JWT_ALG", true],
  ];
  for (const [name, env, variable, withEnvFile] of cases) {
    await t.step(name, async () => {
      await using scratch = await scratchDir();
      const dir = scratch.path;
      if (withEnvFile) {
        await Deno.writeTextFile(join(dir, ".env"), `SECRET_KEY=${secret}\n`, { mode: 0o600 });
      }
      const result = await runServerToExit(dir, env);
      assert.equal(result.code, 1, result.stderr);
      const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
      assert.equal(lines.length, 1, `one line:\n${result.stderr}`);
      assert.ok(lines[0]!.includes(variable), `names ${variable}: ${lines[0]}`);
      assert.ok(!/\bat .*\.ts:\d+/.test(result.stderr), "no stack trace");
      assert.equal(result.stdout, "");
    });
  }
});

test("the environment wins over .env", async () => {
  await using scratch = await scratchDir();
  const dir = scratch.path;
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
  await Deno.writeTextFile(
    join(dir, ".env"),
    `SECRET_KEY=${secret}\nISSUER=https://from-dotenv.example\nTOKEN_TTL=30m\n`,
    { mode: 0o600 },
  );
  await withServer({
    dir,
    env: { ISSUER: "https://from-env.example", BOOTSTRAP_PASSWORD: BOOTSTRAP },
  }, async (server) => {
    const pair = await loginOk(server, "admin", BOOTSTRAP);
    const claims = jwt.verify(pair.token, secret, {
      algorithms: ["HS256"],
      issuer: "https://from-env.example",
    });
    assert.equal((claims as Record<string, unknown>).sub, "admin");
  });
});
