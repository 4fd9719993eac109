/**
 * `/openapi.json` and the validation cannot drift: every field a request documents (JSON body
 * properties, nested ones too, query and path parameters) is refused with 400
 * `validation_failed` when it is wrong and everything else is as the document's example shows;
 * and the document's generator is not loaded until the document is asked for (start-up).
 * `openapi_test.ts` checks that every route is in the document.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";
import { ROOT, runDeno, startServer } from "../helpers/server_process.ts";

/** A JSON Schema as the document has it (the parts this test reads). */
interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
  example?: unknown;
}
interface Parameter {
  name: string;
  in: "query" | "path" | "header" | "cookie";
  schema: JsonSchema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}

/**
 * Operations whose request the document describes but a handler reads by hand, each with why:
 * the OAuth endpoints answer RFC 6749 section 5.2's errors for their form (`oauth/`), and the
 * browser routes answer pages.
 */
const READ_BY_HAND = new Set([
  "POST /oauth/token",
  "POST /oauth/revoke",
  "POST /oauth/introspect",
  "GET /authorize",
  "POST /authorize/login",
  "GET /end-session",
  "POST /end-session",
]);

/** A value of the wrong kind for `schema`, or one over its bounds; undefined when none exists. */
function wrongValue(schema: JsonSchema, inQuery: boolean): unknown {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (inQuery) {
    if (type === "number" || type === "integer") return "not-a-number";
    if (schema.enum) return "not-one-of-them";
    if (schema.maxLength !== undefined) return "x".repeat(schema.maxLength + 1);
    return undefined;
  }
  if (type === "string") return 12345;
  if (type === "object" || schema.properties) return "not an object";
  return { not: "this" };
}

function resolve(doc: Doc, schema: JsonSchema): JsonSchema {
  const name = schema.$ref?.replace("#/components/schemas/", "");
  return name === undefined ? schema : resolve(doc, doc.components.schemas[name]!);
}

/** Every (path, wrong value) of a JSON body schema, nested objects included. */
function wrongFields(doc: Doc, schema: JsonSchema, path: string[] = []): [string[], unknown][] {
  const out: [string[], unknown][] = [];
  for (const [name, property] of Object.entries(resolve(doc, schema).properties ?? {})) {
    const field = resolve(doc, property);
    out.push([[...path, name], wrongValue(field, false)]);
    if (field.properties) out.push(...wrongFields(doc, field, [...path, name]));
  }
  return out;
}

/** `body` with the value at `path` replaced (objects on the way copied). */
function withValue(body: unknown, path: readonly string[], value: unknown): unknown {
  const [head, ...rest] = path;
  const object = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  return { ...object, [head!]: rest.length === 0 ? value : withValue(object[head!], rest, value) };
}

async function ask(
  t: TestApp,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; code?: string; error?: string }> {
  const res = await t.request(path, {
    method: method.toUpperCase(),
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const answer = text.startsWith("{") ? JSON.parse(text) : {};
  return { status: res.status, code: answer.code, error: answer.error };
}

Deno.test("every documented request field is validated: a wrong one answers 400 validation_failed", async () => {
  using t = await makeApp();
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  const { token } = await login(t, "root", "root password 1");
  const doc: Doc = await (await t.request("/openapi.json")).json();
  const checked: string[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const name = `${method.toUpperCase()} ${template}`;
      const parameters = operation.parameters ?? [];
      const body = operation.requestBody?.content["application/json"]?.schema;
      if (parameters.length === 0 && body === undefined) continue;
      if (READ_BY_HAND.has(name)) continue;
      // No such user, session or client: past validation, the handler answers 404.
      const path = template.replace(/\{[a-z_]+\}/g, "nobody");
      // A POST without a body of its own still sends `{}`: the /admin/* guard wants JSON.
      const example = body !== undefined
        ? resolve(doc, body).example ?? {}
        : method === "post" || method === "patch"
        ? {}
        : undefined;
      const query = (params: Record<string, string>) =>
        Object.keys(params).length ? `?${new URLSearchParams(params)}` : "";

      const wrongs: { field: string; path: string; body?: unknown }[] = [];
      for (const parameter of parameters) {
        const wrong = wrongValue(parameter.schema, true);
        assert.notEqual(wrong, undefined, `${name}: ${parameter.name} documents no constraint`);
        const value = encodeURIComponent(String(wrong));
        wrongs.push({
          field: parameter.name,
          path: parameter.in === "path"
            ? template.replace(`{${parameter.name}}`, value).replace(/\{[a-z_]+\}/g, "nobody")
            : path + query({ [parameter.name]: String(wrong) }),
          ...(example === undefined ? {} : { body: example }),
        });
      }
      for (const [fieldPath, wrong] of body === undefined ? [] : wrongFields(doc, body)) {
        wrongs.push({
          field: fieldPath.join("."),
          path,
          body: withValue(example, fieldPath, wrong),
        });
      }
      for (const wrong of wrongs) {
        const answer = await ask(t, method, wrong.path, token, wrong.body);
        assert.equal(answer.status, 400, `${name} ${wrong.field}: ${JSON.stringify(answer)}`);
        assert.equal(answer.code, "validation_failed", `${name} ${wrong.field}`);
        checked.push(`${name} ${wrong.field}`);
      }
      // The example itself passes validation (so the refusals above were the field's).
      if (name === "POST /logout") continue; // it would end the session this test signs with
      const base = await ask(t, method, path, token, example);
      assert.ok(
        !(base.status === 400 && base.code === "validation_failed"),
        `${name} example is valid: ${JSON.stringify(base)}`,
      );
    }
  }
  // The loop reached the routes with bodies, parameters and nested fields.
  for (
    const expected of [
      "POST /login user_id",
      "POST /login password",
      "GET /admin/users limit",
      "GET /admin/users cursor",
      "PATCH /admin/users/{id} id",
      "PATCH /admin/users/{id} disabled",
      "POST /logout scope",
      "POST /me/passkeys/registration response.id",
      "DELETE /sessions/{sid} sid",
    ]
  ) assert.ok(checked.includes(expected), `${expected} was checked`);
});

Deno.test("the operations read by hand are documented with a request", async () => {
  using t = await makeApp();
  const doc: Doc = await (await t.request("/openapi.json")).json();
  for (const name of READ_BY_HAND) {
    const [method, path] = name.split(" ") as [string, string];
    const operation = doc.paths[path]?.[method.toLowerCase()];
    assert.ok(operation?.requestBody || operation?.parameters?.length, name);
  }
});

needs(READ, RUN_DENO)(
  "the OpenAPI generator is loaded by the first GET /openapi.json, not at start-up",
  async () => {
    // `@hono/zod-openapi` adds `.openapi` to zod's schemas when it is evaluated.
    const script = `
      import { z } from "zod";
      import { makeApp } from "${join(ROOT, "tests/helpers/app.ts")}";
      using t = await makeApp();
      await t.request("/healthz");
      await t.post("/login", { user_id: "ada", password: "x" });
      console.log(typeof z.ZodType.prototype.openapi);
      await t.request("/openapi.json");
      console.log(typeof z.ZodType.prototype.openapi);
    `;
    const result = await runDeno(ROOT, ["eval", "--ext=ts", script]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split("\n"), ["undefined", "function"]);
  },
);

Deno.test("every operation that documents 415 answers it for a body that is not JSON", async () => {
  using t = await makeApp();
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  const { token } = await login(t, "root", "root password 1");
  const doc: Doc & {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  } = await (await t.request("/openapi.json")).json();
  const checked: string[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!("415" in operation.responses)) continue;
      const name = `${method.toUpperCase()} ${template}`;
      // A browser form's 415 is a page (for JSON); the JSON API's is an error (for text).
      const answer = operation.responses["415"] as { content?: Record<string, unknown> };
      const form = answer.content?.["text/html"] !== undefined;
      const path = template.replace(/\{[a-z_]+\}/g, "nobody");
      for (const type of form ? ["application/json"] : ["text/plain", undefined]) {
        const res = await t.request(path, {
          method: method.toUpperCase(),
          headers: { Authorization: `Bearer ${token}`, ...(type ? { "Content-Type": type } : {}) },
          // Bytes: a string body would bring its own Content-Type (text/plain).
          body: new TextEncoder().encode("{}"),
        });
        assert.equal(res.status, 415, `${name} with ${type ?? "no Content-Type"}`);
        if (!form) assert.equal((await res.json()).code, "unsupported_media_type", name);
        else await res.body?.cancel();
      }
      checked.push(name);
    }
  }
  // The guard of app.ts (/login, /admin/*) and the routes' own (/login/mfa, /me/mfa/...).
  for (const name of ["POST /login", "PATCH /admin/users/{id}", "POST /login/mfa"]) {
    assert.ok(checked.includes(name), `${name} was checked`);
  }
});

needs(READ, WRITE, NET, RUN_DENO)(
  "a real server (the start task's permissions) loads the generator and serves the document",
  async () => {
    const server = await startServer({ stdout: "null" });
    try {
      for (let i = 0; i < 2; i++) { // built once, then kept
        const res = await fetch(`${server.url}/openapi.json`);
        assert.equal(res.status, 200);
        const doc = await res.json();
        assert.equal(doc.openapi, "3.1.0");
        assert.equal(doc.paths["/login"].post.operationId, "postLogin");
      }
    } finally {
      await server.stop();
    }
  },
);
