/**
 * `GET /me` served on all cores (`deno task start:all-cores`: one process per core on one port)
 * against one process (`deno task start`), same run, same load (issue 20; target on a 2-core
 * machine: >= 1.5x). Both servers run the whole phase, each on a store of its own, with the
 * defaults a first start writes (`LOG_LEVEL=info`: the request log on, to /dev/null); each round
 * measures one, then the other, back to back, and the ratio is the median of the per-round
 * ratios. wrk runs on the same machine and takes its share of the cores: the figure is what one
 * machine serving and loading itself shows, as every row of `deno task bench`. To say what
 * limits it, each run also records where the CPU went (the servers, `start:all-cores`' own
 * process, wrk, the whole machine: `/proc`) and how the kernel spread the connections across
 * the processes (`ss`), and the report adds an estimate of what the servers could serve with
 * every core to themselves, marked as an estimate.
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
import { ensureWrk, parseWrk, type WrkResult } from "./wrk.ts";

const TARGET = 1.5;
/** One wrk thread: the smallest footprint (wrk shares the two cores with the servers). */
const THREADS = 1;
/** Keep-alive connections, fixed: the kernel spreads them across the processes at connect. */
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
    /** Where the CPU went, per target, per round. */
    readonly usage: readonly (readonly Usage[])[];
  }
  | { readonly skipped: string };

/** CPU use during one measured run, in cores (CPU seconds per second of the run). */
export interface Usage {
  /** The server processes (all cores: every process that serves). */
  readonly servers: number;
  /** `start:all-cores`'s own process, which forwards the servers' output (0 for one process). */
  readonly forwarder: number;
  /** wrk itself. */
  readonly wrk: number;
  /** The whole machine, anything included (other work too): cores busy. */
  readonly machine: number;
  /** Established connections per serving process, sampled mid-run (`ss`); empty if unknown. */
  readonly connections: readonly number[];
}

const CLOCK_TICKS = 100; // USER_HZ on Linux (getconf CLK_TCK)

/** The machine's busy and total jiffies, and the CPU seconds each of `pids` has used so far. */
interface Sample {
  readonly busy: number;
  readonly total: number;
  readonly cpu: ReadonlyMap<number, number>;
}

/**
 * Reads `/proc/stat` and `/proc/<pid>/stat` through `sh` (Deno asks for --allow-all to read
 * `/proc` itself; the bench may already run programs).
 */
async function sample(pids: readonly number[]): Promise<Sample> {
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      'head -n 1 /proc/stat; for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done',
      "sh",
      ...pids.map(String),
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const [machine = "", ...procs] = new TextDecoder().decode(out.stdout).trim().split("\n");
  const ticks = machine.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const cpu = new Map<number, number>();
  for (const line of procs) {
    // pid (comm) state ppid ...: utime and stime are the 14th and 15th fields.
    const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
    cpu.set(Number(line.split(" ")[0]), (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
  }
  return { busy: total - ticks[3]! - (ticks[4] ?? 0), total, cpu };
}

/** CPU seconds `pids` used between two samples (a process gone by the second counts 0). */
function usedCpu(before: Sample, after: Sample, pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (after.cpu.get(pid) ?? 0) - (before.cpu.get(pid) ?? 0), 0);
}

/** Established connections on local `port`, counted per owning pid (`ss -tnpH`). */
async function connectionsByPid(port: number, pids: readonly number[]): Promise<number[]> {
  try {
    const out = await new Deno.Command("ss", {
      args: ["-tnpH", "state", "established", `( sport = :${port} )`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    return pids.map((pid) => text.split("\n").filter((l) => l.includes(`pid=${pid},`)).length);
  } catch {
    return [];
  }
}

/**
 * One wrk run with its own CPU time: wrk runs under `sh`, whose `times` prints its children's
 * user and system seconds after wrk exits.
 */
async function runWrkTimed(
  wrk: string,
  args: readonly string[],
  seconds: number,
): Promise<{ result: WrkResult; cpu: number }> {
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'wrk_path="$1"; shift; "$wrk_path" "$@"; status=$?; times; exit $status',
      "sh",
      wrk,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 20) * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`wrk ${args.join(" ")} failed:\n${text}`);
  // `times`: the shell's user and system time, then its children's ("0m1.250s 0m0.310s").
  const last = text.trimEnd().split("\n").at(-1) ?? "";
  const secondsOf = (t: string) => {
    const m = /(\d+)m([\d.]+)s/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  };
  const [user = "", system = ""] = last.trim().split(/\s+/);
  return { result: parseWrk(text), cpu: secondsOf(user) + secondsOf(system) };
}

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
  const servers = (/share the port \(pids ([\d, ]+)\)/.exec(stderr)?.[1] ?? "").split(",")
    .map((pid) => Number(pid.trim())).filter((pid) => pid > 0);
  return { stop, forwarder: child.pid, servers };
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
  let all: Awaited<ReturnType<typeof startAllCores>> | undefined;
  try {
    await Deno.mkdir(join(tmp, "one"));
    await Deno.mkdir(join(tmp, "all"));
    one = await startServer({ dir: join(tmp, "one"), env, stdout: "null" });
    const allPort = freePort();
    all = await startAllCores(join(tmp, "all"), { ...env, PORT: String(allPort) });
    const allUrl = `http://127.0.0.1:${allPort}`;
    const targets = [
      {
        name: "one process",
        url: one.url,
        port: one.port,
        token: await token(one.url, password),
        servers: [one.process.pid],
        forwarder: undefined as number | undefined,
      },
      {
        name: `all cores (${cores} processes)`,
        url: allUrl,
        port: allPort,
        token: await token(allUrl, password),
        servers: all.servers,
        forwarder: all.forwarder as number | undefined,
      },
    ];
    const runs: WrkResult[][] = [[], []];
    const usage: Usage[][] = [[], []];
    for (let round = 1; round <= rounds; round++) {
      for (const [i, target] of targets.entries()) {
        const args = (s: number) => [
          `-t${THREADS}`,
          `-c${CONNECTIONS}`,
          `-d${s}s`,
          "--timeout",
          "5s",
          "--latency",
          "-H",
          `Authorization: Bearer ${target.token}`,
          `${target.url}/me`,
        ];
        await runWrkTimed(wrkFound.path, args(WARMUP_SECONDS), WARMUP_SECONDS);
        const forwarder = target.forwarder ? [target.forwarder] : [];
        const before = await sample([...target.servers, ...forwarder]);
        const started = performance.now();
        const sampled = new Promise<number[]>((resolve) =>
          setTimeout(
            () => resolve(connectionsByPid(target.port, target.servers)),
            seconds * 500,
          )
        );
        const { result, cpu } = await runWrkTimed(wrkFound.path, args(seconds), seconds);
        const elapsed = (performance.now() - started) / 1000;
        const after = await sample([...target.servers, ...forwarder]);
        const connections = await sampled;
        const used: Usage = {
          servers: usedCpu(before, after, target.servers) / elapsed,
          forwarder: usedCpu(before, after, forwarder) / elapsed,
          wrk: cpu / elapsed,
          machine: cores * (after.busy - before.busy) / Math.max(1, after.total - before.total),
          connections,
        };
        if (result.non2xx > 0 || result.socketErrors) {
          throw new Error(
            `${target.name}: ${result.non2xx} non-2xx, socket errors ${result.socketErrors}; ` +
              "a figure made of errors measures nothing",
          );
        }
        log(
          `round ${round}, ${target.name}: ${result.rps.toFixed(0)} rps; cores used: servers ` +
            `${used.servers.toFixed(2)}, forwarder ${used.forwarder.toFixed(2)}, wrk ` +
            `${used.wrk.toFixed(2)}, machine ${used.machine.toFixed(2)} of ${cores}; ` +
            `connections per process ${connections.join("/") || "unknown"}`,
        );
        runs[i]!.push(result);
        usage[i]!.push(used);
      }
    }
    const oneRps = runs[0]!.map((r) => r.rps);
    const allRps = runs[1]!.map((r) => r.rps);
    const ratios = allRps.map((rps, i) => rps / oneRps[i]!);
    const ratio = median(ratios);
    return {
      processes: cores,
      oneRps,
      allRps,
      ratios,
      ratio,
      met: ratio >= TARGET,
      seconds,
      usage,
    };
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
  const lines = [
    `GET /me on all cores (start:all-cores, ${result.processes} processes) vs one process ` +
    `(deno task start), wrk -t${THREADS} -c${CONNECTIONS} -d${result.seconds}s (keep-alive) ` +
    "on this machine:",
    `  one process ${list(result.oneRps)} rps; all cores ${list(result.allRps)} rps; ` +
    `per-round ratios ${list(result.ratios, 2)}; median ${result.ratio.toFixed(2)}x, ` +
    `target >= ${TARGET.toFixed(1)}x: ${result.met ? "yes" : "NO"}`,
  ];
  const rpsOf = [result.oneRps, result.allRps];
  for (const [i, name] of ["one process", "all cores"].entries()) {
    const used = result.usage[i]!;
    const servers = median(used.map((u) => u.servers));
    const rps = median(rpsOf[i]!);
    lines.push(
      `  ${name}: cores used (medians) servers ${servers.toFixed(2)}, forwarder ` +
        `${median(used.map((u) => u.forwarder)).toFixed(2)}, wrk ` +
        `${median(used.map((u) => u.wrk)).toFixed(2)}, whole machine ` +
        `${median(used.map((u) => u.machine)).toFixed(2)} of ${result.processes}; ` +
        `server CPU ${(servers / rps * 1e6).toFixed(0)} us a request, wrk ` +
        `${(median(used.map((u) => u.wrk)) / rps * 1e6).toFixed(0)} us; connections per ` +
        `process ${used.map((u) => u.connections.join("/") || "?").join(", ")}`,
    );
  }
  // The bound this run's CPU figures set: all cores serve at most the cores left to the servers
  // divided by the cores one process keeps busy (its main thread, V8's GC helpers, I/O), at an
  // equal CPU cost a request. Estimates from measured CPU, not measurements of throughput.
  const one = median(result.usage[0]!.map((u) => u.servers));
  const all = result.usage[1]!;
  const left = result.processes - median(all.map((u) => u.wrk)) -
    median(all.map((u) => u.forwarder));
  const other = Math.max(
    ...result.usage.flat().map((u) => u.machine - u.servers - u.forwarder - u.wrk),
  );
  if (other > 0.1) {
    lines.push(
      `  NOT a fair figure: other work kept up to ${other.toFixed(2)} cores busy during a run ` +
        "(take it on a quiet machine)",
    );
  }
  lines.push(
    `  bound from this run's CPU (estimates): one process keeps ${one.toFixed(2)} cores busy; ` +
      `with wrk and the forwarder on the same cores, ${left.toFixed(2)} are left to the ` +
      `servers: at most ${(left / one).toFixed(2)}x one process; with every core to the ` +
      `servers (wrk on another machine): ${(result.processes / one).toFixed(2)}x`,
  );
  return lines.join("\n");
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
