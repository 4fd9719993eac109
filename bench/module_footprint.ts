/**
 * The idle memory footprint, module by module (issue 24 item 5): for each module, a fresh
 * `deno run` that imports it and nothing else, then waits; its resident memory (VmRSS, read
 * from /proc by the parent) less that of a process importing nothing. The packages first, then
 * the server's own layers in the order `main.ts` loads them, then the argon2 addon as the hasher
 * loads it once the server listens. Minimum of `repeats` processes each (the least noisy).
 *
 * Standalone: `deno run --allow-read --allow-write --allow-run --allow-env bench/module_footprint.ts`
 * (also a phase of `deno task bench`). Linux only (/proc).
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "../tests/helpers/server_process.ts";
import { collect, procText, sleep } from "./processes.ts";

/** What each probe imports: a specifier as `main.ts` would write it, or a file of this tree. */
export const FOOTPRINT_MODULES: readonly { readonly name: string; readonly specifier: string }[] = [
  { name: "hono", specifier: "hono" },
  { name: "jose", specifier: "jose" },
  { name: "zod", specifier: "zod" },
  { name: "@hono/zod-openapi", specifier: "@hono/zod-openapi" },
  { name: "postgres", specifier: "postgres" },
  { name: "@simplewebauthn/server", specifier: "@simplewebauthn/server" },
  { name: "src/config/load_config.ts", specifier: "./src/config/load_config.ts" },
  { name: "src/crypto/passwords.ts", specifier: "./src/crypto/passwords.ts" },
  { name: "src/middleware/require_auth.ts", specifier: "./src/middleware/require_auth.ts" },
  { name: "src/store/open_stores.ts", specifier: "./src/store/open_stores.ts" },
  { name: "src/services.ts", specifier: "./src/services.ts" },
  { name: "src/app.ts", specifier: "./src/app.ts" },
  { name: "src/runtime.ts", specifier: "./src/runtime.ts" },
  { name: "src/server.ts", specifier: "./src/server.ts" },
  { name: "main.ts (the whole graph, not run)", specifier: "./main.ts" },
  { name: "@node-rs/argon2 (the addon, loaded)", specifier: "./src/crypto/argon2_native.ts" },
];

/** One module's footprint, in MB. */
export interface Footprint {
  readonly name: string;
  readonly rssMb: number;
  /** Over a process that imports nothing. */
  readonly overBareMb: number;
}

/** Resident memory of a fresh process that imports `specifier` (undefined: nothing), in MB. */
async function rssAfterImport(specifier: string | undefined): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "auth-footprint-" });
  try {
    const script = join(dir, "probe.ts");
    const load = specifier === undefined
      ? ""
      : specifier.includes("argon2_native")
      ? `const { loadNativeArgon2 } = await import(${JSON.stringify(join(ROOT, specifier))});\n` +
        "await loadNativeArgon2();\n"
      : `await import(${
        JSON.stringify(specifier.startsWith("./") ? join(ROOT, specifier) : specifier)
      });\n`;
    await Deno.writeTextFile(
      script,
      `${load}console.error("ready");\nsetTimeout(() => {}, 60_000);\n`,
    );
    const process = new Deno.Command("deno", {
      args: [
        "run",
        "--config",
        join(ROOT, "deno.json"),
        "--allow-env",
        "--allow-read",
        `--allow-ffi=${join(ROOT, "node_modules")}`,
        script,
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = collect(process.stderr);
    try {
      const deadline = Date.now() + 60_000;
      while (!stderr().includes("ready")) {
        if (Date.now() > deadline) throw new Error(`${specifier}: not ready:\n${stderr()}`);
        await sleep(20);
      }
      await sleep(200); // let start-up's garbage be collected or not, the same for every probe
      const status = await procText(`/proc/${process.pid}/status`);
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
    } finally {
      process.kill("SIGKILL");
      await process.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Measures every module of {@link FOOTPRINT_MODULES}, the least of `repeats` processes each. */
export async function measureFootprints(repeats = 3): Promise<Footprint[]> {
  const least = async (specifier: string | undefined) => {
    let min = Infinity;
    for (let i = 0; i < repeats; i++) min = Math.min(min, await rssAfterImport(specifier));
    return min;
  };
  const bare = await least(undefined);
  const results: Footprint[] = [{ name: "(nothing: a bare deno run)", rssMb: bare, overBareMb: 0 }];
  for (const { name, specifier } of FOOTPRINT_MODULES) {
    const rssMb = await least(specifier);
    results.push({ name, rssMb, overBareMb: rssMb - bare });
  }
  return results;
}

/** The footprints as a Markdown table. */
export function footprintTable(results: readonly Footprint[]): string {
  const title = "module (imported alone, fresh process)";
  const width = Math.max(title.length, ...results.map((r) => r.name.length));
  return [
    `| ${title.padEnd(width)} | VmRSS MB | over bare MB |`,
    `| ${"-".repeat(width)} | -------- | ------------ |`,
    ...results.map((r) =>
      `| ${r.name.padEnd(width)} | ${r.rssMb.toFixed(1).padStart(8)} | ${
        r.overBareMb.toFixed(1).padStart(12)
      } |`
    ),
  ].join("\n");
}

if (import.meta.main) {
  console.log(footprintTable(await measureFootprints()));
}
