/**
 * The 16 KiB body limit on every route that takes a body, whether the size is declared
 * (`Content-Length`) or only seen while streaming (chunked): 413 `payload_too_large` before the
 * route reads anything. A valid JSON body just under the limit reaches the route (which then
 * answers as usual), so the limit, not some other check, is what refuses the big one.
 */
import assert from "node:assert/strict";
import { addUser, login, makeApp } from "../helpers/app.ts";

/** The README's promise, written out: not imported, so a change to the limit fails here. */
const MAX_BODY_BYTES = 16 * 1024;

/** A JSON object of exactly `bytes` bytes whose extra field every route refuses or ignores. */
function jsonOfSize(fields: object, bytes: number): string {
  const base = JSON.stringify({ ...fields, pad: "" });
  return JSON.stringify({ ...fields, pad: "x".repeat(bytes - base.length) });
}

function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 1024) controller.enqueue(bytes.slice(i, i + 1024));
      controller.close();
    },
  });
}

Deno.test("413 on every route that takes a body, declared or streamed", async () => {
  using t = await makeApp();
  await addUser(t, "root", "correct horse battery", ["admin"]);
  await addUser(t, "ada", "another good password");
  const { token } = await login(t, "root", "correct horse battery");
  const auth = { Authorization: `Bearer ${token}` };
  // `fields(over)`: what the body says, so a new user differs between the two sizes.
  const routes: { method: string; path: string; fields: (over: boolean) => object }[] = [
    {
      method: "POST",
      path: "/login",
      fields: () => ({ user_id: "ada", password: "wrong-password" }),
    },
    { method: "POST", path: "/refresh", fields: () => ({ refresh_token: "A".repeat(43) }) },
    {
      method: "POST",
      path: "/admin/users",
      fields: (over) => ({
        user_id: over ? "over-limit" : "at-limit",
        password: "a good password",
      }),
    },
    { method: "PATCH", path: "/admin/users/ada", fields: (over) => ({ disabled: over }) },
  ];
  for (const { method, path, fields } of routes) {
    const under = await t.request(path, {
      method,
      headers: { "Content-Type": "application/json", ...auth },
      body: jsonOfSize(fields(false), MAX_BODY_BYTES),
    });
    assert.notEqual(under.status, 413, `${method} ${path} at the limit: ${under.status}`);
    assert.ok(under.status < 500, `${method} ${path} at the limit: ${under.status}`);
    await under.body?.cancel();

    const declared = await t.request(path, {
      method,
      headers: { "Content-Type": "application/json", ...auth },
      body: jsonOfSize(fields(true), MAX_BODY_BYTES + 1),
    });
    assert.equal(declared.status, 413, `${method} ${path} declared`);
    assert.equal((await declared.json()).code, "payload_too_large");

    const streamed = await t.request(path, {
      method,
      headers: { "Content-Type": "application/json", ...auth },
      body: streamOf(jsonOfSize(fields(true), MAX_BODY_BYTES + 1)),
      duplex: "half",
    } as RequestInit);
    assert.equal(streamed.status, 413, `${method} ${path} streamed`);
    assert.equal((await streamed.json()).code, "payload_too_large");
  }
  // None of the refused bodies changed anything.
  assert.equal((await t.services.users.get("ada")).disabled, false);
  await assert.rejects(t.services.users.get("over-limit"));
  await t.services.users.get("at-limit"); // the body at the limit was taken
});
