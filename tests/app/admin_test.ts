import assert from "node:assert/strict";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";

async function adminApp(): Promise<{ t: TestApp; auth: Record<string, string> }> {
  const t = await makeApp();
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  const { token } = await login(t, "root", "root password 1");
  return { t, auth: { Authorization: `Bearer ${token}` } };
}

Deno.test("admin API: create, read, list, change, delete", async (s) => {
  const { t, auth } = await adminApp();
  using _ = t;
  const json = { ...auth, "Content-Type": "application/json" };

  await s.step("POST /admin/users creates (201) and refuses a duplicate (409)", async () => {
    const res = await t.request("/admin/users", {
      method: "POST",
      headers: json,
      body: JSON.stringify({
        user_id: "ada",
        password: "a long passphrase",
        roles: ["user", "editor"],
      }),
    });
    assert.equal(res.status, 201);
    const user = await res.json();
    assert.deepEqual(user.roles, ["user", "editor"]);
    assert.equal(user.disabled, false);
    assert.equal("passwordHash" in user || "password_hash" in user, false);
    const again = await t.request("/admin/users", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ user_id: "ada", password: "a long passphrase" }),
    });
    assert.equal(again.status, 409);
    assert.equal((await again.json()).code, "conflict");
  });

  await s.step(
    "validation: short password, bad role, control character, look-alike ids -> 400",
    async () => {
      for (
        const body of [
          { user_id: "x", password: "short" },
          { user_id: "x", password: "a long passphrase", roles: ["bad role!"] },
          { user_id: "x\u0007", password: "a long passphrase" },
          { user_id: "x", password: "a long passphrase", roles: "user" },
          { user_id: "x", password: "a long \ud800 passphrase" }, // a lone surrogate
          { user_id: "\uff41\uff44\uff41", password: "a long passphrase" }, // full width "ada"
          { user_id: "ada\u200b", password: "a long passphrase" }, // a zero-width space
          { user_id: "\u202eada", password: "a long passphrase" }, // right-to-left override
          { user_id: "ada ", password: "a long passphrase" },
        ]
      ) {
        const res = await t.request("/admin/users", {
          method: "POST",
          headers: json,
          body: JSON.stringify(body),
        });
        assert.equal(res.status, 400, JSON.stringify(body));
        const answer = await res.json();
        assert.equal(answer.code, "validation_failed");
        if (
          typeof body.user_id === "string" && body.user_id !== "x" && body.user_id !== "x\u0007"
        ) {
          assert.match(answer.error, /user_id/);
        }
      }
    },
  );

  await s.step("GET /admin/users/:id and 404", async () => {
    const res = await t.request("/admin/users/ada", { headers: auth });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).user_id, "ada");
    const missing = await t.request("/admin/users/nobody", { headers: auth });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).code, "not_found");
  });

  await s.step("GET /admin/users pages with a cursor", async () => {
    for (const id of ["u1", "u2", "u3"]) await addUser(t, id, "password one two");
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : "?limit=2";
      const res: Response = await t.request(`/admin/users${query}`, { headers: auth });
      assert.equal(res.status, 200);
      const page: { users: { user_id: string }[]; next_cursor: string | null } = await res.json();
      assert.ok(page.users.length <= 2);
      seen.push(...page.users.map((u) => u.user_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen.sort(), ["ada", "root", "u1", "u2", "u3"]);
    assert.equal((await t.request("/admin/users?limit=0", { headers: auth })).status, 400);
    assert.equal((await t.request("/admin/users?cursor=%%%", { headers: auth })).status, 400);
  });

  await s.step("PATCH disables and ends the user's sessions", async () => {
    const { token } = await login(t, "ada", "a long passphrase");
    const me = () => t.request("/me", { headers: { Authorization: `Bearer ${token}` } });
    assert.equal((await me()).status, 200);
    const res = await t.request("/admin/users/ada", {
      method: "PATCH",
      headers: json,
      body: JSON.stringify({ disabled: true }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).disabled, true);
    assert.equal((await me()).status, 401);
    const refused = await t.post("/login", { user_id: "ada", password: "a long passphrase" });
    assert.equal(refused.status, 401);
  });

  await s.step("PATCH resets a password: the old one stops working", async () => {
    await t.request("/admin/users/ada", {
      method: "PATCH",
      headers: json,
      body: JSON.stringify({ disabled: false, password: "a brand new passphrase" }),
    });
    assert.equal(
      (await t.post("/login", { user_id: "ada", password: "a long passphrase" })).status,
      401,
    );
    await login(t, "ada", "a brand new passphrase");
  });

  await s.step("the last enabled admin cannot be removed, disabled or demoted", async () => {
    for (
      const [method, body] of [
        ["DELETE", undefined],
        ["PATCH", { disabled: true }],
        ["PATCH", { roles: ["user"] }],
      ] as const
    ) {
      const res = await t.request("/admin/users/root", {
        method,
        headers: json,
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      assert.equal(res.status, 409, `${method} ${JSON.stringify(body)}`);
    }
  });

  await s.step("DELETE removes (204), then 404", async () => {
    assert.equal(
      (await t.request("/admin/users/ada", { method: "DELETE", headers: auth })).status,
      204,
    );
    assert.equal(
      (await t.request("/admin/users/ada", { method: "DELETE", headers: auth })).status,
      404,
    );
  });
});

Deno.test("admin API refuses non-admins (403) and anonymous callers (401)", async () => {
  const { t } = await adminApp();
  using _ = t;
  await addUser(t, "ada", "a long passphrase", ["user", "admin"]);
  const asUser = await login(t, "ada", "a long passphrase", "user");
  const forbidden = await t.request("/admin/users", {
    headers: { Authorization: `Bearer ${asUser.token}` },
  });
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.headers.get("WWW-Authenticate") ?? "", /insufficient_scope/);
  assert.equal((await forbidden.json()).code, "insufficient_role");
  assert.equal((await t.request("/admin/users")).status, 401);
  const del = await t.request("/admin/users/root", { method: "DELETE" });
  assert.equal(del.status, 401);
});

Deno.test("a demoted admin's admin token stops working at once", async () => {
  const { t, auth } = await adminApp();
  using _ = t;
  await addUser(t, "ada", "a long passphrase", ["admin", "user"]);
  const ada = await login(t, "ada", "a long passphrase", "admin");
  const adaAuth = { Authorization: `Bearer ${ada.token}` };
  assert.equal((await t.request("/admin/users", { headers: adaAuth })).status, 200);
  const demote = await t.request("/admin/users/ada", {
    method: "PATCH",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ roles: ["user"] }),
  });
  assert.equal(demote.status, 200);
  assert.equal((await t.request("/admin/users", { headers: adaAuth })).status, 401);
});
