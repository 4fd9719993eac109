/**
 * `deno test` as typed must leave `deno.lock` as committed: every package a test, tool or
 * benchmark names by full `npm:` specifier is already pinned there (one lock file for the whole
 * project; `deno install --frozen` in CI checks the rest). And pinning test-only packages there
 * must not put them in the server's or the CLIs' module graph: those load only `deno.json`'s
 * imports.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { ROOT } from "../helpers/server_process.ts";
import { needs, READ, RUN_DENO } from "../helpers/permissions.ts";

const test = needs(READ);
const testWithDeno = needs(READ, RUN_DENO);

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|js)$/.test(entry.name)) yield path;
  }
}

test("every npm: specifier in tests/, tools/ and bench/ is pinned in deno.lock", () => {
  const lock = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.lock"))) as {
    specifiers: Record<string, string>;
  };
  const named: string[] = [];
  for (const dir of ["tests", "tools", "bench"]) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      const text = Deno.readTextFileSync(file);
      for (const [, specifier] of text.matchAll(/["'](npm:(?:@[^/"']+\/)?[^/@"']+@[^/"']+)/g)) {
        named.push(specifier!);
        assert.ok(
          specifier! in lock.specifiers,
          `${relative(ROOT, file)} names ${specifier}, which deno.lock does not pin: ` +
            "deno test would rewrite deno.lock (run deno install and commit deno.lock)",
        );
      }
    }
  }
  assert.ok(
    named.some((s) => s.startsWith("npm:jsonwebtoken@")),
    "the test-only packages were read",
  );
});

async function npmPackagesLoadedBy(entry: string): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["info", "--json", join(ROOT, entry)],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { specifier: string }[];
  };
  // `modules` is the graph itself (`npmPackages` lists the whole lock file, so it is not used).
  return info.modules.map((m) => m.specifier).filter((s) => s.startsWith("npm:"))
    .map((s) => s.replace(/^npm:\/?/, "").replace(/^(@?[^@/]+(?:\/[^@/]+)?)@.*$/, "$1"));
}

testWithDeno(
  "the server and the CLIs load only deno.json's imports, no test-only package",
  async () => {
    const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))) as {
      imports: Record<string, string>;
    };
    const allowed = new Set(
      Object.values(config.imports).map((target) =>
        target.replace(/^npm:\/?/, "").replace(/^(@?[^@/]+(?:\/[^@/]+)?)@.*$/, "$1")
      ),
    );
    for (
      const entry of [
        "main.ts",
        "src/cli/user_cli.ts",
        "src/cli/client_cli.ts",
        "src/cli/keys_cli.ts",
      ]
    ) {
      const loaded = await npmPackagesLoadedBy(entry);
      assert.ok(loaded.includes("jose"), `${entry}: the graph was read`);
      assert.deepEqual(loaded.filter((name) => !allowed.has(name)), [], entry);
    }
  },
);
