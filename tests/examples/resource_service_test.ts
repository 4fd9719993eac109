import assert from "node:assert/strict";
import { createResourceApp } from "../../examples/resource_service.ts";
import { postJson, startServer } from "../helpers/server_process.ts";

Deno.test("the README's resource service verifies EdDSA tokens from the JWKS alone", async () => {
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
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});
