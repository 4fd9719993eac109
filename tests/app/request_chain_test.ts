/**
 * Issue 24 item 3: security headers, the latency histogram and the request log in one
 * middleware (`requestChain`), with what the three layers gave: the same headers on every way an
 * answer is built, one series per route pattern, one line per request, `x-request-id` on a 5xx
 * only, and nothing logged (no id made) when the log is off.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createLogger } from "../../src/logger.ts";
import { parseTrustedProxies } from "../../src/client_address.ts";
import { createMetrics } from "../../src/metrics.ts";
import { createRequestChain, requestChain } from "../../src/middleware/request_chain.ts";
import { securityHeaderList } from "../../src/middleware/security_headers.ts";

const ISSUER = "https://auth.example.com";

function chainedApp(level: "info" | "warn") {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, (line) => lines.push(JSON.parse(line)));
  const metrics = createMetrics();
  const app = new Hono();
  app.use(requestChain({ logger, trustProxy: parseTrustedProxies("")!, metrics, issuer: ISSUER }));
  app.get("/users/:id", (c) => c.json({ ok: true }));
  app.get("/bare", () => new Response("{}", { headers: { "content-type": "application/json" } }));
  app.get("/own", (c) => {
    c.header("cache-control", "public, max-age=60");
    return c.json({ ok: true });
  });
  app.get("/throws", () => {
    throw new Error("boom");
  });
  app.onError((_err, c) => c.json({ code: "internal_error" }, 500));
  return { app, lines, metrics };
}

Deno.test("one pass: headers on every answer, a line per request, a series per route", async () => {
  const { app, lines, metrics } = chainedApp("info");
  const expected = securityHeaderList({ issuer: ISSUER });
  assert.ok(expected.some(([name]) => name === "strict-transport-security"));
  const paths = ["/users/7", "/bare", "/own", "/throws", "/nowhere?secret=1"];
  const answers = [];
  for (const path of paths) answers.push(await app.request(path));
  for (const [i, res] of answers.entries()) {
    for (const [name, value] of expected) {
      const want = paths[i] === "/own" && name === "cache-control" ? "public, max-age=60" : value;
      assert.equal(res.headers.get(name), want, `${paths[i]} ${name}`);
    }
    await res.body?.cancel();
  }
  // x-request-id only on the 5xx, and it names that request's log line.
  assert.deepEqual(answers.map((r) => r.headers.has("x-request-id")), [
    false,
    false,
    false,
    true,
    false,
  ]);
  assert.equal(lines.length, paths.length);
  assert.deepEqual(lines.map((l) => [l.event, l.method, l.path, l.status]), [
    ["request", "GET", "/users/7", 200],
    ["request", "GET", "/bare", 200],
    ["request", "GET", "/own", 200],
    ["request", "GET", "/throws", 500],
    ["request", "GET", "/nowhere", 404],
  ]);
  assert.equal(lines[3]!.request_id, answers[3]!.headers.get("x-request-id"));
  assert.equal(new Set(lines.map((l) => l.request_id)).size, paths.length);
  for (const line of lines) assert.equal(typeof line.duration_ms, "number");
  const text = metrics.registry.metrics();
  for (
    const series of [
      'route="/users/:id",method="GET",status="200"',
      'route="/throws",method="GET",status="500"',
      'route="unmatched",method="GET",status="404"',
    ]
  ) {
    assert.match(text, new RegExp(`auth_http_request_duration_seconds_count\\{${series}\\} 1`));
  }
  assert.doesNotMatch(text, /nowhere|\/users\/7/);
});

Deno.test("log off (LOG_LEVEL=warn): no line, no request id, the headers and series all the same", async () => {
  const { app, lines, metrics } = chainedApp("warn");
  const res = await app.request("/throws");
  assert.equal(res.status, 500);
  assert.equal(res.headers.get("x-request-id"), null);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(lines.length, 0);
  assert.match(
    metrics.registry.metrics(),
    /auth_http_request_duration_seconds_count\{route="\/throws",method="GET",status="500"\} 1/,
  );
});

Deno.test("an answer that sets some security headers itself still gets every other one", async () => {
  for (const issuer of [ISSUER, "http://127.0.0.1:10000"]) {
    const list = securityHeaderList({ issuer });
    const app = new Hono();
    const logger = createLogger("warn", () => {});
    const trustProxy = parseTrustedProxies("")!;
    app.use(requestChain({ logger, trustProxy, metrics: createMetrics(), issuer }));
    // As `/authorize/passkey.js` does: its own type and nosniff (and here, the list's last one).
    const [lastName, lastValue] = list[list.length - 1]!;
    app.get("/script", () =>
      new Response("void 0;", {
        headers: {
          "content-type": "text/javascript",
          "x-content-type-options": "nosniff",
          [lastName]: lastValue,
        },
      }));
    const res = await app.request("/script");
    await res.body?.cancel();
    for (const [name, value] of list) {
      assert.equal(res.headers.get(name), value, `${issuer} ${name}`);
    }
  }
});

Deno.test("a prepared answer writes the line and series an answered one does, byte for byte", () => {
  const raw: string[] = [];
  const logger = createLogger("info", (line) => raw.push(line), () => 0);
  const metrics = createMetrics();
  const trustProxy = parseTrustedProxies("")!;
  const chain = createRequestChain({ logger, trustProxy, metrics, issuer: ISSUER });
  for (const sub of ["ada", 'o"dd\\\u2028sub', undefined]) {
    const known = { method: "GET", path: "/me", route: "/me", status: 200, sub };
    const client = "2001:db8::7";
    chain.answered({ ...known, client: () => client }, new Headers(), performance.now(), "id-0");
    const once = chain.prepare(known);
    once(performance.now(), () => client);
    once(performance.now(), () => client);
    const [answered, prepared, again] = raw.splice(0).map((line) => JSON.parse(line));
    // Each line its own id, made by the process's generator.
    assert.match(prepared.request_id, /^[0-9a-f]{12}-[0-9a-z]+$/);
    assert.match(again.request_id, /^[0-9a-f]{12}-[0-9a-z]+$/);
    assert.notEqual(prepared.request_id, again.request_id);
    for (const line of [answered, prepared]) {
      line.request_id = "id";
      line.duration_ms = 0;
    }
    assert.deepEqual(Object.keys(prepared), Object.keys(answered));
    assert.deepEqual(prepared, answered);
    assert.equal(Object.hasOwn(prepared, "sub"), sub !== undefined);
  }
  assert.match(
    metrics.registry.metrics(),
    /auth_http_request_duration_seconds_count\{route="\/me",method="GET",status="200"\} 9/,
  );
  // A 5xx's request id is also a header, which only an answered request has.
  const failed = { method: "GET", path: "/me", route: "/me", status: 503, sub: undefined };
  assert.throws(() => chain.prepare(failed), RangeError);
});

Deno.test("the request log's line is what JSON.stringify makes of its fields, in their order", () => {
  const raw: string[] = [];
  const logger = createLogger("info", (line) => raw.push(line), () => 86_400_000);
  const chain = createRequestChain({
    logger,
    trustProxy: parseTrustedProxies("")!,
    metrics: createMetrics(),
    issuer: ISSUER,
  });
  const path = `/a"\\\n\u0001é😀${"x".repeat(300)}`;
  const answered = { method: "PATCH", path, route: "unmatched", status: 404, sub: 's"1' };
  chain.answered({ ...answered, client: () => "198.51.100.4" }, new Headers(), 0, "rid-1");
  const line = JSON.parse(raw[0]!);
  const expected = JSON.stringify({
    time: "1970-01-02T00:00:00.000Z",
    level: "info",
    event: "request",
    request_id: "rid-1",
    method: "PATCH",
    path: path.slice(0, 256),
    status: 404,
    duration_ms: line.duration_ms,
    client: "198.51.100.4",
    sub: 's"1',
  });
  assert.equal(raw[0], expected);
});
