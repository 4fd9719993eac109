/**
 * Issue 23 item 7: /oauth/revoke (no client needed), /oauth/introspect and the
 * client_credentials grant each cost a store read; they are limited like /refresh: per caller
 * address (REFRESH_LIMIT_PER_CLIENT) when no client authenticates, and per authenticated client
 * (REFRESH_LIMIT_PER_OAUTH_CLIENT). An address over its limit is refused before any read.
 */
import assert from "node:assert/strict";
import { makeApp } from "../helpers/app.ts";
import { fakeStores, type Faults } from "../helpers/fake_stores.ts";
import { basic, postForm } from "../helpers/oauth_form.ts";

const VARS = { REFRESH_LIMIT_PER_CLIENT: "3/1m", REFRESH_LIMIT_PER_OAUTH_CLIENT: "4/1m" };

async function assertLimited(res: Response) {
  const body = await res.json();
  assert.equal(res.status, 429, JSON.stringify(body));
  assert.equal(body.error, "too_many_attempts");
  assert.ok(Number(res.headers.get("Retry-After")) > 0);
}

Deno.test("public /oauth/revoke is limited per address", async () => {
  using t = await makeApp(VARS);
  const revoke = (client?: string) =>
    postForm(t, "/oauth/revoke", { token: "x".repeat(43) }, {}, client);
  for (let i = 0; i < 3; i++) assert.equal((await revoke()).status, 200);
  await assertLimited(await revoke());
  assert.equal((await revoke("192.0.2.77")).status, 200, "another address is not affected");
});

Deno.test("failed client authentication counts against the address, then nothing is read", async () => {
  using t = await makeApp(VARS);
  const { secret } = await t.services.clients.add("auditor");
  const introspect = (auth: string) =>
    postForm(t, "/oauth/introspect", { token: "x" }, { Authorization: auth });
  for (let i = 0; i < 3; i++) assert.equal((await introspect(basic("auditor", "bad"))).status, 401);
  let reads = 0;
  const getClient = t.stores.clients.getClient.bind(t.stores.clients);
  t.stores.clients.getClient = (id) => (reads++, getClient(id));
  await assertLimited(await introspect(basic("auditor", secret)));
  assert.equal(reads, 0, "refused before the client was read");
});

Deno.test("introspection and client_credentials are limited per authenticated client", async () => {
  using t = await makeApp(VARS);
  const { secret } = await t.services.clients.add("auditor");
  const auth = { Authorization: basic("auditor", secret) };
  const calls = [
    () => postForm(t, "/oauth/introspect", { token: "x" }, auth, "192.0.2.1"),
    () => postForm(t, "/oauth/token", { grant_type: "client_credentials" }, auth, "192.0.2.2"),
  ];
  // Four calls from two addresses: over each address's 3, within the client's 4.
  for (let i = 0; i < 4; i++) assert.equal((await calls[i % 2]!()).status, 200);
  await assertLimited(await calls[0]!());
  await assertLimited(await calls[1]!());
});

Deno.test("a refused OAuth request reads no store at all", async () => {
  const faults: Faults = { mode: "ok" };
  using t = await makeApp(VARS, undefined, () => fakeStores(faults));
  const { secret } = await t.services.clients.add("auditor");
  const auth = { Authorization: basic("auditor", secret) };
  for (let i = 0; i < 3; i++) {
    assert.equal((await postForm(t, "/oauth/revoke", { token: "x".repeat(43) })).status, 200);
  }
  for (let i = 0; i < 4; i++) {
    assert.equal(
      (await postForm(t, "/oauth/introspect", { token: "x" }, auth, "192.0.2.9")).status,
      200,
    );
  }
  faults.mode = "fail"; // any store call now answers 503
  await assertLimited(await postForm(t, "/oauth/revoke", { token: "x".repeat(43) }));
  await assertLimited(await postForm(t, "/oauth/introspect", { token: "x" }, auth, "192.0.2.9"));
});
