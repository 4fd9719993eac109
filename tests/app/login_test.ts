import assert from "node:assert/strict";
import { addUser, login, makeApp } from "../helpers/app.ts";

Deno.test("POST /login: every status of the contract", async (t) => {
  using app = await makeApp();
  await addUser(app, "ada", "correct horse battery", ["user", "editor"]);

  await t.step("200 with the tutorial's shape plus refresh", async () => {
    const body = await login(app, "ada", "correct horse battery");
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 1800);
    assert.match(body.refresh_token, /^[A-Za-z0-9_-]{43}$/);
  });

  const cases: [string, RequestInit, number, string, string?][] = [
    [
      "missing user_id",
      { body: JSON.stringify({ password: "x" }) },
      400,
      "validation_failed",
      "user_id is required",
    ],
    [
      "empty user_id",
      { body: JSON.stringify({ user_id: "", password: "x" }) },
      400,
      "validation_failed",
      "user_id is required",
    ],
    [
      "missing password",
      { body: JSON.stringify({ user_id: "ada" }) },
      400,
      "validation_failed",
      "password is required",
    ],
    [
      "user_id not a string",
      { body: JSON.stringify({ user_id: 7, password: "x" }) },
      400,
      "validation_failed",
      "user_id must be a string",
    ],
    [
      "control character",
      { body: JSON.stringify({ user_id: "a\u0000b", password: "x" }) },
      400,
      "validation_failed",
    ],
    [
      "user_id too long",
      { body: JSON.stringify({ user_id: "a".repeat(129), password: "x" }) },
      400,
      "validation_failed",
    ],
    [
      "password too long",
      { body: JSON.stringify({ user_id: "ada", password: "x".repeat(1025) }) },
      400,
      "validation_failed",
    ],
    ["malformed JSON", { body: "{not json" }, 400, "invalid_json"],
    ["JSON array", { body: "[]" }, 400, "validation_failed"],
    ["JSON null", { body: "null" }, 400, "validation_failed"],
    [
      "wrong password",
      { body: JSON.stringify({ user_id: "ada", password: "wrong password" }) },
      401,
      "invalid_credentials",
      "invalid credentials",
    ],
    [
      "unknown user",
      { body: JSON.stringify({ user_id: "bob", password: "whatever1" }) },
      401,
      "invalid_credentials",
      "invalid credentials",
    ],
    [
      "role not granted",
      {
        body: JSON.stringify({ user_id: "ada", password: "correct horse battery", role: "admin" }),
      },
      403,
      "role_not_allowed",
    ],
    [
      "form body",
      { body: "user_id=ada", headers: { "Content-Type": "application/x-www-form-urlencoded" } },
      415,
      "unsupported_media_type",
    ],
    [
      "no content type",
      { body: "{}", headers: { "Content-Type": "" } },
      415,
      "unsupported_media_type",
    ],
    [
      "17 KiB body",
      { body: JSON.stringify({ user_id: "ada", password: "x".repeat(17 * 1024) }) },
      413,
      "payload_too_large",
    ],
  ];
  for (const [name, init, status, code, message] of cases) {
    await t.step(`${status} ${name}`, async () => {
      const res = await app.request("/login", {
        method: "POST",
        ...init,
        headers: {
          "Content-Type": "application/json",
          ...(init.headers as Record<string, string>),
        },
      });
      assert.equal(res.status, status);
      assert.match(res.headers.get("Content-Type") ?? "", /application\/json/);
      const body = await res.json();
      assert.equal(body.code, code);
      if (message) assert.equal(body.error, message);
    });
  }
});

Deno.test("POST /login refuses a user_id with a lone surrogate (it would alias another id)", async () => {
  using app = await makeApp();
  const res = await app.post("/login", '{"user_id":"b\\ud800","password":"whatever1"}');
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, "user_id must be valid Unicode");
});

Deno.test("POST /login, /me/password, PATCH /admin/users: a password with a lone surrogate is 400", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery", ["admin", "user"]);
  const { token } = await login(t, "ada", "correct horse battery");
  const auth = { Authorization: `Bearer ${token}` };
  const answers = [
    // Says nothing about the account: only that the submitted text is not Unicode.
    [await t.post("/login", { user_id: "ada", password: "correct \ud800 battery" }), "password"],
    [await t.post("/login", { user_id: "nobody", password: "\udc00" }), "password"],
    [
      await t.post("/me/password", {
        current_password: "correct horse battery",
        new_password: "a new \udc00 password",
      }, auth),
      "new_password",
    ],
    [
      await t.post("/me/password", {
        current_password: "correct \ud800 battery",
        new_password: "a new long password",
      }, auth),
      "current_password",
    ],
    [
      await t.request("/admin/users/ada", {
        method: "PATCH",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ password: "a new \ud800 password" }),
      }),
      "password",
    ],
  ] as const;
  for (const [res, field] of answers) {
    assert.equal(res.status, 400, field);
    assert.deepEqual(await res.json(), {
      error: `${field} must be valid Unicode`,
      code: "validation_failed",
    });
  }
  assert.ok(!t.logLines.some((line) => line.includes("login_failed")), "no password was checked");
  await login(t, "ada", "correct horse battery"); // nothing changed, nothing locked
});

Deno.test("POST /login with an unusable stored hash: 401, logged once as an error, never the hash", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery");
  const found = (await t.stores.users.getUser("ada"))!;
  const hostile = found.value.passwordHash.replace("m=19456", "m=1048576");
  await t.stores.users.updateUser({ ...found.value, passwordHash: hostile }, found.versionstamp);
  for (let i = 0; i < 3; i++) {
    const res = await t.post("/login", { user_id: "ada", password: "correct horse battery" });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).code, "invalid_credentials");
  }
  const reports = t.logLines.filter((line) => line.includes("password_hash_unusable"));
  assert.equal(reports.length, 1, reports.join("\n"));
  const report = JSON.parse(reports[0]!);
  assert.equal(report.level, "error");
  assert.equal(report.user_id, "ada");
  const salt = hostile.split("$")[4]!;
  assert.ok(!t.logLines.some((line) => line.includes(salt)), "no part of the hash is logged");
});
