import assert from "node:assert/strict";
import { Hono } from "hono";
import { securityHeaderList, securityHeaders } from "../../src/middleware/security_headers.ts";
import { addUser, login, makeApp, TEST_SECRET } from "../helpers/app.ts";

Deno.test("secure headers on every answer; no-store on tokens; CORS off by default", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery");
  const responses = [
    await t.post("/login", { user_id: "ada", password: "correct horse battery" }, {
      Origin: "https://evil.example",
    }),
    await t.request("/healthz", { headers: { Origin: "https://evil.example" } }),
    await t.request("/nope"),
    await t.post("/login", "{bad"),
  ];
  for (const res of responses) {
    assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff");
    // frame-ancestors in the CSP does what X-Frame-Options did: one header, not two.
    assert.equal(res.headers.get("X-Frame-Options"), null);
    assert.equal(
      res.headers.get("Content-Security-Policy"),
      "default-src 'none'; frame-ancestors 'none'",
    );
    assert.ok(res.headers.get("Strict-Transport-Security"));
    assert.equal(res.headers.get("Access-Control-Allow-Origin"), null);
    // The request id goes back only with a 5xx (docs/security.md, "Headers"); it is in the log line.
    assert.equal(res.headers.get("X-Request-Id"), null);
  }
  for (const res of responses) assert.equal(res.headers.get("Cache-Control"), "no-store");
  // A route's own caching policy is kept: the JWKS is public and cacheable.
  const jwks = await t.request("/.well-known/jwks.json");
  assert.equal(jwks.headers.get("Cache-Control"), "public, max-age=300");
  assert.equal(jwks.headers.get("X-Content-Type-Options"), "nosniff");
  const notFound = await responses[2]!.json();
  assert.deepEqual(notFound, { error: "not found", code: "not_found" });
});

Deno.test("HSTS only where the public address is https", async () => {
  const answer = async (options: { issuer?: string }) => {
    const app = new Hono();
    app.use(securityHeaders(options));
    app.get("/", (c) => c.json({ ok: true }));
    return (await app.request("/")).headers;
  };
  assert.equal(
    (await answer({ issuer: "http://localhost:10000" })).get("strict-transport-security"),
    null,
  );
  assert.match(
    (await answer({ issuer: "https://auth.example.com" })).get("strict-transport-security") ?? "",
    /^max-age=\d+/,
  );
  assert.equal((await answer({ issuer: "http://x" })).get("cache-control"), "no-store");
  for (const [name] of securityHeaderList()) assert.equal(name, name.toLowerCase());
});

Deno.test("security headers on every way an answer is built: c.json, a bare Response, onError", async () => {
  const app = new Hono();
  app.use(securityHeaders({ issuer: "http://localhost:10000" }));
  app.get("/json", (c) => c.json({ ok: true }));
  app.get("/bare", () => new Response("{}", { headers: { "content-type": "application/json" } }));
  app.get("/own", (c) => {
    c.header("cache-control", "public, max-age=60");
    return c.json({ ok: true });
  });
  app.get("/throws", () => {
    throw new Error("boom");
  });
  app.onError((_err, c) => c.json({ code: "internal_error" }, 500));
  const expected = securityHeaderList({ issuer: "http://localhost:10000" });
  for (const path of ["/json", "/bare", "/throws", "/own"]) {
    const headers = (await app.request(path)).headers;
    for (const [name, value] of expected) {
      const want = path === "/own" && name === "cache-control" ? "public, max-age=60" : value;
      assert.equal(headers.get(name), want, `${path} ${name}`);
    }
  }
});

Deno.test("CORS answers only the configured origins", async () => {
  using t = await makeApp({ CORS_ORIGINS: "https://app.example" });
  const preflight = (origin: string) =>
    t.request("/login", {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST" },
    });
  const ok = await preflight("https://app.example");
  assert.equal(ok.headers.get("Access-Control-Allow-Origin"), "https://app.example");
  const other = await preflight("https://evil.example");
  assert.notEqual(other.headers.get("Access-Control-Allow-Origin"), "https://evil.example");
});

Deno.test("logs: one JSON line per request, security events, and never a secret", async () => {
  using t = await makeApp({ REFRESH_GRACE_SECONDS: "0" });
  await addUser(t, "ada", "correct horse battery");
  const pair = await login(t, "ada", "correct horse battery");
  await t.post("/login", { user_id: "ada", password: "wrong password here" });
  const rotated = await (await t.post("/refresh", { refresh_token: pair.refresh_token })).json();
  await t.post("/refresh", { refresh_token: pair.refresh_token }); // reuse
  await t.request("/me", { headers: { Authorization: `Bearer ${rotated.token}` } });

  const text = t.logLines.join("\n");
  for (
    const secret of [
      "correct horse battery",
      "wrong password here",
      pair.token,
      pair.refresh_token,
      rotated.token,
      rotated.refresh_token,
      TEST_SECRET,
    ]
  ) {
    assert.equal(text.includes(secret), false, `log holds ${secret.slice(0, 12)}...`);
  }
  const lines = t.logLines.map((line) => JSON.parse(line));
  const requests = lines.filter((l) => l.event === "request");
  assert.equal(requests.length, 5);
  for (const r of requests) {
    assert.equal(typeof r.time, "string");
    assert.equal(typeof r.request_id, "string");
    assert.equal(typeof r.duration_ms, "number");
    assert.ok(["POST", "GET"].includes(r.method));
  }
  assert.equal(requests[0].sub, undefined); // /login has no verified token
  const events = new Set(lines.map((l) => l.event));
  for (const e of ["login", "login_failed", "refreshed", "refresh_reused"]) {
    assert.ok(events.has(e), e);
  }
});

Deno.test("/metrics counts outcomes and is guarded by METRICS_TOKEN when set", async () => {
  using t = await makeApp({ METRICS_TOKEN: "metrics-token-123", REFRESH_GRACE_SECONDS: "0" });
  await addUser(t, "ada", "correct horse battery");
  const pair = await login(t, "ada", "correct horse battery");
  await t.post("/login", { user_id: "ada", password: "wrong password" });
  await t.post("/refresh", { refresh_token: pair.refresh_token });
  await t.post("/refresh", { refresh_token: pair.refresh_token });

  assert.equal((await t.request("/metrics")).status, 401);
  const wrong = await t.request("/metrics", {
    headers: { Authorization: "Bearer metrics-token-124" },
  });
  assert.equal(wrong.status, 401);
  const res = await t.request("/metrics", {
    headers: { Authorization: "Bearer metrics-token-123" },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /text\/plain/);
  const text = await res.text();
  assert.match(text, /auth_logins_total\{outcome="success"\} 1/);
  assert.match(text, /auth_logins_total\{outcome="invalid_credentials"\} 1/);
  assert.match(text, /auth_refreshes_total\{outcome="success"\} 1/);
  assert.match(text, /auth_refresh_reuse_detected_total 1/);
  assert.match(
    text,
    /auth_http_request_duration_seconds_count\{route="\/login",method="POST",status="200"\} 1/,
  );
});

Deno.test("readyz answers 503 JSON when the store is gone", async () => {
  const t = await makeApp();
  assert.equal((await t.request("/readyz")).status, 200);
  t.close();
  const res = await t.request("/readyz");
  assert.equal(res.status, 503);
  assert.equal((await res.json()).code, "not_ready");
  assert.equal((await t.request("/healthz")).status, 200);
});

Deno.test("/metrics labels come from closed sets: made-up methods and paths add no series", async () => {
  using t = await makeApp();
  for (let i = 0; i < 20; i++) {
    const res = await t.request(`/made-up-${i}`, { method: `ZZQQ${i}` });
    await res.body?.cancel();
  }
  const text = await (await t.request("/metrics")).text();
  assert.doesNotMatch(text, /ZZQQ|made-up/);
  assert.match(
    text,
    /auth_http_request_duration_seconds_count\{route="unmatched",method="OTHER",status="404"\} 20/,
  );
});
