import assert from "node:assert/strict";
import { createResourceApp } from "../../examples/resource_service.ts";
import { postJson, startServer } from "../helpers/server_process.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

test("the README's resource service verifies EdDSA tokens from the JWKS alone", async () => {
  const server = await startServer({
    env: {
      JWT_ALG: "EdDSA",
      BOOTSTRAP_PASSWORD: "bootstrap password 1",
      ISSUER: "https://auth.example",
    },
  });
  try {
    const app = createResourceApp(server.url, "https://auth.example");
    const asUser = await postJson(`${server.url}/login`, {
      user_id: "admin",
      password: "bootstrap password 1",
      role: "user",
    });
    assert.equal(asUser.status, 200);
    const mine = await app.request("/orders/mine", {
      headers: { Authorization: `Bearer ${asUser.body.token}` },
    });
    assert.equal(mine.status, 200);
    assert.deepEqual(await mine.json(), { owner: "admin", role: "user" });
    assert.equal((await app.request("/orders/mine")).status, 401);
    const denied = await app.request("/orders/7", {
      method: "DELETE",
      headers: { Authorization: `Bearer ${asUser.body.token}` },
    });
    assert.equal(denied.status, 403);
    const asAdmin = await postJson(`${server.url}/login`, {
      user_id: "admin",
      password: "bootstrap password 1",
    });
    const deleted = await app.request("/orders/7", {
      method: "DELETE",
      headers: { Authorization: `Bearer ${asAdmin.body.token}` },
    });
    assert.equal(deleted.status, 200);

    // A service account: refused where a person is expected, accepted where it is asked for.
    const created = await postJson(`${server.url}/admin/clients`, {
      client_id: "reports",
      scopes: ["stats"],
    }, { Authorization: `Bearer ${asAdmin.body.token}` });
    assert.equal(created.status, 201);
    const issued = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`reports:${created.body.client_secret}`)}`,
      },
      body: "grant_type=client_credentials",
    });
    assert.equal(issued.status, 200);
    const service = { Authorization: `Bearer ${(await issued.json()).access_token}` };
    const notAUser = await app.request("/orders/mine", { headers: service });
    assert.equal(notAUser.status, 403);
    assert.equal((await notAUser.json()).code, "subject_not_allowed");
    const report = await app.request("/reports/daily", { headers: service });
    assert.deepEqual(await report.json(), { client: "reports" });
    const userAtReports = await app.request("/reports/daily", {
      headers: { Authorization: `Bearer ${asUser.body.token}` },
    });
    assert.equal(userAtReports.status, 403);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});
