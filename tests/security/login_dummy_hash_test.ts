/**
 * Timing parity by construction, not by a stopwatch: the app takes its password hasher as a
 * dependency, so a spy around the real one shows which verification every login ran. An unknown
 * user must cost one dummy verification of the presented password; a known user one real
 * verification and no dummy; a locked account none at all (refused before any hashing).
 */
import assert from "node:assert/strict";
import type { PasswordHasher } from "../../src/crypto/passwords.ts";
import { addUser, hasher, makeApp } from "../helpers/app.ts";

interface Spy extends PasswordHasher {
  readonly calls: { verify: string[]; verifyDummy: string[] };
}

/** The shared argon2id hasher, recording the password of every verify and dummy verify. */
function spyHasher(): Spy {
  const calls = { verify: [] as string[], verifyDummy: [] as string[] };
  return {
    calls,
    backend: hasher.backend,
    accepts: (phc) => hasher.accepts(phc),
    hash: (password) => hasher.hash(password),
    needsRehash: (phc) => hasher.needsRehash(phc),
    verify: (phc, password) => {
      calls.verify.push(password);
      return hasher.verify(phc, password);
    },
    verifyDummy: (password) => {
      calls.verifyDummy.push(password);
      return hasher.verifyDummy(password);
    },
  };
}

Deno.test("login: an unknown user runs exactly one dummy verification, a known user none", async () => {
  const spy = spyHasher();
  using t = await makeApp({}, undefined, undefined, spy);
  await addUser(t, "ada", "correct horse battery");

  const unknown = await t.post("/login", { user_id: "nobody", password: "guess-one-1" });
  assert.equal(unknown.status, 401);
  assert.equal((await unknown.json()).code, "invalid_credentials");
  assert.deepEqual(spy.calls, { verify: [], verifyDummy: ["guess-one-1"] });

  const wrong = await t.post("/login", { user_id: "ada", password: "guess-two-2" });
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).code, "invalid_credentials");
  assert.deepEqual(spy.calls, { verify: ["guess-two-2"], verifyDummy: ["guess-one-1"] });

  const right = await t.post("/login", { user_id: "ada", password: "correct horse battery" });
  assert.equal(right.status, 200);
  assert.deepEqual(spy.calls.verifyDummy, ["guess-one-1"], "a known user never runs the dummy");
});

Deno.test("login: a locked account answers 429 without checking any password", async () => {
  const spy = spyHasher();
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "2/15m" }, undefined, undefined, spy);
  await addUser(t, "ada", "correct horse battery");
  for (const password of ["wrong-one-1", "wrong-two-2"]) {
    assert.equal((await t.post("/login", { user_id: "ada", password })).status, 401);
  }
  assert.equal(spy.calls.verifyDummy.length, 0);

  const locked = await t.post("/login", { user_id: "ada", password: "wrong-three" });
  assert.equal(locked.status, 429);
  // Refused before any hashing (issue 12): the limit check costs no argon2id at all.
  assert.deepEqual(spy.calls.verifyDummy, []);
  assert.deepEqual(spy.calls.verify, ["wrong-one-1", "wrong-two-2"], "no real check once locked");
});

Deno.test("the login page: an unknown user runs the dummy verification, as /login does", async () => {
  const spy = spyHasher();
  using t = await makeApp({}, undefined, undefined, spy);
  await addUser(t, "ada", "correct horse battery");
  await t.services.clients.add("web", {
    grantTypes: ["authorization_code"],
    redirectUris: ["https://app.example/cb"],
  });
  const query = new URLSearchParams({
    response_type: "code",
    client_id: "web",
    redirect_uri: "https://app.example/cb",
  });
  const page = await t.request(`/authorize?${query}`);
  const cookie = page.headers.getSetCookie()[0]!.split(";")[0]!;
  const html = await page.text();
  const csrf = /name="csrf_token" value="([^"]*)"/.exec(html)![1]!;
  const post = (user_id: string, password: string) =>
    t.request("/authorize/login", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
      body: new URLSearchParams({ csrf_token: csrf, request: query.toString(), user_id, password })
        .toString(),
    });
  const unknown = await post("nobody", "guess-one-1");
  assert.equal(unknown.status, 401);
  await unknown.body?.cancel();
  assert.deepEqual(spy.calls, { verify: [], verifyDummy: ["guess-one-1"] });
  const wrong = await post("ada", "guess-two-2");
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  assert.deepEqual(spy.calls, { verify: ["guess-two-2"], verifyDummy: ["guess-one-1"] });
});
