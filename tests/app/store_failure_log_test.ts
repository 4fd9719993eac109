/**
 * Issue 20: every 503 the store causes writes its cause to the log at error level, at most one
 * line per cause per second (the lines after a quiet second say how many they stood for), and
 * never a token or a password. Refusals that are not the store's doing write no such line.
 */
import assert from "node:assert/strict";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import { fakeStores, type Faults } from "../helpers/fake_stores.ts";
import { ApiError, StoreUnavailableError } from "../../src/errors.ts";
import { logEvents } from "../../src/events.ts";
import { createLogger } from "../../src/logger.ts";
import { storeFailure } from "../../src/store_failure.ts";

const PASSWORD = "correct horse battery";

function storeFailedLines(t: TestApp): Record<string, unknown>[] {
  return t.logLines.map((line) => JSON.parse(line))
    .filter((line) => line.event === "store_failed");
}

async function appOnFakes() {
  const faults: Faults = { mode: "ok" };
  const t = await makeApp({}, undefined, () => fakeStores(faults));
  await addUser(t, "ada", PASSWORD);
  const pair = await login(t, "ada", PASSWORD);
  return { t, faults, pair };
}

Deno.test("store failure log: a failing store's 503 logs its cause once per second per cause", async () => {
  const { t, faults, pair } = await appOnFakes();
  using _ = t;
  faults.mode = "fail";
  for (let i = 0; i < 3; i++) {
    const res = await t.post("/login", { user_id: "ada", password: PASSWORD });
    assert.equal(res.status, 503);
  }
  let lines = storeFailedLines(t);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]!.level, "error");
  assert.equal(lines[0]!.answer, "unavailable");
  assert.match(String(lines[0]!.cause), /fake store failed \(\w+\)/);
  assert.equal(lines[0]!.suppressed, undefined);

  // Another cause in the same second has a line of its own.
  assert.equal((await t.post("/refresh", { refresh_token: pair.refresh_token })).status, 503);
  lines = storeFailedLines(t);
  assert.equal(lines.length, 2, JSON.stringify(lines));
  assert.notEqual(lines[1]!.cause, lines[0]!.cause);

  // A second on, the first cause logs again, with the two lines it kept quiet.
  t.clock.advance(1);
  assert.equal((await t.post("/login", { user_id: "ada", password: PASSWORD })).status, 503);
  lines = storeFailedLines(t);
  assert.equal(lines.length, 3, JSON.stringify(lines));
  assert.equal(lines[2]!.cause, lines[0]!.cause);
  assert.equal(lines[2]!.suppressed, 2);

  const all = t.logLines.join("\n");
  for (const secret of [PASSWORD, pair.refresh_token, pair.token]) {
    assert.ok(!all.includes(secret), "no password or token in the log");
  }
});

Deno.test("store failure log: contention (503 busy) and /readyz's not_ready log their cause", async () => {
  const { t, faults, pair } = await appOnFakes();
  using _ = t;
  faults.mode = "contend";
  const refreshed = await t.post("/refresh", { refresh_token: pair.refresh_token });
  assert.equal(refreshed.status, 503);
  assert.deepEqual(
    storeFailedLines(t).map((line) => [line.level, line.answer]),
    [["error", "busy"]],
  );

  faults.mode = "fail";
  assert.equal((await t.request("/readyz")).status, 503);
  const last = storeFailedLines(t).at(-1)!;
  assert.equal(last.answer, "not_ready");
  assert.match(String(last.cause), /fake store failed \(ping\)/);
});

Deno.test("store failure log: refusals that are not the store's write no store_failed line", async () => {
  const { t, pair } = await appOnFakes();
  using _ = t;
  assert.equal(
    (await t.post("/login", { user_id: "ada", password: "wrong password" })).status,
    401,
  );
  assert.equal((await t.request("/me")).status, 401);
  assert.equal((await t.post("/refresh", { refresh_token: pair.token })).status, 401);
  assert.deepEqual(storeFailedLines(t), []);
});

Deno.test("store failure log: a closed Deno KV logs the failing call and the KV's words", async () => {
  using t = await makeApp();
  await addUser(t, "ada", PASSWORD);
  const { refresh_token } = await login(t, "ada", PASSWORD);
  t.kv.close();
  t.kv.close = () => {}; // already closed; `using` would close it again
  assert.equal((await t.post("/refresh", { refresh_token })).status, 503);
  const lines = storeFailedLines(t);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]!.operation, "getSession");
  assert.equal(lines[0]!.cause, "Bad resource ID");
  assert.ok(!t.logLines.join("\n").includes(refresh_token));
});

Deno.test("store failure log: a password in the store's words is masked in the line", () => {
  const lines: string[] = [];
  const log = logEvents(createLogger("info", (line) => lines.push(line)), () => 0);
  const err = new StoreUnavailableError("store failed (getUser): connect failed", {
    operation: "getUser",
    reason: "connect postgres://auth:hunter2-secret@db.internal:5432/auth refused; " +
      "password=other-secret",
  });
  log(storeFailure(new ApiError("not_ready", "store is not reachable", {}, { cause: err }))!);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.answer, "not_ready");
  assert.equal(line.operation, "getUser");
  assert.equal(
    line.cause,
    "connect postgres://auth:***@db.internal:5432/auth refused; password=***",
  );
  assert.ok(!lines[0]!.includes("secret"));
});
