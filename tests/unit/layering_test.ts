/** The layering the code relies on: the CLI and the services load no HTTP. */
import assert from "node:assert/strict";
import { needs, RUN_DENO } from "../helpers/permissions.ts";

const test = needs(RUN_DENO);

type Dependency = { specifier: string; code?: { specifier: string }; isDynamic?: boolean };
/** `deno info --json entry`: `modules` is the graph itself, npm packages as `npm:` specifiers. */
interface DenoInfo {
  roots: string[];
  modules: { specifier: string; dependencies?: Dependency[] }[];
  redirects: Record<string, string>;
}

async function denoInfo(entry: string): Promise<DenoInfo> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout)) as DenoInfo;
}

async function moduleGraph(entry: string): Promise<string[]> {
  // (`npmPackages` lists the whole lockfile, so it is not used.)
  const info = await denoInfo(entry);
  return info.modules.flatMap((
    m,
  ) => [m.specifier, ...(m.dependencies ?? []).map((d) => d.specifier)]);
}

for (
  const entry of [
    "src/cli/user_cli.ts",
    "src/cli/keys_cli.ts",
    "src/cli/client_cli.ts",
    "src/services.ts",
  ]
) {
  test(`${entry} loads no Hono, no routes, no middleware and not the app`, async () => {
    const graph = await moduleGraph(entry);
    assert.ok(graph.some((s) => s.endsWith("/src/config/parse_config.ts")), "the graph was read");
    const http = graph.filter((s) =>
      /hono/i.test(s) || /\/src\/(routes|middleware)\//.test(s) ||
      /\/src\/app(_types)?\.ts$/.test(s)
    );
    assert.deepEqual(http, []);
  });
}

test("src/middleware/require_auth.ts (the verifier other services import) loads nothing of the server's config", async () => {
  const graph = await moduleGraph("src/middleware/require_auth.ts");
  assert.ok(graph.some((s) => s.endsWith("/src/tokens/access_token.ts")), "the graph was read");
  const server = graph.filter((s) =>
    /\/src\/(runtime|services|server|app)\.ts$/.test(s) ||
    /\/src\/(config|store|users|routes)\//.test(s) || /argon2/.test(s)
  );
  assert.deepEqual(server, []);
});

/**
 * The modules `info`'s roots reach: through static imports only (what is evaluated at start-up;
 * an `import type` is not followed), or through dynamic `import()`s as well.
 */
function reachable(info: DenoInfo, followDynamic: boolean): Set<string> {
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const queue = [...info.roots];
  while (queue.length > 0) {
    const specifier = queue.pop()!;
    const resolved = info.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    for (const dependency of bySpecifier.get(resolved)?.dependencies ?? []) {
      if (dependency.code && (followDynamic || !dependency.isDynamic)) {
        queue.push(dependency.code.specifier);
      }
    }
  }
  return seen;
}

/** The modules `entry` evaluates at start-up. */
async function startPath(entry: string): Promise<string[]> {
  return [...reachable(await denoInfo(entry), false)];
}

test("main.ts does not evaluate the OpenAPI generator or the WebAuthn library at start-up", async () => {
  const graph = await startPath("main.ts");
  assert.ok(graph.some((s) => s.endsWith("/src/app.ts")), "the graph was read");
  assert.ok(graph.some((s) => s.includes("jose")), "npm packages are in the graph");
  const late = graph.filter((s) => /zod-openapi|simplewebauthn|openapi_document/.test(s));
  assert.deepEqual(late, []);
});

test("nothing main.ts loads imports node:crypto (issue 24: its evaluation cost 25-45 ms of start-up)", async () => {
  // The whole graph, dynamic imports too; npm packages' own imports are not in it (deno info
  // stops at the package), so this holds our modules to src/crypto/digests.ts.
  const graph = await moduleGraph("main.ts");
  assert.ok(graph.some((s) => s.endsWith("/src/crypto/digests.ts")), "the graph was read");
  assert.ok(graph.some((s) => s.startsWith("node:")), "node: specifiers are listed");
  assert.deepEqual(graph.filter((s) => s === "node:crypto"), []);
});

test("main.ts evaluates no zod and no route group before the first answer (issue 24)", async () => {
  const graph = await startPath("main.ts");
  assert.ok(graph.some((s) => s.endsWith("/src/routes/health.ts")), "the graph was read");
  const late = graph.filter((s) =>
    /npm:\/?zod@/.test(s) || /\/src\/(wire|routes\/schemas)\.ts$/.test(s) ||
    (/\/src\/routes\//.test(s) &&
      !/\/routes\/(health|lazy_routes|route_table|oauth\/oauth_error)\.ts$/.test(s))
  );
  assert.deepEqual(late, []);
});

test("few npm imports in modules main.ts reaches only through import() (each costs ~3 ms at start)", async () => {
  // Deno resolves each npm import of such a module on its own when the process starts, whether
  // or not the module is ever loaded (2.9: 50 modules importing jose behind one import() cost
  // 130 ms; through one re-exporting module, 2 ms). The route modules take zod from
  // routes/schemas.ts, which takes it from wire.ts.
  const info = await denoInfo("main.ts");
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const atStart = reachable(info, false);
  const importing = [...reachable(info, true)]
    .filter((s) => s.startsWith("file:") && !atStart.has(s))
    .filter((s) =>
      (bySpecifier.get(s)?.dependencies ?? []).some((d) => d.code?.specifier.startsWith("npm:"))
    )
    .map((s) => s.slice(s.indexOf("/src/") + 1))
    .sort();
  assert.deepEqual(importing, [
    "src/browser/cookies.ts",
    "src/http/openapi_document.ts",
    "src/oidc/id_token.ts",
    "src/oidc/id_token_hint.ts",
    "src/routes/oauth/jwt.ts",
    "src/store/pg_client.ts",
    "src/wire.ts",
  ]);
});
