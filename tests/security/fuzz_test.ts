/**
 * Property-based fuzzing of the whole in-process app with fast-check.
 *
 * Properties (fixed seed, bounded runs):
 *  1. any method, path, headers, content type, body and client address, on every route and on
 *     unknown paths: the status is < 500; every status >= 400 (except to HEAD) is JSON with a
 *     string `error` and a snake_case `code`; 401 on a bearer route carries a Bearer challenge;
 *     429 carries Retry-After;                                                      2000 runs
 *  2. JSON-ish bodies at POST /login and /refresh: the same, only the contract's statuses, and a
 *     200 from /login only for the one real credential;                              800 runs
 *  3. random, structured and validly-signed-but-random tokens at the bearer routes: never 2xx,
 *     always 401 with a Bearer challenge;                                           1000 runs
 *  4. one-edit mutations of a real access token at GET /me: 200 only when the edit does not
 *     change the decoded bytes, 401 otherwise;                                       600 runs
 * Total: 4,400 runs (about 5 s here). Afterwards the app still logs a user in and serves /me,
 * /healthz and /readyz.
 *
 * A well-formed login costs one argon2id hash (~15-25 ms), so property 2 is the slow one; the
 * generators keep well-formed logins to a minority and the real credential rare.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import fc from "npm:fast-check@^4.3.0";
import { addUser, login, makeApp, TEST_SECRET, type TestApp } from "../helpers/app.ts";
import { b64u, decodePart, forge, seg } from "./_jws.ts";

const SEED = 0x5eed_2026;
const PASSWORD = "correct horse battery";
const FINAL_USER = "fuzz-final-user-7c1e";
const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const BEARER_ROUTES = /^\/(?:me|logout)$|^\/admin\//;
const KNOWN_PATHS = [
  "/login",
  "/refresh",
  "/logout",
  "/me",
  "/healthz",
  "/readyz",
  "/.well-known/jwks.json",
  "/.well-known/openid-configuration",
  "/openapi.json",
  "/metrics",
  "/admin/users",
  "/admin/users/ada",
] as const;
const UNKNOWN_PATHS = [
  "/",
  "/nope",
  "/login/",
  "//login",
  "/LOGIN",
  "/me/",
  "/me/..",
  "/.well-known/",
  "/.well-known/jwks.json/../../me",
  "/%2e%2e/me",
  "/login%00",
  "/%ff",
  "/%zz",
  "/admin",
  "/admin/users/",
  "/admin/users/%00",
  "/index.html",
  "/wp-login.php",
] as const;
const JSON_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/merge-patch+json",
  "application/json;charset=latin1",
  "application/json ; x=y",
] as const;
const OTHER_TYPES = [
  "",
  "text/plain",
  "text/html",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/xml",
  "application/jsonx",
  "json",
  "*/*",
  "application/octet-stream",
] as const;
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
/** The server's kid, known once the app is up; read by the token generator at run time. */
let REAL_KID = "";

// ---------------------------------------------------------------------------------------------
// Generators

const printable = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);
const latin1 = fc.string({
  unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) =>
    String.fromCharCode(c)
  ),
  maxLength: 60,
});
const headerValue = fc.oneof(printable, latin1, fc.constant(""), fc.constant("\t x \t"));
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,24}$/)
  .filter((n) => !/^(content-length|transfer-encoding|host|connection)$/i.test(n));

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE") },
  { weight: 2, arbitrary: fc.constantFrom("HEAD", "OPTIONS") },
  {
    weight: 1,
    arbitrary: fc.stringMatching(/^[A-Za-z]{1,12}$/).filter((m) =>
      !FORBIDDEN_METHODS.has(m.toUpperCase())
    ),
  },
);

const segment = fc.oneof(
  fc.webSegment(),
  fc.string({ unit: "grapheme", maxLength: 12 }).map(encodeURIComponent),
  fc.constantFrom("..", ".", "%2e%2e", "%2F", "%00", "%zz", "%E0%A4%A", "%", ";", "{id}", "*"),
);
const path = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...KNOWN_PATHS) },
  { weight: 2, arbitrary: fc.constantFrom(...UNKNOWN_PATHS) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...KNOWN_PATHS), fc.array(segment, { maxLength: 3 }))
      .map(([base, rest]) => [base, ...rest].join("/")),
  },
  {
    weight: 1,
    arbitrary: fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join("/")}`),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 6000 }).map((n) => `/${"a".repeat(n)}`) },
);
const query = fc.oneof(
  fc.constant(""),
  fc.webQueryParameters().map((q) => `?${q}`),
  fc.constantFrom(
    "?scope=global",
    "?scope=session",
    "?scope=nope",
    "?scope=",
    "?scope=global&scope=session",
    "?limit=-1",
    "?limit=99999999999999999999",
    "?cursor=%00",
    "?limit=1&cursor=zzz",
  ),
);

/** Addresses the connection may come from; 198.51.100.0/24 and 2001:db8::/32 are the proxies. */
const client = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom("198.51.100.7", "2001:db8::1", "::ffff:198.51.100.9", "unknown", "::1"),
);
const forwardedFor = fc.array(
  fc.oneof(fc.ipV4(), fc.ipV6(), printable, fc.constantFrom("unknown", "", " ", "::ffff:1.2.3.4")),
  { maxLength: 5 },
).map((hops) => hops.join(", "));

/** Strings that look like JWTs more or less. */
const b64uText = fc.stringMatching(/^[A-Za-z0-9_-]{0,120}$/);
const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
  maxKeys: 6,
});
const tokenString = fc.oneof(
  b64uText,
  fc.tuple(b64uText, b64uText, b64uText).map((parts) => parts.join(".")),
  fc.array(b64uText, { maxLength: 6 }).map((parts) => parts.join(".")),
  fc.tuple(jsonObject, jsonObject, b64uText).map(([h, p, s]) => `${seg(h)}.${seg(p)}.${s}`),
  // Validly signed with the server's own secret and kid, random header members and claims.
  fc.tuple(jsonObject, jsonObject).map(([h, p]) =>
    forge({ ...h, alg: "HS256", kid: REAL_KID }, p, "HS256", TEST_SECRET)
  ),
  fc.tuple(
    jsonObject,
    fc.record({
      sub: fc.oneof(fc.string(), fc.jsonValue()),
      role: fc.oneof(fc.constantFrom("user", "admin"), fc.jsonValue()),
      iat: fc.oneof(fc.integer(), fc.jsonValue()),
      exp: fc.oneof(fc.integer(), fc.jsonValue()),
      iss: fc.oneof(fc.constant("https://auth.test"), fc.jsonValue()),
      sid: fc.oneof(fc.uuid(), fc.jsonValue()),
    }, { requiredKeys: [] }),
  ).map(([h, p]) =>
    forge({ typ: "JWT", ...h, alg: "HS256", kid: REAL_KID }, p, "HS256", TEST_SECRET)
  ),
  fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,200}=*$/),
);
const authorization = fc.oneof(
  tokenString.map((t) => `Bearer ${t}`),
  fc.tuple(fc.constantFrom("bearer", "BEARER", "Basic", "Token", "", "Bearer  "), tokenString)
    .map(([scheme, t]) => `${scheme} ${t}`),
  headerValue,
);

/** Login-shaped bodies: right and wrong types, rare real credentials. */
const loginBody = fc.record({
  user_id: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("ada", "admin", "nobody", "ADA", " ada", "ada\u0000") },
    { weight: 4, arbitrary: fc.string({ unit: "grapheme", maxLength: 140 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  ),
  password: fc.oneof(
    { weight: 1, arbitrary: fc.constant(PASSWORD) },
    { weight: 6, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ minLength: 1020, maxLength: 1030 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  ),
  role: fc.oneof(fc.constantFrom("user", "admin", "", "root"), fc.jsonValue({ maxDepth: 1 })),
  extra: fc.jsonValue({ maxDepth: 2 }),
}, { requiredKeys: [] });
/** Bodies that pass validation, so the credential check (one argon2id hash each) runs. */
const wellFormedLogin = fc.record({
  user_id: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("ada", "nobody") },
    { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,128}$/) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).filter((id) =>
        !/\p{Cc}/u.test(id)
      ),
    },
  ),
  password: fc.oneof(
    { weight: 1, arbitrary: fc.constant(PASSWORD) },
    { weight: 4, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }) },
  ),
  role: fc.constantFrom("user", "admin", "root", "USER"),
}, { requiredKeys: ["user_id", "password"] });
const refreshBody = fc.record({
  refresh_token: fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    fc.string({ maxLength: 600 }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
}, { requiredKeys: [] });

const deepArray = fc.integer({ min: 50, max: 8000 }).map((n) => "[".repeat(n) + "]".repeat(n));
const deepObject = fc.integer({ min: 50, max: 2700 }).map((n) =>
  '{"user_id":'.repeat(n) + '"x"' + "}".repeat(n)
);
const body = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 300 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 100 }) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 3, arbitrary: loginBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: wellFormedLogin.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: refreshBody.map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: deepArray },
  { weight: 1, arbitrary: deepObject },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 16 * 1024 - 40, max: 64 * 1024 }).map((n) =>
      JSON.stringify({ user_id: "a".repeat(n), password: "x" })
    ),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "null",
      "{}",
      "[]",
      '"x"',
      "1e999",
      "-0",
      '{"__proto__":{"admin":true},"user_id":"ada","password":"x"}',
      '{"constructor":{"prototype":{"x":1}}}',
      '{"user_id":"ada","user_id":"admin","password":"whatever1"}',
      "\ufeff{}",
      '{"user_id":"\\ud800","password":"\\udfff"}',
    ),
  },
);
const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...JSON_TYPES) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_TYPES) },
  { weight: 1, arbitrary: headerValue },
);

interface FuzzRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: string | Uint8Array | undefined;
  client: string;
}

const anyRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  method,
  path: fc.tuple(path, query).map(([p, q]) => p + q),
  headers: fc.tuple(
    fc.option(contentType, { nil: undefined }),
    fc.option(authorization, { nil: undefined }),
    fc.option(forwardedFor, { nil: undefined }),
    fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }),
    fc.subarray([
      ["Accept", "text/html"],
      ["Origin", "https://evil.example"],
      ["Content-Encoding", "gzip"],
      ["Cookie", "session=1"],
      ["Accept-Encoding", "br"],
      ["X-HTTP-Method-Override", "DELETE"],
    ] as [string, string][]),
  ).map(([type, auth, xff, random, fixed]) => [
    ...(type === undefined ? [] : [["Content-Type", type] as [string, string]]),
    ...(auth === undefined ? [] : [["Authorization", auth] as [string, string]]),
    ...(xff === undefined ? [] : [["X-Forwarded-For", xff] as [string, string]]),
    ...random,
    ...fixed,
  ]),
  body: fc.option(body, { nil: undefined }),
  client,
});

// ---------------------------------------------------------------------------------------------
// Checks

async function send(app: TestApp, request: FuzzRequest): Promise<Response> {
  const headers = new Headers();
  for (const [name, value] of request.headers) headers.append(name, value);
  const withBody = request.body !== undefined &&
    !["GET", "HEAD"].includes(request.method.toUpperCase());
  return await app.request(
    `http://localhost${request.path}`,
    {
      method: request.method,
      headers,
      ...(withBody ? { body: request.body as BodyInit } : {}),
    },
    request.client,
  );
}

/** The properties every answer satisfies; returns the parsed error body, if any. */
async function checkAnswer(
  res: Response,
  request: { method: string; path: string },
): Promise<{ error: string; code: string } | undefined> {
  const label = `${request.method} ${request.path.slice(0, 200)}`;
  const text = await res.text();
  assert.ok(res.status < 500, `${label}: ${res.status} ${text.slice(0, 300)}`);
  if (res.status === 429) assert.match(res.headers.get("retry-after") ?? "", /^\d+$/, label);
  const pathname = new URL(`http://localhost${request.path}`).pathname;
  if (res.status === 401 && BEARER_ROUTES.test(pathname)) {
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="[^"]*"/, label);
  }
  if (res.status < 400) return undefined;
  if (request.method.toUpperCase() === "HEAD") {
    assert.equal(text, "", label);
    return undefined;
  }
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${label}: ${text}`);
  const parsed: unknown = JSON.parse(text);
  assert.ok(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed), label);
  const { error, code } = parsed as { error?: unknown; code?: unknown };
  assert.equal(typeof error, "string", `${label}: ${text}`);
  assert.ok((error as string).length > 0, label);
  assert.doesNotMatch(error as string, /\n\s+at |\.ts:\d+/, `${label}: stack trace in ${text}`);
  assert.equal(typeof code, "string", `${label}: ${text}`);
  assert.match(code as string, SNAKE_CASE, `${label}: ${text}`);
  return { error: error as string, code: code as string };
}

/** The decoded bytes of each segment; equal arrays mean the same signed content. */
function decodedSegments(token: string): string[] {
  return token.split(".").map((s) => Buffer.from(s, "base64url").toString("hex"));
}

// ---------------------------------------------------------------------------------------------

Deno.test("fuzz: the app never fails on hostile input and answers errors in one shape", async (t) => {
  using app = await makeApp({
    LOGIN_LIMIT_PER_CLIENT: "1000000/1m",
    REFRESH_LIMIT_PER_CLIENT: "1000000/1m",
    TRUST_PROXY: "198.51.100.0/24, 2001:db8::/32",
    LOG_LEVEL: "silent",
  });
  await addUser(app, "ada", PASSWORD, ["user", "admin"]);
  await addUser(app, FINAL_USER, PASSWORD, ["user"]);
  const session = await login(app, "ada", PASSWORD);
  REAL_KID = String(decodePart(session.token, 0).kid);
  const statuses = new Map<number, number>();
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);

  await t.step("1. any request to any path (2000 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(anyRequest, async (request) => {
        const res = await send(app, request);
        count(res.status);
        await checkAnswer(res, request);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  await t.step("2. bodies at POST /login and /refresh (800 runs)", async () => {
    const allowed: Record<string, readonly number[]> = {
      "/login": [200, 400, 401, 403, 413, 415, 429],
      "/refresh": [200, 400, 401, 413, 415, 429],
    };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(
            fc.constant("/login"),
            fc.oneof(
              { weight: 4, arbitrary: wellFormedLogin.map((b) => JSON.stringify(b)) },
              {
                weight: 1,
                arbitrary: fc.constant(
                  JSON.stringify({ user_id: "ada", password: PASSWORD, role: "root" }),
                ),
              },
              { weight: 2, arbitrary: loginBody.map((b) => JSON.stringify(b)) },
              { weight: 3, arbitrary: body },
            ),
          ),
          fc.tuple(
            fc.constant("/refresh"),
            fc.oneof(
              { weight: 1, arbitrary: refreshBody.map((b) => JSON.stringify(b)) },
              { weight: 1, arbitrary: body },
            ),
          ),
        ),
        fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...JSON_TYPES) }, {
          weight: 1,
          arbitrary: contentType,
        }),
        client,
        async ([route, payload], type, from) => {
          const request = {
            method: "POST",
            path: route,
            headers: [["Content-Type", type]] as [string, string][],
            body: payload,
            client: from,
          };
          const res = await send(app, request);
          count(res.status);
          const status = res.status;
          await checkAnswer(res, request);
          assert.ok(allowed[route]?.includes(status), `${route}: unexpected ${status}`);
          if (route === "/login" && status === 200) {
            const sent = JSON.parse(typeof payload === "string" ? payload : "null");
            assert.equal(sent.user_id, "ada", "a 200 only for the real user");
            assert.equal(sent.password, PASSWORD, "a 200 only for the real password");
          }
        },
      ),
      { seed: SEED + 1, numRuns: 800 },
    );
  });

  await t.step("3. random tokens at the bearer routes (1000 runs)", async () => {
    const routes = [
      ["GET", "/me"],
      ["POST", "/logout"],
      ["POST", "/logout?scope=global"],
      ["GET", "/admin/users"],
      ["DELETE", "/admin/users/ada"],
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        authorization,
        client,
        async ([verb, route], auth, from) => {
          const request = {
            method: verb,
            path: route,
            headers: [["Authorization", auth]] as [string, string][],
            body: undefined,
            client: from,
          };
          const res = await send(app, request);
          count(res.status);
          const status = res.status;
          const error = await checkAnswer(res, request);
          assert.equal(status, 401, `${verb} ${route} with ${auth.slice(0, 100)}: ${status}`);
          assert.ok(error && ["invalid_token", "missing_token"].includes(error.code));
        },
      ),
      { seed: SEED + 2, numRuns: 1000 },
    );
  });

  await t.step("4. one-edit mutations of a real token at GET /me (600 runs)", async () => {
    const real = session.token;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+/=~";
    const mutation = fc.oneof(
      fc.tuple(fc.nat(real.length - 1), fc.constantFrom(...alphabet)).map(([i, c]) =>
        real.slice(0, i) + c + real.slice(i + 1)
      ),
      fc.nat(real.length - 1).map((i) => real.slice(0, i) + real.slice(i + 1)),
      fc.tuple(fc.nat(real.length), fc.constantFrom(...alphabet)).map(([i, c]) =>
        real.slice(0, i) + c + real.slice(i)
      ),
      fc.nat(real.length - 1).map((i) => real.slice(0, i)),
      fc.constantFrom(
        real.split(".").reverse().join("."),
        real.toUpperCase(),
        real.toLowerCase(),
        `${real}.${real}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (mutated) => {
        const request = {
          method: "GET",
          path: "/me",
          headers: [["Authorization", `Bearer ${mutated}`]] as [string, string][],
          body: undefined,
          client: "192.0.2.1",
        };
        const res = await send(app, request);
        count(res.status);
        const status = res.status;
        await checkAnswer(res, request);
        // Every segment must be canonical base64url, so only the exact token string passes:
        // a different spelling of the same bytes is refused too.
        if (mutated === real) assert.equal(status, 200);
        else assert.equal(status, 401, `mutated token accepted: ${mutated}`);
      }),
      { seed: SEED + 3, numRuns: 600 },
    );
  });

  await t.step("afterwards the app still serves", async () => {
    const fresh = await login(app, FINAL_USER, PASSWORD);
    const me = await app.request("/me", { headers: { Authorization: `Bearer ${fresh.token}` } });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).claims.sub, FINAL_USER);
    const still = await app.request("/me", {
      headers: { Authorization: `Bearer ${session.token}` },
    });
    assert.equal(still.status, 200, "no fuzzed request ended the real session");
    for (const probe of ["/healthz", "/readyz", "/.well-known/jwks.json"]) {
      assert.equal((await app.request(probe)).status, 200, probe);
    }
    // The fuzz reached more than one kind of answer (it is not all 404s or all 401s).
    for (const status of [200, 400, 401, 403, 404, 413, 415, 429]) {
      assert.ok((statuses.get(status) ?? 0) > 0, `no ${status} in ${[...statuses]}`);
    }
  });
});

// Keep the helpers honest: a seeded base64url of a known value.
Deno.test("fuzz helpers: segments decode to what was encoded", () => {
  assert.equal(b64u("{}"), "e30");
  assert.deepEqual(decodedSegments("e30.e30.AA"), ["7b7d", "7b7d", "00"]);
});
