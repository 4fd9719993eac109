/**
 * OAuth client authentication cannot be sidestepped: a registered client named without its
 * secret is never treated as a public caller (RFC 6749 section 2.3: a confidential client must
 * authenticate), and a posted `client_id` cannot disagree with the Basic credentials.
 */
import assert from "node:assert/strict";
import { addUser, makeApp, type TestApp } from "../helpers/app.ts";

const PASSWORD = "correct horse battery";

function form(t: TestApp, params: Record<string, string>, headers: Record<string, string> = {}) {
  return t.request("/oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

async function sessionsOfAda(t: TestApp): Promise<number> {
  const ada = await t.stores.users.getUser("ada");
  assert.ok(ada);
  return (await t.stores.sessions.listUserSessions(ada.value.uid ?? "id:ada")).length;
}

Deno.test("oauth: a registered client named without its secret gets invalid_client, never a public session", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  await t.services.clients.add("webapp", { grantTypes: ["password", "refresh_token"] });
  const grant = { grant_type: "password", username: "ada", password: PASSWORD };

  // The public password grant (no client) works: the refusal below is about the client.
  const open = await form(t, grant);
  assert.equal(open.status, 200, await open.clone().text());
  assert.equal(await sessionsOfAda(t), 1);

  const named = await form(t, { ...grant, client_id: "webapp" });
  assert.equal(named.status, 401, await named.clone().text());
  assert.equal((await named.json()).error, "invalid_client");
  assert.equal(await sessionsOfAda(t), 1, "no session was started");
});

Deno.test("oauth: a posted client_id that differs from the Basic credentials is invalid_request", async () => {
  using t = await makeApp();
  const reports = await t.services.clients.add("reports", { scopes: ["stats"] });
  await t.services.clients.add("other", { scopes: ["admin:all"] });
  const authorization = `Basic ${btoa(`reports:${encodeURIComponent(reports.secret)}`)}`;
  const grant = { grant_type: "client_credentials" };

  const same = await form(t, { ...grant, client_id: "reports" }, { Authorization: authorization });
  assert.equal(same.status, 200, await same.clone().text());

  const differs = await form(t, { ...grant, client_id: "other" }, { Authorization: authorization });
  assert.equal(differs.status, 400, await differs.clone().text());
  const body = await differs.json();
  assert.equal(body.error, "invalid_request");
  assert.equal(body.access_token, undefined);
});
