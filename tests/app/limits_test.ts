import assert from "node:assert/strict";
import { addUser, makeApp } from "../helpers/app.ts";

Deno.test("per-account limit: 429 with Retry-After, even for the right password, until the window ends", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "3/15m", LOGIN_LIMIT_PER_CLIENT: "1000/1m" });
  await addUser(t, "ada", "correct horse battery");
  for (let i = 0; i < 3; i++) {
    // Failures from different clients all count against the account.
    const res = await t.post(
      "/login",
      { user_id: "ada", password: "wrong guess" },
      {},
      `198.51.100.${i}`,
    );
    assert.equal(res.status, 401);
  }
  const locked = await t.post("/login", { user_id: "ada", password: "correct horse battery" });
  assert.equal(locked.status, 429);
  assert.equal((await locked.json()).code, "too_many_attempts");
  const retryAfter = Number(locked.headers.get("Retry-After"));
  assert.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`);
  // Another account is not affected.
  await addUser(t, "bob", "another good password");
  assert.equal(
    (await t.post("/login", { user_id: "bob", password: "another good password" })).status,
    200,
  );
  t.clock.advance(retryAfter);
  assert.equal(
    (await t.post("/login", { user_id: "ada", password: "correct horse battery" })).status,
    200,
  );
});

Deno.test("per-client limit counts every attempt; a forged X-Forwarded-For changes nothing", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_CLIENT: "5/1m" });
  for (let i = 0; i < 5; i++) {
    const res = await t.post("/login", { user_id: `u${i}`, password: "whatever1" }, {
      "X-Forwarded-For": `203.0.113.${i}`,
    });
    assert.equal(res.status, 401);
  }
  const res = await t.post("/login", { user_id: "u9", password: "whatever1" }, {
    "X-Forwarded-For": "203.0.113.99",
  });
  assert.equal(res.status, 429);
  assert.ok(Number(res.headers.get("Retry-After")) > 0);
  // A different connection address is a different client.
  const other = await t.post("/login", { user_id: "u9", password: "whatever1" }, {}, "192.0.2.200");
  assert.equal(other.status, 401);
});

Deno.test("with TRUST_PROXY, the proxy's X-Forwarded-For names the client", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_CLIENT: "2/1m", TRUST_PROXY: "10.0.0.0/8" });
  const viaProxy = (client: string) =>
    t.post(
      "/login",
      { user_id: "x", password: "whatever1" },
      { "X-Forwarded-For": client },
      "10.1.1.1",
    );
  assert.equal((await viaProxy("198.51.100.1")).status, 401);
  assert.equal((await viaProxy("198.51.100.1")).status, 401);
  assert.equal((await viaProxy("198.51.100.1")).status, 429);
  assert.equal((await viaProxy("198.51.100.2")).status, 401); // another client behind the proxy
});

Deno.test("/refresh has a per-client limit", async () => {
  using t = await makeApp({ REFRESH_LIMIT_PER_CLIENT: "2/1m" });
  const attempt = () => t.post("/refresh", { refresh_token: "A".repeat(43) });
  assert.equal((await attempt()).status, 401);
  assert.equal((await attempt()).status, 401);
  const limited = await attempt();
  assert.equal(limited.status, 429);
  assert.equal((await limited.json()).code, "too_many_attempts");
});

Deno.test("per-account limit holds against a burst of concurrent guesses", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "3/15m", LOGIN_LIMIT_PER_CLIENT: "1000/1m" });
  await addUser(t, "ada", "correct horse battery");
  const guesses = Array.from({ length: 20 }, (_, i) =>
    t.post(
      "/login",
      { user_id: "ada", password: i === 19 ? "correct horse battery" : `guess number ${i}` },
      {},
      `198.51.100.${i}`,
    ));
  const statuses = await Promise.all(guesses.map(async (p) => {
    const res = await p;
    await res.body?.cancel();
    return res.status;
  }));
  const checked = statuses.filter((s) => s !== 429).length;
  assert.ok(checked <= 3, `at most 3 passwords checked, got ${checked}: ${statuses.join(",")}`);
  assert.ok(statuses.filter((s) => s === 429).length >= 17);
});

Deno.test("a successful login gives its attempt back to the account", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "2/15m", LOGIN_LIMIT_PER_CLIENT: "1000/1m" });
  await addUser(t, "ada", "correct horse battery");
  for (let i = 0; i < 5; i++) {
    assert.equal(
      (await t.post("/login", { user_id: "ada", password: "correct horse battery" })).status,
      200,
    );
  }
  assert.equal((await t.post("/login", { user_id: "ada", password: "wrong one" })).status, 401);
  assert.equal(
    (await t.post("/login", { user_id: "ada", password: "correct horse battery" })).status,
    200,
  );
});

Deno.test("per-client limits count an IPv6 client by its /64", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_CLIENT: "2/1m" });
  const from = (client: string) =>
    t.post("/login", { user_id: "x", password: "whatever1" }, {}, client);
  assert.equal((await from("2001:db8:1:2::1")).status, 401);
  assert.equal((await from("2001:db8:1:2::ffff")).status, 401);
  assert.equal((await from("2001:db8:1:2:dead:beef:0:1")).status, 429); // same /64
  assert.equal((await from("2001:db8:1:3::1")).status, 401); // another /64
});

Deno.test("refused and successful attempts leave nothing behind on the account", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_ACCOUNT: "3/15m", LOGIN_LIMIT_PER_CLIENT: "1000/1m" });
  await addUser(t, "ada", "correct horse battery");
  // More concurrent right-password logins than the limit: the excess waits its turn (429)...
  const statuses = await Promise.all(Array.from({ length: 8 }, async () => {
    const res = await t.post("/login", { user_id: "ada", password: "correct horse battery" });
    await res.body?.cancel();
    return res.status;
  }));
  assert.ok(statuses.includes(200), statuses.join(","));
  assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join(","));
  // ...and afterwards the account is not locked: three failures are still allowed.
  for (let i = 0; i < 3; i++) {
    assert.equal((await t.post("/login", { user_id: "ada", password: "wrong guess" })).status, 401);
  }
  assert.equal((await t.post("/login", { user_id: "ada", password: "wrong guess" })).status, 429);
});
