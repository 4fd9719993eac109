/**
 * The HTTP API tables (`docs/http-api.md`) cannot drift: the routes and statuses match `/openapi.json`, the
 * code table matches the server's error table, and real answers (the ones a newcomer met that the
 * table missed) are listed in their route's row.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ERROR_STATUS } from "../../src/errors.ts";
import { addUser, login, makeApp } from "../helpers/app.ts";
import { ROOT } from "../helpers/server_process.ts";
import { needs, READ } from "../helpers/permissions.ts";

const testReading = needs(READ);

interface Row {
  readonly operation: string;
  /** Status -> the codes named after it. */
  readonly answers: Map<number, string[]>;
}

/** The section's markdown table rows as cells. */
function tableRows(section: string, header: string): string[][] {
  const start = section.indexOf(header);
  assert.ok(start >= 0, `docs/http-api.md has the table starting "${header}"`);
  const lines = section.slice(start).split("\n");
  const rows: string[][] = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

/** The HTTP API page (`docs/http-api.md`, moved out of the README). */
function apiSection(): string {
  return Deno.readTextFileSync(join(ROOT, "docs", "http-api.md"));
}

/** `` `POST /admin/users/:id` `{...}` `` -> `POST /admin/users/{id}`. */
function operationOf(cell: string): string {
  const [method, path] = cell.match(/^`([A-Z]+) ([^`]+)`/)!.slice(1) as [string, string];
  return `${method} ${path.split("?")[0]!.replace(/:([A-Za-z_]+)/g, "{$1}")}`;
}

function apiRows(): Row[] {
  return tableRows(apiSection(), "| Method and path").map(([route, _auth, answers]) => {
    const byStatus = new Map<number, string[]>();
    for (const segment of answers!.split(" · ")) {
      const status = Number(segment.match(/^(\d{3})\b/)?.[1]);
      assert.ok(status >= 100, `"${segment}" in ${route} starts with its status`);
      byStatus.set(status, [...segment.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!));
    }
    return { operation: operationOf(route!), answers: byStatus };
  });
}

testReading(
  "docs/http-api.md API table: the routes and statuses of /openapi.json, no more, no fewer",
  async () => {
    using t = await makeApp();
    const doc = await (await t.request("/openapi.json")).json();
    const documented = new Map<string, number[]>();
    for (const [path, item] of Object.entries<Record<string, { responses: object }>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        documented.set(`${method.toUpperCase()} ${path}`, Object.keys(op.responses).map(Number));
      }
    }
    const rows = apiRows();
    assert.deepEqual(rows.map((r) => r.operation).sort(), [...documented.keys()].sort());
    for (const row of rows) {
      assert.deepEqual(
        [...row.answers.keys()].sort(),
        documented.get(row.operation)!.sort(),
        `statuses of ${row.operation}`,
      );
    }
  },
);

testReading("docs/http-api.md code table: every code of the error table with its status", () => {
  const rows = tableRows(apiSection(), "| Code ");
  const table = Object.fromEntries(
    rows.map(([code, status]) => [code!.replaceAll("`", ""), +status!]),
  );
  assert.deepEqual(table, { ...ERROR_STATUS });
  // A JSON error code named after a status in the API table is answered with that status.
  for (const row of apiRows()) {
    for (const [status, codes] of row.answers) {
      for (const code of codes.filter((c) => c in ERROR_STATUS)) {
        assert.equal(
          ERROR_STATUS[code as keyof typeof ERROR_STATUS],
          status,
          `${code} in ${row.operation}`,
        );
      }
    }
  }
});

testReading("docs/http-api.md API table lists the answers a newcomer meets", async () => {
  using t = await makeApp();
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  await addUser(t, "ada", "ada password 1", ["user"]);
  const user = (await login(t, "ada", "ada password 1")).token;
  const rows = new Map(apiRows().map((r) => [r.operation, r.answers]));
  const json = { "Content-Type": "application/json" };
  const probes: [string, string, RequestInit, number, string][] = [
    [
      "POST /login",
      "/login",
      { method: "POST", headers: json, body: "[]" },
      400,
      "validation_failed",
    ],
    ["POST /login", "/login", { method: "POST", body: "{}" }, 415, "unsupported_media_type"],
    [
      "POST /login",
      "/login",
      {
        method: "POST",
        headers: json,
        body: JSON.stringify({ user_id: "a", password: "x".repeat(20_000) }),
      },
      413,
      "payload_too_large",
    ],
    ["GET /me", "/me", {}, 401, "missing_token"],
    ["GET /me", "/me", { headers: { Authorization: "Bearer nope" } }, 401, "invalid_token"],
    [
      "POST /logout",
      "/logout?scope=bogus",
      {
        method: "POST",
        headers: { Authorization: `Bearer ${user}` },
      },
      400,
      "validation_failed",
    ],
    [
      "GET /admin/users",
      "/admin/users",
      {
        headers: { Authorization: `Bearer ${user}` },
      },
      403,
      "insufficient_role",
    ],
  ];
  for (const [operation, path, init, status, code] of probes) {
    const res = await t.request(path, init);
    const body = await res.json();
    assert.equal(res.status, status, `${init.method ?? "GET"} ${path}: ${JSON.stringify(body)}`);
    assert.equal(body.code, code);
    const listed = rows.get(operation)?.get(status);
    assert.ok(listed, `docs/http-api.md lists ${status} for ${operation}`);
    assert.ok(
      listed.length === 0 || listed.includes(code),
      `docs/http-api.md names ${code} after ${status} for ${operation} (it names ${
        listed.join(", ")
      })`,
    );
  }
  const notFound = await t.request("/no-such-path");
  assert.equal(notFound.status, 404);
  assert.equal((await notFound.json()).code, "not_found");
  const challenge = (await t.request("/me")).headers.get("WWW-Authenticate");
  assert.equal(challenge, 'Bearer realm="auth"');
});

Deno.test("validation messages are ours, never the validator's text", async () => {
  using t = await makeApp();
  await addUser(t, "root", "root password 1", ["admin", "user"]);
  const admin = (await login(t, "root", "root password 1")).token;
  const headers = { "Content-Type": "application/json", Authorization: `Bearer ${admin}` };
  const odd = [
    "[]",
    "null",
    '"x"',
    "1",
    "true",
    '{"user_id": []}',
    '{"user_id": "a", "password": {}}',
    '{"roles": "x"}',
    '{"roles": [1]}',
    '{"disabled": "no"}',
    '{"scopes": "x"}',
    '{"grant_types": []}',
    '{"client_id": "c", "grant_types": ["x"]}',
    '{"refresh_token": 5}',
  ];
  for (const path of ["/login", "/refresh", "/admin/users", "/admin/clients"]) {
    for (const body of odd) {
      const res = await t.request(path, { method: "POST", headers, body });
      const answer = await res.json();
      if (res.status !== 400) continue;
      assert.doesNotMatch(
        answer.error,
        /^(Invalid|Too (big|small)|Unrecognized|Expected)\b/,
        `${path} ${body}`,
      );
    }
  }
  const patch = await t.request("/admin/users/root", { method: "PATCH", headers, body: "[]" });
  assert.equal(patch.status, 400);
  assert.equal((await patch.json()).error, "request body must be a JSON object");
  const list = await t.request("/admin/users?limit=abc", { headers });
  assert.doesNotMatch((await list.json()).error, /^Invalid/);
});
