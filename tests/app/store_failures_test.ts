/**
 * A failing store answers 503 `unavailable` with Retry-After on every route that touches it
 * (never 401: the client keeps its good tokens; never 500); a contended one 503 `busy`. Run
 * over the in-memory fakes (tests/helpers/fake_stores.ts) and, for the live bug, a closed KV.
 */
import assert from "node:assert/strict";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import { fakeStores, type Faults } from "../helpers/fake_stores.ts";

const ROOT_PASSWORD = "root password 1";
const ADA_PASSWORD = "correct horse battery";

interface Signed {
  readonly t: TestApp;
  readonly faults: Faults;
  readonly bearer: Record<string, string>;
  readonly refreshToken: string;
}

/** An app on the fakes with admin `root` signed in and user `ada`; the fakes still healthy. */
async function signedIn(): Promise<Signed> {
  const faults: Faults = { mode: "ok" };
  const t = await makeApp({}, undefined, () => fakeStores(faults));
  await addUser(t, "root", ROOT_PASSWORD, ["admin", "user"]);
  await addUser(t, "ada", ADA_PASSWORD);
  const pair = await login(t, "root", ROOT_PASSWORD);
  return {
    t,
    faults,
    bearer: { Authorization: `Bearer ${pair.token}` },
    refreshToken: pair.refresh_token,
  };
}

type Call = [name: string, send: (s: Signed) => Promise<Response>];

const CALLS: Call[] = [
  ["GET /me", (s) => s.t.request("/me", { headers: s.bearer })],
  ["POST /refresh", (s) => s.t.post("/refresh", { refresh_token: s.refreshToken })],
  ["POST /logout", (s) => s.t.request("/logout", { method: "POST", headers: s.bearer })],
  [
    "POST /logout?scope=global",
    (s) => s.t.request("/logout?scope=global", { method: "POST", headers: s.bearer }),
  ],
  ["POST /login", (s) => s.t.post("/login", { user_id: "ada", password: ADA_PASSWORD })],
  ["GET /admin/users", (s) => s.t.request("/admin/users", { headers: s.bearer })],
  ["GET /admin/users/ada", (s) => s.t.request("/admin/users/ada", { headers: s.bearer })],
  [
    "POST /admin/users",
    (s) => s.t.post("/admin/users", { user_id: "bob", password: "bob's passphrase" }, s.bearer),
  ],
  [
    "PATCH /admin/users/ada",
    (s) =>
      s.t.request("/admin/users/ada", {
        method: "PATCH",
        headers: { ...s.bearer, "Content-Type": "application/json" },
        body: JSON.stringify({ disabled: true }),
      }),
  ],
  [
    "DELETE /admin/users/ada",
    (s) => s.t.request("/admin/users/ada", { method: "DELETE", headers: s.bearer }),
  ],
  ["GET /admin/clients", (s) => s.t.request("/admin/clients", { headers: s.bearer })],
  ["POST /admin/clients", (s) => s.t.post("/admin/clients", { client_id: "svc" }, s.bearer)],
];

async function assertRetry(res: Response, code: "unavailable" | "busy", name: string) {
  const body = await res.json();
  assert.equal(res.status, 503, `${name}: ${JSON.stringify(body)}`);
  assert.equal(body.code, code, name);
  assert.equal(res.headers.get("Retry-After"), "1", name);
  assert.equal(res.headers.get("WWW-Authenticate"), null, `${name}: not an auth refusal`);
}

for (const [name, send] of CALLS) {
  Deno.test(`failing store: ${name} answers 503 unavailable, and the tokens still work after`, async () => {
    const s = await signedIn();
    using _ = s.t;
    s.faults.mode = "fail";
    await assertRetry(await send(s), "unavailable", name);
    s.faults.mode = "ok";
    assert.equal((await s.t.request("/me", { headers: s.bearer })).status, 200);
  });

  Deno.test(`failing store behind a cached session check: ${name} still answers 503`, async () => {
    const s = await signedIn();
    using _ = s.t;
    // The gate has just checked this session: the route's own store call is what fails.
    assert.equal((await s.t.request("/me", { headers: s.bearer })).status, 200);
    s.faults.mode = "fail";
    const res = await send(s);
    if (name === "GET /me") {
      assert.equal(res.status, 200, "answered from the gate's 1 s cache, no store call");
      return;
    }
    await assertRetry(res, "unavailable", name);
  });
}

const CONTENDED = new Set([
  "POST /refresh",
  "POST /logout",
  "POST /logout?scope=global",
  "POST /login",
  "PATCH /admin/users/ada",
  "DELETE /admin/users/ada",
]);

for (const [name, send] of CALLS) {
  Deno.test(`contended store: ${name} ${CONTENDED.has(name) ? "answers 503 busy" : "is unaffected"}`, async () => {
    const s = await signedIn();
    using _ = s.t;
    s.faults.mode = "contend";
    const res = await send(s);
    if (CONTENDED.has(name)) return await assertRetry(res, "busy", name);
    // Reads and insert-if-absent cannot lose a race.
    assert.ok(res.status < 300, `${name}: ${res.status} ${await res.text()}`);
  });
}

/** The OAuth endpoints answer the same failures in RFC 6749 section 5.2's shape. */
const OAUTH_CALLS: Call[] = [
  [
    "POST /oauth/token password",
    (s) => oauthPost(s, { grant_type: "password", username: "ada", password: ADA_PASSWORD }),
  ],
  [
    "POST /oauth/token refresh_token",
    (s) => oauthPost(s, { grant_type: "refresh_token", refresh_token: s.refreshToken }),
  ],
  ["POST /oauth/revoke", (s) => oauthPost(s, { token: s.refreshToken }, "/oauth/revoke")],
];

function oauthPost(s: Signed, form: Record<string, string>, path = "/oauth/token") {
  return s.t.request(path, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
}

async function assertOAuthRetry(res: Response, name: string) {
  const body = await res.json();
  assert.equal(res.status, 503, `${name}: ${JSON.stringify(body)}`);
  assert.equal(body.error, "temporarily_unavailable", name);
  assert.deepEqual(Object.keys(body).sort(), ["error", "error_description"], name);
  assert.equal(res.headers.get("Retry-After"), "1", name);
  assert.equal(res.headers.get("Cache-Control"), "no-store", name);
}

for (const [name, send] of OAUTH_CALLS) {
  Deno.test(`failing store: ${name} answers 503 temporarily_unavailable, never 500`, async () => {
    const s = await signedIn();
    using _ = s.t;
    s.faults.mode = "fail";
    await assertOAuthRetry(await send(s), name);
    assert.ok(!s.t.logLines.some((line) => line.includes("unhandled_error")), name);
  });
}

Deno.test("contended store: the OAuth refresh_token grant answers 503 temporarily_unavailable", async () => {
  const s = await signedIn();
  using _ = s.t;
  s.faults.mode = "contend";
  await assertOAuthRetry(await send(s, OAUTH_CALLS[1]!), "POST /oauth/token refresh_token");
});

function send(s: Signed, [, call]: Call): Promise<Response> {
  return call(s);
}

Deno.test("failing store: /readyz answers 503 not_ready through the one mapper", async () => {
  const s = await signedIn();
  using _ = s.t;
  s.faults.mode = "fail";
  const res = await s.t.request("/readyz");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { error: "store is not reachable", code: "not_ready" });
});

Deno.test("a closed Deno KV: /me answers 503 unavailable, not 401, and is logged as such", async () => {
  using t = await makeApp();
  await addUser(t, "ada", ADA_PASSWORD);
  const { token, refresh_token } = await login(t, "ada", ADA_PASSWORD);
  t.kv.close();
  t.clock.advance(2); // past the gate's cache
  const bearer = { Authorization: `Bearer ${token}` };
  await assertRetry(await t.request("/me", { headers: bearer }), "unavailable", "GET /me");
  await assertRetry(
    await t.post("/refresh", { refresh_token }),
    "unavailable",
    "POST /refresh",
  );
  await assertRetry(
    await t.post("/login", { user_id: "ada", password: ADA_PASSWORD }),
    "unavailable",
    "POST /login",
  );
  assert.ok(!t.logLines.some((line) => line.includes("unhandled_error")), "no 500 path taken");
  t.kv.close = () => {}; // already closed; `using` would close it again
});
