/**
 * Module evaluation time: how long `await import(module)` takes in a fresh process (modules from
 * Deno's cache: resolve, compile from the cache, evaluate), the median of `--runs` processes per
 * module, interleaved. What start-up spends before `main.ts` does anything. CPU time (user +
 * system, `process.cpuUsage`) beside wall-clock time: on a busy machine the wall clock mostly
 * measures the neighbours; CPU time counts this process alone (its helper threads too).
 *
 * ```sh
 * deno run --allow-run=deno --allow-read bench/import_time.ts [--runs 10] [module ...]
 * ```
 *
 * Modules default to `src/app.ts`, `zod` and `@hono/zod-openapi`; a path is taken from the
 * working directory. To compare with an older revision, unpack it beside this one and name its
 * file: `git archive <rev> src deno.json | tar -x -C /tmp/before` then
 * `... bench/import_time.ts src/app.ts /tmp/before/src/app.ts` (the bare specifiers resolve
 * through this checkout's `deno.json`).
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";

const DEFAULT_MODULES = ["src/app.ts", "zod", "@hono/zod-openapi"];

/** In a child: import the module, print the milliseconds it took (wall clock, then CPU). */
async function child(module: string): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await import(module);
  const wall = performance.now() - t0;
  const { user, system } = process.cpuUsage(cpu0);
  console.log(`${wall.toFixed(2)} ${((user + system) / 1000).toFixed(2)}`);
}

/** A bare specifier stays as it is; a path becomes a file URL. */
function specifier(module: string): string {
  const path = module.startsWith(".") || module.startsWith("/") || module.endsWith(".ts");
  return path ? pathToFileURL(isAbsolute(module) ? module : resolve(module)).href : module;
}

/** One fresh process: wall-clock and CPU milliseconds of the import. */
async function timeOnce(module: string): Promise<{ wall: number; cpu: number }> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", "--allow-all", "--no-prompt", import.meta.filename!, "--child", module],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  if (code !== 0) throw new Error(`${module}: ${new TextDecoder().decode(stderr)}`);
  const [wall, cpu] = text.split("\n").at(-1)!.split(" ").map(Number) as [number, number];
  return { wall, cpu };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(args: string[]): Promise<void> {
  if (args[0] === "--child") return await child(args[1]!);
  let runs = 10;
  const modules: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--runs") runs = Number(args[++i]);
    else modules.push(args[i]!);
  }
  const names = modules.length > 0 ? modules : DEFAULT_MODULES;
  // One unmeasured import each (the first compile fills Deno's cache), then interleaved runs.
  for (const name of names) await timeOnce(specifier(name));
  const times = new Map(names.map((name) => [name, [] as { wall: number; cpu: number }[]]));
  for (let i = 0; i < runs; i++) {
    for (const name of names) times.get(name)!.push(await timeOnce(specifier(name)));
  }
  for (const [name, values] of times) {
    const wall = values.map((v) => v.wall);
    const cpu = values.map((v) => v.cpu);
    console.log(
      `${name}: median ${median(wall).toFixed(1)} ms wall, ${median(cpu).toFixed(1)} ms CPU ` +
        `(${runs} processes; wall ${wall.map((v) => v.toFixed(0)).join(" ")})`,
    );
  }
}

if (import.meta.main) await main(Deno.args);
