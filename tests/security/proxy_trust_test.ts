/**
 * `TRUST_PROXY` at the app level: `X-Forwarded-For` is believed only from a listed proxy. A
 * client connecting directly cannot escape the per-client limits (or pick whom it is counted as,
 * or what the log says) by forging the header; through the trusted proxy the header names the
 * client, which shows the header is read at all.
 */
import assert from "node:assert/strict";
import { makeApp } from "../helpers/app.ts";

const PROXY = "10.0.0.1";
const ATTACKER = "192.0.2.66";

function loginAttempt(i: number) {
  // A distinct unknown account each time: only the per-client limit can trigger.
  return { user_id: `nobody-${i}`, password: "not-the-password" };
}

Deno.test("TRUST_PROXY: a forged X-Forwarded-For from an untrusted peer is ignored by /login", async () => {
  using t = await makeApp({ TRUST_PROXY: PROXY, LOGIN_LIMIT_PER_CLIENT: "2/1m" });
  for (let i = 0; i < 2; i++) {
    const res = await t.post(
      "/login",
      loginAttempt(i),
      { "X-Forwarded-For": `198.51.100.${i}` },
      ATTACKER,
    );
    assert.equal(res.status, 401);
  }
  const third = await t.post(
    "/login",
    loginAttempt(2),
    { "X-Forwarded-For": "198.51.100.99" },
    ATTACKER,
  );
  assert.equal(third.status, 429, "the attacker is counted as itself, whatever the header says");
  const logged = t.logLines.map((line) => JSON.parse(line)).filter((e) =>
    e.event === "login_failed"
  );
  assert.ok(logged.length >= 2, "login_failed lines are logged");
  for (const entry of logged) assert.equal(entry.client, ATTACKER, JSON.stringify(entry));
});

Deno.test("TRUST_PROXY: through the trusted proxy each forwarded client has its own limit", async () => {
  using t = await makeApp({ TRUST_PROXY: PROXY, LOGIN_LIMIT_PER_CLIENT: "2/1m" });
  for (let i = 0; i < 4; i++) {
    const res = await t.post(
      "/login",
      loginAttempt(i),
      { "X-Forwarded-For": `198.51.100.${i}` },
      PROXY,
    );
    assert.equal(res.status, 401, `forwarded client ${i} has attempts left`);
  }
  // The same forwarded client a third time is limited: the header is what counts here.
  for (let i = 0; i < 2; i++) {
    await t.post("/login", loginAttempt(10 + i), { "X-Forwarded-For": "198.51.100.7" }, PROXY);
  }
  const limited = await t.post(
    "/login",
    loginAttempt(20),
    { "X-Forwarded-For": "198.51.100.7" },
    PROXY,
  );
  assert.equal(limited.status, 429);
});

Deno.test("TRUST_PROXY: /refresh counts an untrusted peer as itself despite X-Forwarded-For", async () => {
  using t = await makeApp({ TRUST_PROXY: PROXY, REFRESH_LIMIT_PER_CLIENT: "2/1m" });
  const body = { refresh_token: "A".repeat(43) };
  for (let i = 0; i < 2; i++) {
    const res = await t.post("/refresh", body, { "X-Forwarded-For": `198.51.100.${i}` }, ATTACKER);
    assert.equal(res.status, 401);
  }
  const third = await t.post("/refresh", body, { "X-Forwarded-For": "198.51.100.9" }, ATTACKER);
  assert.equal(third.status, 429);
});
