/**
 * `GET /me` served on all cores (`deno task start:all-cores`: one process per core on one port)
 * against one process (`deno task start`), same run, same load (issue 20; target on a 2-core
 * machine: >= 1.5x). Both servers run the whole phase, each on a store of its own, with the
 * defaults a first start writes (`LOG_LEVEL=info`: the request log on, to /dev/null); each round
 * measures one, then the other, back to back, and the ratio is the median of the per-round
 * ratios. wrk runs on the same machine and takes its share of the cores: the figure is what one
 * machine serving and loading itself shows, as every row of `deno task bench`.
 *
 * Take the figure on a quiet machine: other work on the cores moves it more than anything here.
 * Linux only (elsewhere `start:all-cores` runs one process), and it needs at least 2 cores.
 *
 * Standalone: `deno run --allow-net --allow-env --allow-read --allow-write --allow-run
 * --allow-sys --allow-ffi=./node_modules bench/all_cores.ts [--rounds N] [--seconds N]`;
 * `deno task bench` calls {@link benchAllCores} too.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  freePort,
  type RunningServer,
  startServer,
  taskCommand,
} from "../tests/helpers/server_process.ts";
import { ensureWrk, runWrk, type WrkResult } from "./wrk.ts";

const TARGET = 1.5;
const THREADS = 2;
const CONNECTIONS = 32;
const WARMUP_SECONDS = 1;

const log = (line: string) => console.error(`[bench all-cores] ${line}`);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** What the phase measured, or why it did not run. */
export type AllCoresResult =
  | {
    readonly processes: number;
    readonly oneRps: readonly number[];
    readonly allRps: readonly number[];
    readonly ratios: readonly number[];
    readonly ratio: number;
    readonly met: boolean;
    readonly seconds: number;
  }
  | { readonly skipped: string };

/** The `start:all-cores` task, running until `stop()`; waits until every process listens. */
async function startAllCores(dir: string, env: Record<string, string>) {
  const { env: taskEnv, args } = taskCommand("start:all-cores");
  const child = new Deno.Command("deno", {
    args,
    cwd: dir,
    env: { ...taskEnv, ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 60_000;
  while (!stderr.includes("share the port") && !exited && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await child.status;
    clearTimeout(timer);
    await reading;
  };
  if (!stderr.includes("share the port")) {
    await stop();
    throw new Error(`start:all-cores did not listen:\n${stderr}`);
  }
  return { stop };
}

async function token(url: string, password: string): Promise<string> {
  const response = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: "admin", password }),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`/login answered ${response.status}`);
  return body.token;
}

/**
 * Runs the phase: `rounds` rounds of wrk on one process's `/me`, then on all cores' `/me`, for
 * `seconds` each (after a warm-up).
 */
export async function benchAllCores(
  options: { rounds?: number; seconds?: number } = {},
): Promise<AllCoresResult> {
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 5;
  const cores = navigator.hardwareConcurrency;
  if (Deno.build.os !== "linux") {
    return { skipped: `start:all-cores runs one process on ${Deno.build.os}` };
  }
  if (cores < 2) return { skipped: `this machine has ${cores} core` };
  const wrkFound = await ensureWrk(log);
  if ("problem" in wrkFound) return { skipped: wrkFound.problem };

  const tmp = await Deno.makeTempDir({ prefix: "auth-bench-all-cores-" });
  const password = `bench-${crypto.randomUUID()}`;
  const env = {
    HOST: "127.0.0.1",
    BOOTSTRAP_PASSWORD: password,
    LOGIN_LIMIT_PER_CLIENT: "100000000/1m",
    LOGIN_LIMIT_PER_ACCOUNT: "100000000/1m",
  };
  let one: RunningServer | undefined;
  let all: { stop(): Promise<void> } | undefined;
  try {
    await Deno.mkdir(join(tmp, "one"));
    await Deno.mkdir(join(tmp, "all"));
    one = await startServer({ dir: join(tmp, "one"), env, stdout: "null" });
    const allPort = freePort();
    all = await startAllCores(join(tmp, "all"), { ...env, PORT: String(allPort) });
    const allUrl = `http://127.0.0.1:${allPort}`;
    const targets = [
      { name: "one process", url: one.url, token: await token(one.url, password) },
      { name: `all cores (${cores} processes)`, url: allUrl, token: await token(allUrl, password) },
    ];
    const runs: WrkResult[][] = [[], []];
    for (let round = 1; round <= rounds; round++) {
      for (const [i, target] of targets.entries()) {
        const wrkOptions = {
          url: `${target.url}/me`,
          threads: THREADS,
          connections: CONNECTIONS,
          headers: [`Authorization: Bearer ${target.token}`],
        };
        await runWrk(wrkFound.path, { ...wrkOptions, seconds: WARMUP_SECONDS });
        const result = await runWrk(wrkFound.path, { ...wrkOptions, seconds });
        if (result.non2xx > 0 || result.socketErrors) {
          throw new Error(
            `${target.name}: ${result.non2xx} non-2xx, socket errors ${result.socketErrors}; ` +
              "a figure made of errors measures nothing",
          );
        }
        log(`round ${round}, ${target.name}: ${result.rps.toFixed(0)} rps`);
        runs[i]!.push(result);
      }
    }
    const oneRps = runs[0]!.map((r) => r.rps);
    const allRps = runs[1]!.map((r) => r.rps);
    const ratios = allRps.map((rps, i) => rps / oneRps[i]!);
    const ratio = median(ratios);
    return { processes: cores, oneRps, allRps, ratios, ratio, met: ratio >= TARGET, seconds };
  } finally {
    await all?.stop();
    await one?.stop();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** The phase as lines for the report. */
export function allCoresReport(result: AllCoresResult): string {
  if ("skipped" in result) {
    return `GET /me on all cores vs one process: not run (${result.skipped})`;
  }
  const list = (xs: readonly number[], digits = 0) => xs.map((x) => x.toFixed(digits)).join(", ");
  return [
    `GET /me on all cores (start:all-cores, ${result.processes} processes) vs one process ` +
    `(deno task start), wrk -t${THREADS} -c${CONNECTIONS} -d${result.seconds}s on this machine:`,
    `  one process ${list(result.oneRps)} rps; all cores ${list(result.allRps)} rps; ` +
    `per-round ratios ${list(result.ratios, 2)}; median ${result.ratio.toFixed(2)}x, ` +
    `target >= ${TARGET.toFixed(1)}x: ${result.met ? "yes" : "NO"}`,
  ].join("\n");
}

if (import.meta.main) {
  const flags = parseArgs({
    args: Deno.args,
    options: { rounds: { type: "string" }, seconds: { type: "string" } },
  });
  const result = await benchAllCores({
    ...(flags.values.rounds ? { rounds: Number(flags.values.rounds) } : {}),
    ...(flags.values.seconds ? { seconds: Number(flags.values.seconds) } : {}),
  });
  console.log(allCoresReport(result));
  Deno.exit(0);
}
