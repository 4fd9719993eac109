/**
 * Issue 24: a repeated `GET /me` answered without Hono (`http/me_fast_path.ts`) is the answer
 * the route gives, byte for byte, and is logged and measured the same.
 */
import assert from "node:assert/strict";
import { addUser, login, makeApp } from "../helpers/app.ts";
import { bearer, served } from "../helpers/me_fast_path.ts";

/** Status, every header and the body: what a client can see of an answer. */
async function seen(res: Response) {
  return { status: res.status, headers: [...res.headers], body: await res.text() };
}

Deno.test("a repeated GET /me: the same status, headers and body, log line and series", async () => {
  using t = await makeApp({ LOG_LEVEL: "info" });
  await addUser(t, "ada", "correct horse battery", ["user", "editor"]);
  const { token } = await login(t, "ada", "correct horse battery");
  t.logLines.length = 0;
  const first = await served(t.app, "/me", bearer(token), "198.51.100.7");
  const second = await served(t.app, "/me", bearer(token), "198.51.100.7");
  assert.deepEqual([first.fast, second.fast], [false, true]);
  const [a, b] = [await seen(first.res), await seen(second.res)];
  assert.deepEqual(b, a);
  assert.equal(a.status, 200);
  assert.deepEqual(JSON.parse(a.body).roles, ["user", "editor"]);
  // The chain's whole list (HSTS too: the test issuer is https) and the route's type.
  assert.deepEqual(a.headers.map(([name]) => name), [
    "cache-control",
    "content-security-policy",
    "content-type",
    "strict-transport-security",
    "x-content-type-options",
  ]);

  // One line each, the same but for the request's own id, time and duration.
  const lines = t.logLines.map((line) => JSON.parse(line));
  assert.equal(lines.length, 2);
  const fields = (line: Record<string, unknown>) => {
    const { request_id: _id, time: _time, duration_ms: duration, ...rest } = line;
    assert.equal(typeof duration, "number");
    return rest;
  };
  assert.deepEqual(fields(lines[1]), fields(lines[0]));
  assert.deepEqual(fields(lines[0]), {
    level: "info",
    event: "request",
    method: "GET",
    path: "/me",
    status: 200,
    client: "198.51.100.7",
    sub: "ada",
  });
  assert.notEqual(lines[1].request_id, lines[0].request_id);
  // Both in the one series of the route.
  const text = t.services.metrics.registry.metrics();
  const series = text.split("\n").filter((l) =>
    l.startsWith("auth_http_request_duration_seconds_count")
  );
  assert.deepEqual(series.filter((l) => l.includes('route="/me"')), [
    'auth_http_request_duration_seconds_count{route="/me",method="GET",status="200"} 2',
  ]);
});

Deno.test("the fast path answers from the client address TRUST_PROXY gives, like Hono", async () => {
  using t = await makeApp({ LOG_LEVEL: "info", TRUST_PROXY: "192.0.2.1" });
  await addUser(t, "ada", "correct horse battery");
  const { token } = await login(t, "ada", "correct horse battery");
  t.logLines.length = 0;
  const init = { headers: { ...bearer(token).headers, "X-Forwarded-For": "203.0.113.5" } };
  assert.equal((await served(t.app, "/me", init)).fast, false);
  assert.equal((await served(t.app, "/me", init)).fast, true);
  const clients = t.logLines.map((line) => JSON.parse(line).client);
  assert.deepEqual(clients, ["203.0.113.5", "203.0.113.5"]);
});

Deno.test("LOG_LEVEL=warn: no line and no request id on either path, the series the same", async () => {
  using t = await makeApp({ LOG_LEVEL: "warn" });
  await addUser(t, "ada", "correct horse battery");
  const { token } = await login(t, "ada", "correct horse battery");
  assert.equal((await served(t.app, "/me", bearer(token))).fast, false);
  assert.equal((await served(t.app, "/me", bearer(token))).fast, true);
  assert.equal(t.logLines.filter((line) => line.includes('"request"')).length, 0);
  assert.match(
    t.services.metrics.registry.metrics(),
    /auth_http_request_duration_seconds_count\{route="\/me",method="GET",status="200"\} 2/,
  );
});

Deno.test("with CORS_ORIGINS the fast path is off: every /me gets the CORS headers", async () => {
  using t = await makeApp({ CORS_ORIGINS: "https://app.example" });
  await addUser(t, "ada", "correct horse battery");
  const { token } = await login(t, "ada", "correct horse battery");
  const init = { headers: { ...bearer(token).headers, Origin: "https://app.example" } };
  for (let i = 0; i < 2; i++) {
    const { fast, res } = await served(t.app, "/me", init);
    await res.body?.cancel();
    assert.equal(fast, false);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example");
  }
});
