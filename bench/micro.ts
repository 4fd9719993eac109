/**
 * Phase 1: the micro benchmarks, `deno bench bench/` (argon2id, jose, KV, the steps of `GET /me`)
 * with the `bench` task's own permissions, printed as they are.
 *
 * @module
 */
import { taskCommand } from "../tests/helpers/server_process.ts";
import { ROOT } from "../tests/helpers/server_process.ts";
import { BENCH_DIR, log } from "./settings.ts";

const decoder = new TextDecoder();

/** Runs `deno bench bench/` (at most 4 minutes); its output, and whether it passed. */
export async function microBenchmarks(): Promise<{ ok: boolean; output: string }> {
  // The `bench` task's own command and permissions, with `bench` in place of `run`.
  const { env, args } = taskCommand("bench");
  const flags = args.slice(1, -1); // drop "run" and "bench/run.ts"
  log(`deno bench ${flags.join(" ")} ${BENCH_DIR}`);
  const child = new Deno.Command("deno", {
    args: ["bench", ...flags, BENCH_DIR],
    cwd: ROOT,
    env: { ...env, NO_COLOR: "1" }, // plain text, also for results/latest.json
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
  const out = await child.output();
  clearTimeout(timer);
  const output = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  console.log(output.trimEnd());
  return { ok: out.success, output };
}
