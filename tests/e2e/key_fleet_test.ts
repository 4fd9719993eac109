/**
 * Issue 13, end to end: two server processes on one KV file share one key set (the first
 * imports an old `KEYS_PATH` file, the second's own file is not read), follow `keys rotate`
 * without a signal, publish the new key ahead and switch to it by themselves, keep accepting
 * tokens of the old key, and `keys retire` refuses to remove it before TOKEN_TTL has passed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateStoredKey, writeKeyFile } from "../../src/crypto/keys.ts";
import {
  decodeJwt,
  dirWithUsers,
  getJson,
  loginOk,
  me,
  type PublishedJwk,
  readDotEnv,
  runServerToExit,
  runTask,
  startServer,
  verifyWithJwks,
  waitFor,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const LIMITS = { LOGIN_LIMIT_PER_CLIENT: "1000/1m", LOGIN_LIMIT_PER_ACCOUNT: "1000/1m" };

interface StatedJwk extends PublishedJwk {
  readonly state?: string;
  readonly activates_at?: string;
  readonly token_use?: string;
}

/** The published keys that sign access tokens (under EdDSA an RS256 key signs ID tokens). */
async function jwks(server: { url: string }): Promise<StatedJwk[]> {
  return (await allJwks(server)).filter((k) => k.token_use === "access");
}

async function allJwks(server: { url: string }): Promise<StatedJwk[]> {
  const answer = await getJson(`${server.url}/.well-known/jwks.json`);
  assert.equal(answer.status, 200);
  return answer.body.keys;
}

async function signingKid(server: { url: string }): Promise<string> {
  return decodeJwt((await loginOk(server, "ada")).token).header.kid;
}

test("a fleet of two: one key set, rotation without a signal, publish-ahead, safe retire", async (t) => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const dir = scratch.path;
  // An old-style key file where the first server looks (the default KEYS_PATH): imported once.
  const oldKey = await generateStoredKey("EdDSA", new Date());
  await Deno.mkdir(join(dir, "data"), { recursive: true });
  await writeKeyFile(join(dir, "data", "keys.json"), { version: 1, keys: [oldKey] });
  // The second server has a key file of its own, which must not be used.
  const strayKey = await generateStoredKey("EdDSA", new Date());
  await writeKeyFile(join(dir, "data", "stray-keys.json"), { version: 1, keys: [strayKey] });
  const env = { ...LIMITS, JWT_ALG: "EdDSA", ISSUER: "https://auth.fleet.test" };

  await withServer({ dir, env }, async (first) => {
    globalThis.addEventListener("unhandledrejection", () => {});
    assert.match(first.stderr(), /Imported 1 signing key\(s\) from \.\/data\/keys\.json/);
    const second = await startServer({
      dir,
      env: { ...env, KEYS_PATH: "./data/stray-keys.json" },
    });
    try {
      await t.step("both publish the same key set: the imported key", async () => {
        assert.match(second.stderr(), /KEYS_PATH \(\.\/data\/stray-keys\.json\) is not read/);
        const [a, b] = [await allJwks(first), await allJwks(second)];
        assert.deepEqual(a, b);
        assert.deepEqual(a.map((k) => [k.kid, k.token_use, k.state]), [
          [oldKey.kid, "access", "active"],
          // The first server added the ID-token key once; the second found it.
          [a[1]!.kid, "id_token", "active"],
        ]);
        assert.equal(a[1]!.alg, "RS256");
        assert.equal(await signingKid(first), oldKey.kid);
        assert.equal(await signingKid(second), oldKey.kid);
      });

      const oldTokens = [(await loginOk(first, "ada")).token, (await loginOk(second, "ada")).token];
      let newKid = "";
      let activatesAt = 0;

      await t.step("keys rotate: both list the next key within 2 s, no signal", async () => {
        const rotated = await runTask("keys", dir, ["rotate"], {
          env: { JWT_ALG: "EdDSA", KEY_PUBLISH_AHEAD: "4s" },
        });
        assert.equal(rotated.code, 0, rotated.stderr);
        const done = Date.now();
        for (const server of [first, second]) {
          await waitFor(
            "the next key in the JWKS",
            async () => (await jwks(server)).length === 2,
            2000,
          );
        }
        assert.ok(Date.now() - done < 2000, `listed after ${Date.now() - done} ms`);
        const [a, b] = [await jwks(first), await jwks(second)];
        assert.deepEqual(a, b, "one key set on both");
        const next = a.find((k) => k.kid !== oldKey.kid)!;
        assert.equal(next.state, "next");
        assert.equal(a.find((k) => k.kid === oldKey.kid)!.state, "active");
        newKid = next.kid!;
        activatesAt = Date.parse(next.activates_at!);
        assert.ok(activatesAt - done > 2000 && activatesAt - done <= 4000, "4 s ahead");
        // Published but not signing yet.
        assert.equal(await signingKid(first), oldKey.kid);
        assert.equal(await signingKid(second), oldKey.kid);
      });

      await t.step("after KEY_PUBLISH_AHEAD both sign with the new key by themselves", async () => {
        await new Promise((r) => setTimeout(r, Math.max(0, activatesAt - Date.now())));
        for (const server of [first, second]) {
          // Logins take a moment under load; each instance switches on its own clock.
          await waitFor("the new kid", async () => (await signingKid(server)) === newKid, 2000);
        }
        const states = Object.fromEntries((await jwks(first)).map((k) => [k.kid, k.state]));
        assert.deepEqual(states, { [oldKey.kid]: "retiring", [newKid]: "active" });
        const token = (await loginOk(second, "ada")).token;
        assert.equal(verifyWithJwks(token, { keys: await jwks(first) }, env.ISSUER).sub, "ada");
      });

      await t.step("tokens of the old key still pass /me on both", async () => {
        for (const token of oldTokens) {
          assert.equal(decodeJwt(token).header.kid, oldKey.kid);
          assert.equal((await me(first, token)).status, 200);
          assert.equal((await me(second, token)).status, 200);
        }
      });

      await t.step("retiring the old key before TOKEN_TTL has passed is refused", async () => {
        const refused = await runTask("keys", dir, ["retire", oldKey.kid], {
          env: { JWT_ALG: "EdDSA" },
        });
        assert.equal(refused.code, 4, refused.stderr);
        assert.match(refused.stderr, /may still be live until/);
        const listed = await runTask("keys", dir, ["list", "--json"], {
          env: { JWT_ALG: "EdDSA" },
        });
        assert.equal(listed.code, 0, listed.stderr);
        const rows = JSON.parse(listed.stdout) as { kid: string; state: string; use: string }[];
        assert.deepEqual(
          rows.filter((r) => r.use === "access").map((r) => [r.kid, r.state]),
          [[oldKey.kid, "retiring"], [newKid, "active"]],
        );
        assert.equal((await jwks(second)).length, 2, "nothing was removed");
      });

      await t.step("--force retires it, says what breaks, and both drop it", async () => {
        const forced = await runTask("keys", dir, ["retire", oldKey.kid, "--force"], {
          env: { JWT_ALG: "EdDSA" },
        });
        assert.equal(forced.code, 0, forced.stderr);
        assert.match(forced.stderr, /fail verification \(401\)/);
        for (const server of [first, second]) {
          await waitFor("the old key gone", async () => (await jwks(server)).length === 1, 2000);
          assert.equal((await me(server, oldTokens[0]!)).status, 401);
        }
      });
    } finally {
      const status = await second.stop();
      assert.equal(status.code, 0, second.stderr());
    }
  });
});

test("a SECRET_KEY that does not decrypt the stored keys: one line, exit 1, nothing written", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const dir = scratch.path;
  const env = { JWT_ALG: "EdDSA" };
  await withServer({ dir, env }, async () => {}); // stores a key under the .env SECRET_KEY
  const original = readDotEnv(dir).SECRET_KEY!;
  const listed = async () => {
    const result = await runTask("keys", dir, ["list", "--json"], { env });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };
  const before = await listed();
  const wrong = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
  const refused = await runServerToExit(dir, { ...env, SECRET_KEY: wrong });
  assert.equal(refused.code, 1, refused.stderr);
  const lines = refused.stderr.trim().split("\n");
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(lines[0]!, /^Configuration error: SECRET_KEY does not decrypt signing key /);
  assert.ok(!refused.stderr.includes(wrong) && !refused.stderr.includes(original));
  // Review 1, C1: neither a server nor `keys rotate` of another alg writes under a wrong secret.
  const otherAlg = await runServerToExit(dir, { JWT_ALG: "ES256", SECRET_KEY: wrong });
  assert.equal(otherAlg.code, 1, otherAlg.stderr);
  assert.equal(await listed(), before, "the server wrote nothing");
  assert.match(
    otherAlg.stderr,
    /^Configuration error: SECRET_KEY does not decrypt any signing key/,
  );
  const rotated = await runTask("keys", dir, ["rotate", "--alg", "ES256"], {
    env: { ...env, SECRET_KEY: wrong },
  });
  assert.equal(rotated.code, 1, rotated.stderr);
  assert.equal(await listed(), before, "keys rotate wrote nothing");
  // With the old secret in PREVIOUS_SECRET_KEYS it starts, and says how to re-encrypt.
  const rotatedEnv = { ...env, SECRET_KEY: wrong, PREVIOUS_SECRET_KEYS: original };
  await withServer({ dir, env: rotatedEnv }, (server) => {
    assert.match(server.stderr(), /deno task keys reencrypt/);
    return Promise.resolve();
  });
  const reencrypted = await runTask("keys", dir, ["reencrypt"], { env: rotatedEnv });
  assert.equal(reencrypted.code, 0, reencrypted.stderr);
  // The access-token key and the RS256 ID-token key (JWT_ALG is EdDSA).
  assert.match(reencrypted.stdout, /Re-encrypted 2 signing key/);
  await withServer({ dir, env: { ...env, SECRET_KEY: wrong } }, async (server) => {
    assert.equal((await loginOk(server, "ada")).token_type, "Bearer");
  });
  const oldOnly = await runServerToExit(dir, env);
  assert.equal(oldOnly.code, 1, "the old secret alone no longer decrypts");
});

test("a SECRET_KEY change mid-fleet: the old-secret instance verifies and publishes new keys and drains", async () => {
  // Review 1, C2, with real processes: A on the old secret, C on the new one (the old one in
  // PREVIOUS_SECRET_KEYS), then `keys rotate` with C's settings and no publish-ahead.
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const dir = scratch.path;
  const env = { ...LIMITS, JWT_ALG: "EdDSA", ISSUER: "https://auth.fleet.test" };
  await withServer({ dir, env }, async (a) => {
    const oldSecret = readDotEnv(dir).SECRET_KEY!;
    const newEnv = {
      ...env,
      SECRET_KEY: "the-new-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
      PREVIOUS_SECRET_KEYS: oldSecret,
    };
    const oldKid = await signingKid(a);
    await withServer({ dir, env: newEnv }, async (c) => {
      assert.equal((await getJson(`${a.url}/readyz`)).status, 200);
      const rotated = await runTask("keys", dir, ["rotate"], {
        env: { ...newEnv, KEY_PUBLISH_AHEAD: "0" },
      });
      assert.equal(rotated.code, 0, rotated.stderr);
      await waitFor("C signs with the new key", async () => (await signingKid(c)) !== oldKid, 3000);
      const token = (await loginOk(c, "ada")).token;
      const newKid = decodeJwt(token).header.kid;
      await waitFor("A publishes the new key", async () => (await jwks(a)).length === 2, 3000);
      assert.deepEqual((await jwks(a)).map((k) => k.kid), [oldKid, newKid]);
      const accepted = await me(a, token);
      assert.equal(accepted.status, 200, `A accepts C's token: ${JSON.stringify(accepted.body)}`);
      // A cannot sign with the new key: it keeps its own, and asks to be drained.
      assert.equal(await signingKid(a), oldKid);
      assert.equal((await me(c, (await loginOk(a, "ada")).token)).status, 200);
      const ready = await getJson(`${a.url}/readyz`);
      assert.equal(ready.status, 503, JSON.stringify(ready.body));
      assert.equal(ready.body.code, "keys_out_of_date");
      assert.equal((await getJson(`${c.url}/readyz`)).status, 200);
      assert.match(a.stdout(), /keys_follow_failed/);
    });
  });
});
