import assert from "node:assert/strict";
import * as schemas from "../../src/routes/schemas.ts";
import { ErrorBodySchema } from "../../src/wire.ts";
import { makeApp } from "../helpers/app.ts";

interface DocResponse {
  content?: Record<string, { schema?: { $ref?: string; anyOf?: { $ref?: string }[] } }>;
}

/** Routes a browser opens: their refusals are HTML pages, not JSON. */
const BROWSER_PAGES = [
  "/authorize",
  "/authorize/login",
  "/authorize/mfa",
  "/authorize/passkey",
  "/authorize/continue",
  "/end-session",
];

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, "{$1}");

Deno.test("/openapi.json lists every route the app serves, and nothing else", async () => {
  using t = await makeApp();
  const doc = await (await t.request("/openapi.json")).json();
  assert.equal(doc.openapi, "3.1.0");
  const documented = new Set<string>();
  for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
    for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
  }
  const served = new Set(
    t.app.routes
      // Handlers take (c); middleware takes (c, next) and answers no route by itself.
      .filter((r) => r.handler.length < 2 && r.method !== "ALL" && r.path !== "/openapi.json")
      .map((r) => `${r.method} ${toOpenApiPath(r.path)}`),
  );
  assert.deepEqual([...served].sort(), [...documented].sort());
  assert.ok(documented.has("POST /login") && documented.has("PATCH /admin/users/{id}"));
});

Deno.test("/openapi.json examples validate against the schemas that validate requests", async () => {
  using t = await makeApp();
  const doc = await (await t.request("/openapi.json")).json();
  const components: Record<string, { example?: unknown }> = doc.components.schemas;
  const byName: Record<string, { safeParse(v: unknown): { success: boolean } }> = {
    LoginRequest: schemas.LoginBody,
    RefreshRequest: schemas.RefreshBody,
    TokenPair: schemas.TokenPair,
    Error: ErrorBodySchema,
    Claims: schemas.Claims,
    User: schemas.User,
    NewUser: schemas.NewUserBody,
    UserPatch: schemas.UserPatchBody,
  };
  for (const [name, schema] of Object.entries(byName)) {
    const example = components[name]?.example;
    assert.notEqual(example, undefined, `${name} has an example`);
    assert.ok(schema.safeParse(example).success, `${name} example validates`);
  }
  // And the documented login example really logs in shape-wise: the same schema refuses junk.
  assert.equal(schemas.LoginBody.safeParse({ user_id: 1 }).success, false);
});

Deno.test("/openapi.json marks bearer routes and documents every error as the Error (OAuthError) schema", async () => {
  using t = await makeApp();
  const doc = await (await t.request("/openapi.json")).json();
  assert.deepEqual(doc.components.securitySchemes.bearer, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  const bearerRoutes = [
    "/me",
    "/admin/users",
    "/admin/users/{id}",
    "/sessions",
    "/sessions/{sid}",
    "/me/password",
    "/me/mfa",
    "/me/mfa/totp",
    "/me/mfa/totp/confirm",
    "/me/mfa/recovery-codes",
    "/admin/users/{id}/mfa",
  ];
  for (const path of bearerRoutes) {
    for (const operation of Object.values<{ security?: unknown[] }>(doc.paths[path])) {
      assert.deepEqual(operation.security, [{ bearer: [] }], path);
    }
  }
  // /logout: a bearer token, or none with {"refresh_token"} in the body.
  assert.deepEqual(doc.paths["/logout"].post.security, [{ bearer: [] }, {}]);
  for (
    const [path, item] of Object.entries<
      Record<string, { responses: Record<string, DocResponse> }>
    >(
      doc.paths,
    )
  ) {
    for (const [method, operation] of Object.entries(item)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        // The browser sign-in pages answer a person with a page (413 comes from the body guard).
        if (BROWSER_PAGES.includes(path) && response.content?.["text/html"]) continue;
        const documented = response.content?.["application/json"]?.schema;
        if (path === "/login" && status === "403") {
          // A user with an active second factor gets the mfa_required body (Error's fields and
          // two more); a role not granted, the Error body.
          const refs = (documented?.anyOf ?? []).map((s) => s.$ref);
          assert.deepEqual(refs, [
            "#/components/schemas/MfaRequired",
            "#/components/schemas/Error",
          ]);
          continue;
        }
        const ref = documented?.$ref;
        // The OAuth endpoints answer in RFC 6749 section 5.2's shape instead.
        const schema = path.startsWith("/oauth/") ? "OAuthError" : "Error";
        assert.equal(ref, `#/components/schemas/${schema}`, `${method} ${path} ${status}`);
      }
    }
  }
});

Deno.test("answers match their documented schemas (/me is served pre-serialized)", async () => {
  using t = await makeApp();
  await t.services.users.add("ada", "correct horse battery", ["user", "editor"]);
  const res = await t.post("/login", { user_id: "ada", password: "correct horse battery" });
  const pair = await res.json();
  assert.ok(schemas.TokenPair.safeParse(pair).success);
  for (let i = 0; i < 2; i++) { // the second answer comes from the serialized cache
    const me = await t.request("/me", { headers: { Authorization: `Bearer ${pair.token}` } });
    assert.equal(me.headers.get("Content-Type"), "application/json");
    const body = await me.json();
    assert.ok(schemas.MeResponse.strict().safeParse(body).success, JSON.stringify(body));
    assert.deepEqual(body.roles, ["user", "editor"]);
  }
  // A role change shows at once on this instance: the gate forgets, the answer is rebuilt.
  await t.services.users.update("ada", { roles: ["user", "editor", "viewer"] });
  const after = await t.request("/me", { headers: { Authorization: `Bearer ${pair.token}` } });
  assert.deepEqual((await after.json()).roles, ["user", "editor", "viewer"]);
  const bad = await t.request("/nope");
  assert.ok(ErrorBodySchema.strict().safeParse(await bad.json()).success);
});
