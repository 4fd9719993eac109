/**
 * Issue 24 item 7, end to end: `deno task keys` and `/admin/keys` are two doors onto one key
 * administration service, so against one store they list the same keys and accept and refuse the
 * same changes (the CLI's exit code is the API's status: 3 = 404, 4 = 409, 5 = 400), and a change
 * made through either is seen by the other at once.
 */
import assert from "node:assert/strict";
import { dirWithUsers, getJson, loginOk, request, runTask, withServer } from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const ENV = {
  JWT_ALG: "EdDSA",
  ISSUER: "https://auth.keys.test",
  LOGIN_LIMIT_PER_CLIENT: "1000/1m",
  LOGIN_LIMIT_PER_ACCOUNT: "1000/1m",
};

test("keys CLI and /admin/keys: the same list, the same changes, the same refusals", async (t) => {
  await using scratch = await dirWithUsers([{ id: "root", roles: ["admin", "user"] }]);
  const dir = scratch.path;
  await withServer({ dir, env: ENV }, async (server) => {
    const admin = (await loginOk(server, "root", undefined, "admin")).token;
    const api = (method: string, path: string, body?: unknown) =>
      request(`${server.url}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${admin}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const cli = (...args: string[]) => runTask("keys", dir, args, { env: ENV });
    const bothList = async () => {
      const [listed, answered] = await Promise.all([
        cli("list", "--json"),
        api("GET", "/admin/keys"),
      ]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(answered.status, 200);
      assert.deepEqual(answered.body.keys, JSON.parse(listed.stdout), "CLI and API list alike");
      return answered.body.keys as { kid: string; state: string; alg: string; use: string }[];
    };

    const [active, activeId] = await bothList();
    assert.ok(active && active.state === "active" && active.alg === "EdDSA");
    // Under EdDSA an RS256 key of its own signs ID tokens.
    assert.deepEqual(activeId && [activeId.alg, activeId.use, activeId.state], [
      "RS256",
      "id_token",
      "active",
    ]);

    let next = "";
    let nextId = "";
    await t.step("rotate through the API; the CLI sees it and refuses a second one", async () => {
      const rotated = await api("POST", "/admin/keys", {});
      assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
      assert.equal(rotated.body.first, false);
      assert.ok(Date.parse(rotated.body.activates_at) > Date.now(), "published ahead");
      next = rotated.body.kid;
      nextId = rotated.body.id_token.kid;
      assert.equal(rotated.body.id_token.alg, "RS256");
      assert.equal(rotated.body.id_token.activates_at, rotated.body.activates_at);
      const keys = await bothList();
      assert.deepEqual(keys.map((k) => [k.kid, k.state]), [
        [active.kid, "active"],
        [activeId!.kid, "active"],
        [next, "next"],
        [nextId, "next"],
      ]);
      const again = await cli("rotate");
      assert.equal(again.code, 4, again.stderr);
      assert.match(again.stderr, new RegExp(`deno task keys retire ${next} --force`));
      const apiAgain = await api("POST", "/admin/keys", {});
      assert.equal(apiAgain.status, 409);
      assert.equal(apiAgain.body.code, "conflict");
      assert.match(apiAgain.body.error, new RegExp(`DELETE /admin/keys/${next}\\?force=true`));
    });

    await t.step("retire: both refuse the active key and the next one without force", async () => {
      for (const kid of [active.kid, activeId!.kid, next, nextId]) {
        const refused = await cli("retire", kid);
        assert.equal(refused.code, 4, refused.stderr);
        const apiRefused = await api("DELETE", `/admin/keys/${kid}`);
        assert.equal(apiRefused.status, 409, JSON.stringify(apiRefused.body));
      }
      const unknown = await cli("retire", "no-such-kid");
      assert.equal(unknown.code, 3, unknown.stderr);
      assert.equal((await api("DELETE", "/admin/keys/no-such-kid")).status, 404);
    });

    await t.step("an HS256 or unknown alg: exit 5 and 400", async () => {
      for (const alg of ["HS256", "PS256"]) {
        const refused = await cli("rotate", "--alg", alg);
        assert.equal(refused.code, 5, refused.stderr);
        const apiRefused = await api("POST", "/admin/keys", { alg });
        assert.equal(apiRefused.status, 400);
        assert.equal(apiRefused.body.code, "validation_failed");
      }
    });

    await t.step("force through the API; the CLI no longer lists it", async () => {
      const forced = await api("DELETE", `/admin/keys/${next}?force=true`);
      assert.equal(forced.status, 200, JSON.stringify(forced.body));
      assert.equal(forced.body.kid, next);
      assert.match(forced.body.forced, /is the next key/);
      assert.equal((await api("DELETE", `/admin/keys/${nextId}?force=true`)).status, 200);
      assert.deepEqual((await bothList()).map((k) => k.kid), [active.kid, activeId!.kid]);
    });

    await t.step("rotate through the CLI; the API sees it", async () => {
      const rotated = await cli("rotate");
      assert.equal(rotated.code, 0, rotated.stderr);
      const keys = await bothList();
      assert.equal(keys.length, 4);
      assert.deepEqual(keys.slice(2).map((k) => [k.alg, k.state]), [
        ["EdDSA", "next"],
        ["RS256", "next"],
      ]);
      assert.match(rotated.stdout, new RegExp(`New EdDSA key ${keys[2]!.kid}: published now`));
      assert.match(
        rotated.stdout,
        new RegExp(`New RS256 ID-token key ${keys[3]!.kid}: published now`),
      );
    });

    await t.step("reencrypt: the same answer at either door when nothing is to do", async () => {
      const answered = await api("POST", "/admin/keys/reencrypt", {});
      assert.equal(answered.status, 200, JSON.stringify(answered.body));
      assert.equal(answered.body.reencrypted.length, 0);
      assert.equal(answered.body.current.length, 4);
      const done = await cli("reencrypt");
      assert.equal(done.code, 0, done.stderr);
      assert.match(
        done.stdout,
        /Re-encrypted 0 signing key\(s\) under SECRET_KEY \(4 already were\)/,
      );
    });

    await t.step("only for admins", async () => {
      const user = (await loginOk(server, "root", undefined, "user")).token;
      assert.equal((await getJson(`${server.url}/admin/keys`, user)).status, 403);
      assert.equal((await getJson(`${server.url}/admin/keys`)).status, 401);
    });
  });
});
