/**
 * Phase 4: start-up, spawn to the first 200 of `GET /healthz` with the `start` task's command,
 * environment and flags, against baseline A (a bare `Deno.serve`) spawned the same way, and to
 * the first token from `POST /login`. Warm: Deno's caches are hot from the phases before, and the
 * server's directory with its `.env` and KV file is reused, so that only start-up is measured.
 * Interleaved, one unmeasured start of each first.
 *
 * @module
 */
import { join } from "node:path";
import { freePort, taskCommand } from "../tests/helpers/server_process.ts";
import { type Child, children, collect, sleep, stopChild } from "./processes.ts";
import { median } from "./report.ts";
import { BENCH_DIR, log } from "./settings.ts";

/** What {@link timeStart} spawns and asks until it answers 200. */
interface StartProbe {
  readonly name: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly url: string;
  readonly init?: RequestInit;
}

/** The `start` task's command and flags, serving `script` (main.ts by default). */
function startCommand(
  port: number,
  script?: string,
): { args: string[]; env: Record<string, string> } {
  const task = taskCommand("start");
  const args = script === undefined ? task.args : [...task.args.slice(0, -1), script, String(port)];
  return { args, env: { ...task.env, PORT: String(port) } };
}

/**
 * The CPU time (user + system, all threads) process `pid` has used so far, in ms; `NaN` where
 * `/proc` cannot tell (not Linux, or no read permission). On a loaded machine this moves far less
 * than the wall-clock time of a start: other processes' work is not counted.
 */
export async function processCpuMs(pid: number): Promise<number> {
  try {
    // Through `cat`: Deno lets a process read another's /proc entries only with --allow-all.
    const out = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`], stderr: "null" })
      .output();
    if (!out.success) return Number.NaN;
    const stat = new TextDecoder().decode(out.stdout);
    // Fields after the command name (which may hold spaces) start after its closing parenthesis;
    // utime and stime are the 14th and 15th fields, in clock ticks (100 per second on Linux).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/**
 * Spawns `probe`'s command and times it until its URL first answers 200 (and, less precisely,
 * until its "listening" line), with the CPU time the process had used by then.
 */
async function timeStart(probe: StartProbe): Promise<StartRun> {
  const client = Deno.createHttpClient({});
  const t0 = performance.now();
  const process = new Deno.Command("deno", {
    args: probe.args,
    cwd: probe.cwd,
    env: probe.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const child: Child = { name: probe.name, process, stderr: collect(process.stderr) };
  children.add(child);
  let listeningMs: number | undefined;
  try {
    for (;;) {
      const elapsed = performance.now() - t0;
      if (listeningMs === undefined && child.stderr().includes("listening")) {
        listeningMs = elapsed;
      }
      if (elapsed > 15_000) throw new Error(`${probe.name}: no 200 in 15 s:\n${child.stderr()}`);
      try {
        const response = await fetch(probe.url, { ...probe.init, client });
        await response.body?.cancel();
        if (response.status === 200) {
          const firstOkMs = performance.now() - t0;
          const cpuMs = await processCpuMs(process.pid);
          return { firstOkMs, listeningMs: listeningMs ?? firstOkMs, cpuMs };
        }
        throw new Error(`${probe.name}: answered ${response.status}`);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith(`${probe.name}: answered`)) throw err;
        await sleep(1); // not listening yet
      }
    }
  } finally {
    client.close();
    await stopChild(child);
  }
}

/** Times `starts` starts of each probe (after one unmeasured start of each), interleaved. */
type StartRun = { firstOkMs: number; listeningMs: number; cpuMs: number };

async function timeStarts(probes: readonly (() => StartProbe)[], starts: number) {
  for (const probe of probes) await timeStart(probe());
  const runs = probes.map(() => [] as StartRun[]);
  for (let i = 0; i < starts; i++) {
    for (const [j, probe] of probes.entries()) runs[j]!.push(await timeStart(probe()));
  }
  return runs;
}

/** What the start-up phase measured. */
export interface StartupFigures {
  /** Baseline A, then the server to `/healthz`, then to the first token. */
  readonly bare: StartFigures;
  readonly health: StartFigures;
  readonly token: StartFigures;
  /** Per start (the i-th of each, run back to back): server / baseline A. */
  readonly ratios: readonly number[];
  readonly tokenRatios: readonly number[];
}

/** One probe's starts. */
export interface StartFigures {
  readonly medianMs: number;
  readonly runsMs: readonly number[];
  readonly listeningMs: number;
  /** CPU time of the process (all threads) at its first 200, per start (`NaN` off Linux). */
  readonly cpuMs: readonly number[];
}

/**
 * Times `starts` starts of baseline A and of the server (to `/healthz` and to a token) in
 * `serverDir`, with `serverEnv` and the bootstrap `password`.
 */
export async function measureStartup(
  serverDir: string,
  serverEnv: Record<string, string>,
  password: string,
  starts: number,
): Promise<StartupFigures> {
  const probe = (name: string, path: string, init?: RequestInit, script?: string) => () => {
    const port = freePort();
    const command = startCommand(port, script);
    return {
      name,
      args: command.args,
      env: { ...command.env, ...serverEnv },
      cwd: serverDir,
      url: `http://127.0.0.1:${port}${path}`,
      ...(init ? { init } : {}),
    };
  };
  const [bareStarts, healthStarts, tokenStarts] = await timeStarts([
    probe("baseline A start-up", "/", undefined, join(BENCH_DIR, "baseline_bare.ts")),
    probe("server start-up (/healthz)", "/healthz"),
    probe("server start-up (/login)", "/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: "admin", password }),
    }),
  ], starts) as [StartRun[], StartRun[], StartRun[]];
  const figures = (runs: readonly StartRun[]): StartFigures => ({
    medianMs: median(runs.map((r) => r.firstOkMs)),
    runsMs: runs.map((r) => r.firstOkMs),
    listeningMs: median(runs.map((r) => r.listeningMs)),
    cpuMs: runs.map((r) => r.cpuMs),
  });
  const result = {
    bare: figures(bareStarts),
    health: figures(healthStarts),
    token: figures(tokenStarts),
    ratios: healthStarts.map((r, i) => r.firstOkMs / bareStarts[i]!.firstOkMs),
    tokenRatios: tokenStarts.map((r, i) => r.firstOkMs / bareStarts[i]!.firstOkMs),
  };
  const list = (runs: readonly number[]) => runs.map((v) => v.toFixed(0)).join(", ");
  log(
    `start-up to the first 200: baseline A ${list(result.bare.runsMs)} ms; /healthz ${
      list(result.health.runsMs)
    } ms; /login ${list(result.token.runsMs)} ms`,
  );
  // CPU time is what survives a loaded machine: a start's wall time there is mostly waiting.
  log(
    `start-up CPU time at the first 200 (user + system, all threads): baseline A ${
      list(result.bare.cpuMs)
    } ms; /healthz ${list(result.health.cpuMs)} ms; /login ${list(result.token.cpuMs)} ms`,
  );
  return result;
}
