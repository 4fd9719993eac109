/**
 * The route groups loaded on first use (src/routes/route_table.ts, lazy_routes.ts): each table
 * says what its module registers, and a group's first request answers as a loaded one does.
 */
import assert from "node:assert/strict";
import { ApiRouter } from "../../src/http/api_router.ts";
import type { AppContext, AppEnv } from "../../src/app_types.ts";
import { createMeAnswers } from "../../src/http/me_fast_path.ts";
import { createLogger } from "../../src/logger.ts";
import { createRequestChain } from "../../src/middleware/request_chain.ts";
import { healthRoutes } from "../../src/routes/health.ts";
import { ROUTE_GROUPS } from "../../src/routes/route_table.ts";
import { toApiError } from "../../src/errors.ts";
import { addUser, makeApp } from "../helpers/app.ts";

Deno.test("each route group's table is what its module registers, in order", async () => {
  using t = await makeApp();
  const noop = () => Promise.resolve();
  const ctx: AppContext = {
    config: t.config,
    services: t.services,
    logger: createLogger("silent"),
    requireUser: noop,
    requireAdmin: noop,
  };
  const chain = createRequestChain({
    logger: ctx.logger,
    trustProxy: t.config.trustProxy,
    metrics: t.services.metrics,
    issuer: t.config.issuer,
  });
  const meAnswers = createMeAnswers({
    keys: t.services.keys,
    now: t.services.now,
    gate: t.services.gate,
    chain,
    trustProxy: t.config.trustProxy,
    fastPath: true,
  });
  for (const group of ROUTE_GROUPS) {
    const router = new ApiRouter<AppEnv>();
    (await group.load())(router, ctx, meAnswers);
    // One stand-in per method and path runs that path's handlers in order: they must be
    // contiguous, or a stand-in would reorder them.
    const entries: string[] = [];
    for (const route of router.routes) {
      const entry = `${route.method} ${route.path}`;
      if (entries.at(-1) !== entry) entries.push(entry);
    }
    assert.equal(new Set(entries).size, entries.length, `${group.name}: contiguous entries`);
    assert.deepEqual(
      entries,
      group.routes.map(([method, path]) => `${method} ${path}`),
      `${group.name}: the table in route_table.ts`,
    );
    // A method's route ends in its handler (c); `use` (ALL) is middleware (c, next).
    for (const [method, path] of group.routes) {
      const last = router.routes.findLast((r) => r.method === method && r.path === path)!;
      assert.equal(last.handler.length < 2, method !== "ALL", `${group.name}: ${method} ${path}`);
    }
  }
});

Deno.test("every route module's register function is some group's: none is left unmounted", async () => {
  const loaded = new Set(await Promise.all(ROUTE_GROUPS.map((group) => group.load())));
  // Not groups: the probes (mounted at start) and the mounter.
  const notGroups = new Set(["healthRoutes", "mountLazyRoutes"]);
  const seen = new Set<unknown>(); // warm_routes.ts re-exports six of them
  const visit = async (dir: URL): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await visit(new URL(`${entry.name}/`, dir));
      if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
      const module = await import(new URL(entry.name, dir).href);
      for (const [name, value] of Object.entries(module)) {
        if (!name.endsWith("Routes") || typeof value !== "function" || notGroups.has(name)) {
          continue;
        }
        seen.add(value);
        const file = new URL(entry.name, dir).pathname.split("/src/routes/")[1];
        assert.ok(loaded.has(value as never), `src/routes/${file}: ${name} is in no group`);
      }
    }
  };
  await visit(new URL("../../src/routes/", import.meta.url));
  assert.equal(seen.size, loaded.size);
});

Deno.test("the app mounts every group's routes beside the probes and the document", async () => {
  using t = await makeApp();
  const mounted = t.app.routes.map((r) => `${r.method} ${r.path}`);
  for (const group of ROUTE_GROUPS) {
    for (const [method, path] of group.routes) {
      assert.ok(mounted.includes(`${method} ${path}`), `${method} ${path}`);
    }
  }
  for (const probe of ["GET /healthz", "GET /readyz", "GET /openapi.json"]) {
    assert.ok(mounted.includes(probe), probe);
  }
});

Deno.test("a lazy group's first request answers as its later ones: auth, validation, 404", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "correct horse battery", ["admin", "user"]);
  // The admin group's first request: no token.
  const first = await t.request("/admin/users");
  const again = await t.request("/admin/users");
  assert.equal(first.status, 401);
  assert.deepEqual(
    [first.headers.get("WWW-Authenticate"), await first.json()],
    [again.headers.get("WWW-Authenticate"), await again.json()],
  );
  // The login group's first request: an invalid body is a JSON 400, then a login works.
  const invalid = await t.post("/login", { user_id: "ada" });
  assert.equal(invalid.status, 400);
  assert.deepEqual(await invalid.json(), {
    error: "password is required",
    code: "validation_failed",
  });
  const login = await t.post("/login", { user_id: "ada", password: "correct horse battery" });
  assert.equal(login.status, 200);
  const { token } = await login.json();
  const users = await t.request("/admin/users", { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(users.status, 200);
  // A method a lazy path does not serve, and a path no group serves.
  assert.equal((await t.request("/oauth/token")).status, 404);
  assert.equal((await t.request("/admin/nothing-here")).status, 404);
});

Deno.test("warmUp loads the groups a login needs; /readyz answers once they are loaded", async () => {
  using t = await makeApp();
  await t.app.warmUp();
  const ready = await t.request("/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: "ready" });
  assert.ok(ROUTE_GROUPS.some((group) => group.warm && group.name === "login"));
});

Deno.test("/readyz answers 503 not_ready while the routes a login needs fail to load", async () => {
  using t = await makeApp();
  const lines: string[] = [];
  const logger = createLogger("info", (line) => lines.push(line));
  const ctx = { services: t.services, logger } as AppContext;
  let loads = 0;
  const warm = () =>
    ++loads === 1 ? Promise.reject(new Error("a module failed")) : Promise.resolve();
  const app = new ApiRouter<AppEnv>();
  app.onError((err, c) => {
    const known = toApiError(err);
    return known ? c.json(known.toJSON(), known.status) : c.json({ code: "internal_error" }, 500);
  });
  healthRoutes(app, ctx, warm);
  const failed = await app.request("/readyz");
  assert.equal(failed.status, 503);
  assert.equal((await failed.json()).code, "not_ready");
  assert.match(
    lines.join("\n"),
    /"event":"routes_load_failed".*a module failed/,
    "logged, with why",
  );
  // The next probe tries the load again.
  assert.equal((await app.request("/readyz")).status, 200);
});
