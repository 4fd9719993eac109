/** The layering the code relies on: the CLI and the services load no HTTP. */
import assert from "node:assert/strict";
import { needs, RUN_DENO } from "../helpers/permissions.ts";

const test = needs(RUN_DENO);

async function moduleGraph(entry: string): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  // `modules` is the graph itself, npm packages included as `npm:` specifiers (`npmPackages`
  // lists the whole lockfile, so it is not used).
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { specifier: string; dependencies?: { specifier: string }[] }[];
  };
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
