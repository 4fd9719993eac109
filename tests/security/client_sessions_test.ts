/**
 * Issue 23 item 2: a session obtained through an OAuth client (password grant) belongs to that
 * client's generation. Removing the client or rotating its secret ends it, and registering the
 * same id again revives nothing: refresh, the session gate (/me) and introspection agree.
 */
import assert from "node:assert/strict";
import { addUser, makeApp, type TestApp } from "../helpers/app.ts";
import { basic, postForm } from "../helpers/oauth_form.ts";

const PASSWORD = "correct horse battery";
const GRANTS = ["password", "refresh_token"];

async function setup() {
  const t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const auditor = await t.services.clients.add("auditor");
  const webapp = await t.services.clients.add("webapp", { grantTypes: GRANTS });
  const res = await postForm(t, "/oauth/token", {
    grant_type: "password",
    username: "ada",
    password: PASSWORD,
  }, { Authorization: basic("webapp", webapp.secret) });
  assert.equal(res.status, 200);
  const grant = await res.json();
  const introspect = async () =>
    (await (await postForm(t, "/oauth/introspect", { token: grant.access_token }, {
      Authorization: basic("auditor", auditor.secret),
    })).json()).active;
  const me = async () =>
    (await t.request("/me", { headers: { Authorization: `Bearer ${grant.access_token}` } }))
      .status;
  const refresh = (secret: string) =>
    postForm(t, "/oauth/token", {
      grant_type: "refresh_token",
      refresh_token: grant.refresh_token,
    }, { Authorization: basic("webapp", secret) });
  assert.equal(await introspect(), true);
  assert.equal(await me(), 200);
  return { t, webappSecret: webapp.secret, introspect, me, refresh };
}

async function assertEnded(
  s: { t: TestApp; introspect: () => Promise<boolean>; me: () => Promise<number> },
  refresh: Response,
) {
  const body = await refresh.json();
  assert.equal(refresh.status, 400, JSON.stringify(body));
  assert.equal(body.error, "invalid_grant");
  assert.equal(await s.introspect(), false, "introspection agrees");
  assert.equal(await s.me(), 401, "the session gate agrees");
  // Later too, past the gate's cache.
  s.t.clock.advance(5);
  assert.equal(await s.introspect(), false);
  assert.equal(await s.me(), 401);
}

Deno.test("removing a client ends its sessions; the same id registered again revives none", async () => {
  const s = await setup();
  using _ = s.t;
  await s.t.services.clients.remove("webapp");
  assert.equal(await s.me(), 401, "ended at removal");
  assert.equal(await s.introspect(), false);
  const again = await s.t.services.clients.add("webapp", { grantTypes: GRANTS });
  await assertEnded(s, await s.refresh(again.secret));
});

Deno.test("rotating a client's secret ends the sessions obtained through it", async () => {
  const s = await setup();
  using _ = s.t;
  const rotated = await s.t.services.clients.rotateSecret("webapp");
  assert.equal(await s.me(), 401, "ended at rotation");
  await assertEnded(s, await s.refresh(rotated.secret));
});

Deno.test("a session from /login, and a client's session while it stays, are unaffected", async () => {
  const s = await setup();
  using _ = s.t;
  s.t.clock.advance(5);
  assert.equal(await s.me(), 200);
  assert.equal(await s.introspect(), true);
  assert.equal((await s.refresh(s.webappSecret)).status, 200);
  await s.t.services.clients.add("unrelated");
  await s.t.services.clients.remove("unrelated");
  assert.equal(await s.introspect(), true);
});
