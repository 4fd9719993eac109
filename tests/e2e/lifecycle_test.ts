/**
 * Issue 3, end to end: refresh rotation and reuse detection, the grace window, concurrent
 * refreshes, logout, password changes, asymmetric keys and their rotation, and two server
 * processes sharing one KV file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertError,
  cliOk,
  decodeJwt,
  dirWithUsers,
  freePort,
  getJson,
  loginOk,
  me,
  PASSWORD,
  type PublishedJwk,
  refresh,
  refreshOk,
  request,
  runTask,
  startServer,
  verifyWithJwks,
  waitFor,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

/** Generous client limits: every request of a test comes from 127.0.0.1. */
const LIMITS = {
  LOGIN_LIMIT_PER_CLIENT: "1000/1m",
  REFRESH_LIMIT_PER_CLIENT: "1000/1m",
};

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

function assertRefused(answer: { status: number; body: unknown }, what: string): void {
  assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.body)}`);
  const body = answer.body as { code?: unknown; error?: unknown };
  assert.equal(typeof body.code, "string", what);
  assert.equal(typeof body.error, "string", what);
}

async function logout(server: { url: string }, token: string, scope?: string) {
  return await request(`${server.url}/logout${scope ? `?scope=${scope}` : ""}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
  });
}

test("lifecycle (HS256, REFRESH_GRACE_SECONDS=0)", async (t) => {
  await using scratch = await dirWithUsers([
    { id: "ada", roles: ["user"] },
    { id: "bob", roles: ["user"] },
    { id: "cy", roles: ["user"] },
  ]);
  const dir = scratch.path;
  const port = freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = { ...LIMITS, REFRESH_GRACE_SECONDS: "0", ISSUER: issuer };
  await withServer({ dir, port, env }, async (server) => {
    await t.step("a spent refresh token presented again revokes the session", async () => {
      const first = await loginOk(server, "ada");
      const second = await refreshOk(server, first.refresh_token);
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.notEqual(second.token, first.token);
      assert.equal(decodeJwt(second.token).payload.sid, decodeJwt(first.token).payload.sid);
      assert.equal((await me(server, second.token)).status, 200);

      const reused = await refresh(server, first.refresh_token);
      assertError(reused, 401, "refresh_token_reused");

      assertRefused(await refresh(server, second.refresh_token), "the newest refresh token");
      for (const token of [second.token, first.token]) {
        const answer = await me(server, token);
        assertError(answer, 401, "invalid_token");
        assert.match(answer.headers.get("WWW-Authenticate") ?? "", /error="invalid_token"/);
      }
      // Another session of the same user is untouched.
      assert.equal((await me(server, (await loginOk(server, "ada")).token)).status, 200);
    });

    await t.step("unknown and malformed refresh tokens: 401, never 5xx", async () => {
      assertRefused(await refresh(server, "A".repeat(43)), "unknown token");
      assertRefused(await refresh(server, "not a token"), "malformed token");
      const missing = await request(`${server.url}/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      });
      assertError(missing, 400);
    });

    await t.step("20 concurrent refreshes of one token: exactly one 200", async () => {
      const pair = await loginOk(server, "ada");
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => refresh(server, pair.refresh_token)),
      );
      const statuses = answers.map((a) => a.status);
      assert.ok(statuses.every((s) => s < 500), `no 5xx: ${statuses}`);
      assert.equal(statuses.filter((s) => s === 200).length, 1, `one 200: ${statuses}`);
      assert.equal(statuses.filter((s) => s === 401).length, 19, `others 401: ${statuses}`);
      const codes = answers.filter((a) => a.status === 401).map((a) => a.body.code);
      for (const code of codes) {
        assert.ok(
          ["refresh_conflict", "refresh_token_reused", "session_revoked"].includes(code),
          code,
        );
      }
      // Requests that lost the commit race get refresh_conflict and end nothing; one that read
      // the token after the winner committed presented a spent token: reuse ends the session.
      const winner = answers.find((a) => a.status === 200)!.body;
      const after = await refresh(server, winner.refresh_token);
      if (codes.includes("refresh_token_reused")) assertRefused(after, "winner after a replay");
      else {assert.equal(
          after.status,
          200,
          `winner after pure conflicts: ${JSON.stringify(after.body)}`,
        );}
    });

    await t.step("logout ends the session", async () => {
      const pair = await loginOk(server, "bob");
      assert.equal((await me(server, pair.token)).status, 200);
      const out = await logout(server, pair.token);
      assert.equal(out.status, 204);
      assertError(await me(server, pair.token), 401, "invalid_token");
      assertRefused(await refresh(server, pair.refresh_token), "refresh after logout");
      const again = await logout(server, pair.token);
      assert.equal(again.status, 401, "a logged-out token cannot log out again");
    });

    await t.step("POST /logout?scope=global ends every session of the user", async () => {
      const one = await loginOk(server, "bob");
      const two = await loginOk(server, "bob");
      const other = await loginOk(server, "cy");
      assert.notEqual(decodeJwt(one.token).payload.sid, decodeJwt(two.token).payload.sid);
      const out = await logout(server, one.token, "global");
      assert.equal(out.status, 204);
      for (const pair of [one, two]) {
        assertError(await me(server, pair.token), 401, "invalid_token");
        assertRefused(await refresh(server, pair.refresh_token), "refresh after global logout");
      }
      assert.equal((await me(server, other.token)).status, 200, "other users keep theirs");
      const bad = await logout(server, other.token, "everything");
      assertError(bad, 400);
    });

    await t.step("user passwd (CLI) ends the user's sessions", async () => {
      const pair = await loginOk(server, "cy");
      const newPassword = "a brand new passphrase";
      await cliOk(dir, ["passwd", "cy"], { stdin: `${newPassword}\n` });
      assertError(await me(server, pair.token), 401, "invalid_token");
      assertRefused(await refresh(server, pair.refresh_token), "refresh after passwd");
      const old = await request(`${server.url}/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user_id: "cy", password: PASSWORD }),
      });
      assertError(old, 401, "invalid_credentials");
      await loginOk(server, "cy", newPassword);
    });

    await t.step("HS256: the JWKS is empty; discovery names the issuer", async () => {
      const jwks = await getJson(`${server.url}/.well-known/jwks.json`);
      assert.equal(jwks.status, 200);
      assert.deepEqual(jwks.body, { keys: [] });
      assert.ok(jwks.headers.get("Cache-Control"), "Cache-Control set");
      // No ID tokens under HS256, so no OpenID provider document; RFC 8414's is there.
      const oidc = await getJson(`${server.url}/.well-known/openid-configuration`);
      assert.equal(oidc.status, 404);
      const discovery = await getJson(`${server.url}/.well-known/oauth-authorization-server`);
      assert.equal(discovery.status, 200);
      assert.equal(discovery.body.issuer, issuer);
      assert.equal(discovery.body.jwks_uri, `${issuer}/.well-known/jwks.json`);
    });

    await t.step("two server processes on one KV file behave as one", async () => {
      const other = await startServer({ dir, env });
      let status: Deno.CommandStatus;
      try {
        const first = await loginOk(server, "ada");
        const second = await refreshOk(other, first.refresh_token);
        assert.equal((await me(server, second.token)).status, 200, "B's token works on A");
        const reused = await refresh(server, first.refresh_token);
        assertError(reused, 401, "refresh_token_reused");
        assertError(await me(other, second.token), 401, "invalid_token");
        assertError(await me(server, second.token), 401, "invalid_token");

        const pair = await loginOk(server, "ada");
        assert.equal((await me(other, pair.token)).status, 200, "A's token works on B");
        assert.equal((await logout(other, pair.token)).status, 204);
        assertError(await me(server, pair.token), 401, "invalid_token");
        assertRefused(await refresh(server, pair.refresh_token), "refresh on A after logout on B");
      } finally {
        status = await other.stop();
      }
      assert.equal(status.code, 0, other.stderr());
    });
  });
});

test("grace window (REFRESH_GRACE_SECONDS=10): the parent gets the current token back", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const dir = scratch.path;
  await withServer({ dir, env: { ...LIMITS, REFRESH_GRACE_SECONDS: "10" } }, async (server) => {
    const first = await loginOk(server, "ada");
    const second = await refreshOk(server, first.refresh_token);
    const replay = await refreshOk(server, first.refresh_token);
    assert.equal(replay.refresh_token, second.refresh_token, "converged: the same token");
    assert.notEqual(replay.token, second.token, "with a fresh access token");
    assert.equal((await me(server, replay.token)).status, 200);
    assert.equal(decodeJwt(replay.token).payload.sid, decodeJwt(first.token).payload.sid);

    // The current token rotates as usual; the first is now two generations back: reuse.
    const third = await refreshOk(server, second.refresh_token);
    const twice = await refresh(server, first.refresh_token);
    assertError(twice, 401, "refresh_token_reused");
    assertError(await me(server, replay.token), 401, "invalid_token");
    assertRefused(await refresh(server, third.refresh_token), "current token after reuse");
  });
});

async function fetchJwks(url: string): Promise<{ keys: PublishedJwk[] }> {
  const answer = await getJson(url);
  assert.equal(answer.status, 200);
  assert.ok(Array.isArray(answer.body.keys));
  return answer.body;
}

for (const alg of ["EdDSA", "ES256", "RS256"] as const) {
  const rotate = alg !== "RS256";
  test(`${alg}: key file, JWKS, discovery, independent verification${rotate ? ", rotation" : ""}`, async (t) => {
    await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
    const dir = scratch.path;
    const port = freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const env = { ...LIMITS, JWT_ALG: alg, ISSUER: issuer };
    await withServer({ dir, port, env }, async (server) => {
      const keysFile = join(dir, "data", "keys.json");
      let jwksUri = "";
      let tokenA = "";
      let kidA = "";

      await t.step(
        "no key file: the key lives in the store, its private half encrypted",
        async () => {
          assert.throws(() => Deno.statSync(keysFile), Deno.errors.NotFound);
          const kv = await Deno.openKv(join(dir, "data", "auth.kv"));
          try {
            const stored =
              (await kv.get<{ keys: Record<string, unknown>[] }>(["signing_keys", "set"]))
                .value;
            // Under ES256 and EdDSA an RS256 key of its own signs ID tokens.
            assert.deepEqual(
              stored?.keys.map((k) => [k.alg, k.use ?? "access"]),
              alg === "RS256" ? [[alg, "access"]] : [[alg, "access"], ["RS256", "id_token"]],
            );
            const text = JSON.stringify(stored);
            assert.ok(!text.includes('"d"'), "no plain private member in the store");
          } finally {
            kv.close();
          }
        },
      );

      await t.step("discovery: issuer and jwks_uri", async () => {
        const discovery = await getJson(`${server.url}/.well-known/openid-configuration`);
        assert.equal(discovery.status, 200);
        assert.equal(discovery.body.issuer, issuer);
        jwksUri = discovery.body.jwks_uri;
        assert.equal(jwksUri, `${issuer}/.well-known/jwks.json`);
      });

      await t.step("JWKS: one public access-token key, Cache-Control set", async () => {
        const answer = await getJson(jwksUri);
        assert.equal(answer.status, 200);
        assert.match(answer.headers.get("Cache-Control") ?? "", /max-age=\d+/);
        const all = answer.body.keys as (PublishedJwk & { token_use?: string })[];
        assert.deepEqual(
          all.map((k) => [k.alg, k.token_use]),
          alg === "RS256" ? [[alg, "access"]] : [[alg, "access"], ["RS256", "id_token"]],
        );
        for (const key of all) {
          for (const member of PRIVATE_MEMBERS) {
            assert.ok(!(member in key), `no private member ${member}`);
          }
        }
        const key = all[0]!;
        assert.equal(typeof key.kid, "string");
        assert.equal(key.alg, alg);
        assert.equal(key.use, "sig");
        for (const member of PRIVATE_MEMBERS) {
          assert.ok(!(member in key), `no private member ${member}`);
        }
        kidA = key.kid!;
      });

      await t.step("a token verifies from the JWKS alone, without jose", async () => {
        const pair = await loginOk(server, "ada");
        const { header } = decodeJwt(pair.token);
        assert.equal(header.alg, alg);
        assert.equal(header.typ, "JWT");
        assert.equal(header.kid, kidA);
        const jwks = await fetchJwks(jwksUri);
        const claims = verifyWithJwks(pair.token, jwks, issuer);
        assert.equal(claims.sub, "ada");
        assert.equal(claims.role, "user");
        assert.equal((claims.exp as number) - (claims.iat as number), 1800);
        const [h, p, s] = pair.token.split(".") as [string, string, string];
        const forgedPayload = btoa(JSON.stringify({ ...decodeJwt(pair.token).payload, sub: "eve" }))
          .replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
        assert.throws(() => verifyWithJwks(`${h}.${forgedPayload}.${s}`, jwks, issuer));
        assert.throws(() => verifyWithJwks(`${h}.${p}.${s}`, jwks, "https://other.example"));
        assert.equal((await me(server, pair.token)).status, 200);
        assertError(await me(server, `${h}.${forgedPayload}.${s}`), 401, "invalid_token");
        tokenA = pair.token;
      });

      if (!rotate) return;
      await t.step("keys rotate + SIGHUP: new kid signs, old tokens still verify", async () => {
        const rotated = await runTask("keys", dir, ["rotate"], {
          env: { JWT_ALG: alg, KEY_PUBLISH_AHEAD: "0" },
        });
        assert.equal(rotated.code, 0, rotated.stderr);
        // Servers follow the store by themselves; SIGHUP still makes one re-read it at once.
        server.process.kill("SIGHUP");
        let jwks: { keys: PublishedJwk[] } = { keys: [] };
        // Two access-token keys, and two RS256 ID-token keys (rotated with them).
        await waitFor("the JWKS to list 4 keys", async () => {
          jwks = await fetchJwks(jwksUri);
          return jwks.keys.length === 4;
        });
        const access = jwks.keys.filter((k) => k.alg === alg);
        assert.equal(access.length, 2);
        assert.equal(jwks.keys.filter((k) => k.alg === "RS256").length, 2);
        const kids = access.map((k) => k.kid);
        assert.ok(kids.includes(kidA), "the old key is still published");
        const kidB = kids.find((k) => k !== kidA);
        assert.ok(kidB);
        assert.ok(jwks.keys.every((k) => k.use === "sig"));

        const pair = await loginOk(server, "ada");
        assert.equal(decodeJwt(pair.token).header.kid, kidB, "new logins carry the new kid");
        assert.equal(verifyWithJwks(pair.token, jwks, issuer).sub, "ada");
        assert.equal((await me(server, pair.token)).status, 200);
        assert.equal((await me(server, tokenA)).status, 200, "token A still passes /me");
        assert.equal(verifyWithJwks(tokenA, jwks, issuer).sub, "ada");
      });
    });
  });
}
