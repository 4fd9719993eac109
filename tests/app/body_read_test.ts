/**
 * Bodies that cannot be read (the client went away mid-body), a body on `POST /userinfo`, and
 * the media-type gate's look at a body sent without `Content-Type`, in-process. The same over a
 * real socket, with the methods no `Request` can carry, are in tests/e2e/body_abort_test.ts.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { ApiError } from "../../src/errors.ts";
import { limitBody } from "../../src/middleware/json_body.ts";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

/** A body that sends `first`, then fails as Deno's does when the connection is gone. */
function abortedBody(
  first: string,
  err: Error = new Deno.errors.BadResource("Cannot read body as underlying resource unavailable"),
): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(err);
      sent = true;
      controller.enqueue(new TextEncoder().encode(first));
    },
  });
}

/** Posts a body that breaks off; `length` sends a `Content-Length` (else it is "chunked"). */
function postAborted(
  t: TestApp,
  path: string,
  contentType: string | undefined,
  options: { length?: number | undefined; err?: Error } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers["Content-Type"] = contentType;
  if (options.length !== undefined) headers["Content-Length"] = String(options.length);
  return t.request(path, { method: "POST", headers, body: abortedBody("a=", options.err) });
}

function errorLines(t: TestApp): string[] {
  return t.logLines.filter((line) => line.includes('"level":"error"'));
}

function requestStatuses(t: TestApp, path: string): number[] {
  return t.logLines.map((line) => JSON.parse(line)).filter((line) =>
    line.event === "request" && line.path === path
  ).map((line) => line.status);
}

Deno.test("a body the client broke off is 400 on every reader, with no error in the log", async () => {
  using t = await makeApp();
  const cases: [string, string | undefined, number | undefined, string][] = [
    // The body limit reads a body sent without Content-Length (JSON routes, OAuth, pages).
    ["/login", JSON_TYPE, undefined, "bad_request"],
    ["/refresh", JSON_TYPE, undefined, "bad_request"],
    ["/logout", JSON_TYPE, undefined, "bad_request"],
    ["/admin/users", JSON_TYPE, undefined, "bad_request"],
    ["/oauth/token", FORM, undefined, "invalid_request"],
    // With Content-Length the route's own reader meets the break.
    ["/oauth/token", FORM, 100, "invalid_request"],
    ["/oauth/revoke", FORM, 100, "invalid_request"],
    // The media-type gate reads a body sent without Content-Type.
    ["/login/mfa", undefined, undefined, "bad_request"],
  ];
  for (const [path, type, length, code] of cases) {
    const res = await postAborted(t, path, type, { length });
    const body = await res.json();
    assert.equal(res.status, 400, `${path} ${length ?? "chunked"}: ${JSON.stringify(body)}`);
    assert.equal(body.code ?? body.error, code, path);
  }
  for (const path of ["/authorize", "/end-session", "/authorize/login"]) {
    const res = await postAborted(t, path, FORM, { length: 100 });
    await res.body?.cancel();
    assert.equal(res.status, 400, path);
  }
  assert.deepEqual(errorLines(t), []);
  assert.deepEqual(requestStatuses(t, "/oauth/token"), [400, 400]);
});

Deno.test("a Deno.errors.Http from the body is a client's break too; a bug in a reader is not", async () => {
  using t = await makeApp();
  const http = await postAborted(t, "/oauth/token", FORM, {
    length: 100,
    err: new Deno.errors.Http("connection closed before message completed"),
  });
  assert.equal(http.status, 400);
  assert.equal((await http.json()).error, "invalid_request");
  assert.deepEqual(errorLines(t), []);
  // Anything else that fails stays what it was: a 500, logged.
  const bug = await postAborted(t, "/login", JSON_TYPE, { err: new RangeError("a bug") });
  assert.equal(bug.status, 500);
  await bug.body?.cancel();
  assert.equal(errorLines(t).length, 1);
});

Deno.test("POST /userinfo refuses a body over 16 KiB with 413, as every route does", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "ada password 1", ["user"]);
  const token = (await login(t, "ada", "ada password 1")).token;
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": FORM };
  const big = await t.request("/userinfo", {
    method: "POST",
    headers,
    body: `a=${"x".repeat(20_000)}`,
  });
  assert.equal(big.status, 413);
  assert.equal((await big.json()).code, "payload_too_large");
  const announced = await t.request("/userinfo", {
    method: "POST",
    headers: { ...headers, "Content-Length": String(10 * 1024 * 1024) },
    body: abortedBody("a="),
  });
  assert.equal(announced.status, 413);
  await announced.body?.cancel();
  const small = await t.request("/userinfo", { method: "POST", headers, body: "a=b" });
  assert.equal(small.status, 200);
  assert.equal((await small.json()).preferred_username, "ada");
});

Deno.test("a body without Content-Type: 415 by its length or its bytes, an empty one passes", async () => {
  using t = await makeApp();
  const withLength = await t.request("/login/mfa", {
    method: "POST",
    headers: { "Content-Length": "7" },
    body: '{"a":1}',
  });
  assert.equal(withLength.status, 415);
  await withLength.body?.cancel();
  const chunked = (text: string) =>
    t.request("/login/mfa", {
      method: "POST",
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          if (text) controller.enqueue(new TextEncoder().encode(text));
          controller.close();
        },
      }),
    });
  const full = await chunked('{"a":1}');
  assert.equal(full.status, 415);
  await full.body?.cancel();
  // An empty body is no body: the schema answers (mfa_token is required).
  const empty = await chunked("");
  assert.equal(empty.status, 400);
  assert.equal((await empty.json()).code, "validation_failed");
});

Deno.test("the body limit answers a method no Request can carry with 405, never a 500", async () => {
  // The app refuses TRACE before any route; this is the body limit's own guard behind it.
  const app = new Hono();
  app.use(limitBody());
  app.post("/", (c) => c.text("read"));
  app.onError((err, c) =>
    err instanceof ApiError ? c.json(err.toJSON(), err.status) : c.text("bug", 500)
  );
  for (const method of ["TRACE", "track"]) {
    const request = new Request("http://localhost/", {
      method: "POST",
      body: new ReadableStream({
        start: (controller) => controller.close(),
      }),
    });
    // What Deno.serve hands over for a TRACE with a body: no Request can be built with it.
    Object.defineProperty(request, "method", { value: method });
    const res = await app.fetch(request);
    assert.equal(res.status, 405, method);
    assert.equal((await res.json()).code, "method_not_allowed");
  }
});
