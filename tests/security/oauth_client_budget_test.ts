/**
 * Issue 23 item 1: a confidential client that runs the password grant (or refreshes) from its
 * backend reaches /oauth/token from one address; its users must not share that address's
 * budget. The per-client limits count per authenticated client, at their own rates, and an
 * end-user address is taken from a client only when TRUST_FORWARDING_CLIENTS names it.
 */
import assert from "node:assert/strict";
import { addUser, makeApp } from "../helpers/app.ts";
import { basic, postForm } from "../helpers/oauth_form.ts";

const PASSWORD = "correct horse battery";
const BACKEND = "198.51.100.10";

async function setup(vars: Record<string, string>) {
  const t = await makeApp({
    LOGIN_LIMIT_PER_CLIENT: "3/1m",
    LOGIN_LIMIT_PER_ACCOUNT: "100/1m",
    ...vars,
  });
  const { secret } = await t.services.clients.add("webapp", {
    grantTypes: ["password", "refresh_token"],
  });
  const auth = { Authorization: basic("webapp", secret) };
  const grant = (username: string, password: string, headers: Record<string, string> = {}) =>
    postForm(t, "/oauth/token", { grant_type: "password", username, password }, {
      ...auth,
      ...headers,
    }, BACKEND);
  return { t, auth, grant };
}

Deno.test("a confidential client's users do not share its backend's address budget", async () => {
  const { t, grant } = await setup({ LOGIN_LIMIT_PER_OAUTH_CLIENT: "5/1m" });
  using _ = t;
  await addUser(t, "ada", PASSWORD);
  // More wrong sign-ins than the per-address budget (3), for any names, through the one client.
  for (let i = 0; i < 4; i++) assert.equal((await grant(`nobody${i}`, "wrong guess1")).status, 400);
  // ada is not locked out by them.
  assert.equal((await grant("ada", PASSWORD)).status, 200);
  // The client's own budget (5/1m) still holds: the next one is refused.
  const refused = await grant("ada", PASSWORD);
  assert.equal(refused.status, 429);
  // A login from the backend's address without the client is judged by the address as before.
  const direct = await t.post("/login", { user_id: "ada", password: PASSWORD }, {}, BACKEND);
  assert.equal(direct.status, 200);
});

Deno.test("an end-user address counts only from a client trusted to forward one", async () => {
  const { t, grant } = await setup({
    LOGIN_LIMIT_PER_OAUTH_CLIENT: "100/1m",
    TRUST_FORWARDING_CLIENTS: "webapp",
  });
  using _ = t;
  await addUser(t, "ada", PASSWORD);
  const from = (address: string) => ({ "End-User-Address": address });
  for (let i = 0; i < 3; i++) {
    assert.equal((await grant(`nobody${i}`, "wrong guess1", from("203.0.113.7"))).status, 400);
  }
  // That end user is over the per-address budget; another is not.
  assert.equal((await grant("ada", PASSWORD, from("203.0.113.7"))).status, 429);
  assert.equal((await grant("ada", PASSWORD, from("203.0.113.8"))).status, 200);
  // A malformed address is refused, not ignored (it would escape the per-address budget).
  const bad = await grant("ada", PASSWORD, from("not an address"));
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, "invalid_request");
});

Deno.test("an untrusted client's End-User-Address is ignored", async () => {
  const { t, grant } = await setup({ LOGIN_LIMIT_PER_OAUTH_CLIENT: "100/1m" });
  using _ = t;
  await addUser(t, "ada", PASSWORD);
  const victim = { "End-User-Address": "203.0.113.7" };
  // A client not named in TRUST_FORWARDING_CLIENTS cannot spend an address's budget...
  for (let i = 0; i < 4; i++) {
    assert.equal((await grant(`nobody${i}`, "wrong1", victim)).status, 400);
  }
  assert.equal((await grant("ada", PASSWORD, victim)).status, 200);
  // ...and a malformed one is not even read.
  assert.equal((await grant("ada", PASSWORD, { "End-User-Address": "garbage" })).status, 200);
});

Deno.test("refreshes through a confidential client count per client, not per address", async () => {
  const { t, auth, grant } = await setup({
    REFRESH_LIMIT_PER_CLIENT: "2/1m",
    REFRESH_LIMIT_PER_OAUTH_CLIENT: "4/1m",
  });
  using _ = t;
  const tokens: string[] = [];
  for (let i = 0; i < 5; i++) {
    await addUser(t, `user${i}`, PASSWORD);
    tokens.push((await (await grant(`user${i}`, PASSWORD)).json()).refresh_token);
  }
  const refresh = (token: string) =>
    postForm(
      t,
      "/oauth/token",
      { grant_type: "refresh_token", refresh_token: token },
      auth,
      BACKEND,
    );
  // Four users refresh from the one backend address: more than its per-address budget (2).
  for (const token of tokens.slice(0, 4)) assert.equal((await refresh(token)).status, 200);
  // The client's own refresh budget (4/1m) holds.
  assert.equal((await refresh(tokens[4]!)).status, 429);
});

Deno.test("a trusted client's end users each have their own refresh budget", async () => {
  const { t, auth, grant } = await setup({
    REFRESH_LIMIT_PER_CLIENT: "2/1m",
    TRUST_FORWARDING_CLIENTS: "webapp",
  });
  using _ = t;
  await addUser(t, "ada", PASSWORD);
  let token = (await (await grant("ada", PASSWORD)).json()).refresh_token;
  const refresh = (address: string) =>
    postForm(t, "/oauth/token", { grant_type: "refresh_token", refresh_token: token }, {
      ...auth,
      "End-User-Address": address,
    }, BACKEND);
  for (let i = 0; i < 2; i++) {
    const res = await refresh("203.0.113.7");
    assert.equal(res.status, 200);
    token = (await res.json()).refresh_token;
  }
  assert.equal((await refresh("203.0.113.7")).status, 429);
  assert.equal((await refresh("203.0.113.8")).status, 200);
});
