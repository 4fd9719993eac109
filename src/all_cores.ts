/**
 * `deno task start:all-cores`: the server on every core of one machine. It starts one server
 * process per core (`WEB_CONCURRENCY` processes when set), each exactly what `deno task start`
 * runs (the `server` task's command and permissions, read from `deno.json`; with `--cached`,
 * `deno task start:all-cores:cached`, what `start:cached` runs), all listening on
 * the one `PORT` with `SO_REUSEPORT` (`AUTH_REUSE_PORT=1`, `reuse_port.ts`) and all on the one
 * store. The Linux kernel spreads the connections across them.
 *
 * Why processes and not `deno serve --parallel`: each process is the whole server as
 * `deno task start` runs it, with its graceful stop, its listening line, its key following and
 * whatever listener later work adds to `server.ts`; `deno serve` would run only an exported
 * `fetch` in its workers. The price is Linux only: elsewhere `SO_REUSEPORT` does not spread
 * connections (`reuse_port.ts`), so on macOS, the BSDs and Windows this runs one process and
 * says so, and `WEB_CONCURRENCY` above 1 there is refused with one line.
 *
 * The first process starts alone, and the others only once it listens: a first start writes
 * `.env` (the generated `SECRET_KEY`), creates the store and the admin, and must do so once.
 * Each process's output is forwarded whole lines at a time (several processes writing 64 KiB
 * log batches to one pipe could interleave inside a line). SIGTERM, SIGINT and SIGHUP go on to
 * every process (SIGTERM for both stops). When one process exits by itself, the others are
 * stopped too and this exits with its code, so a supervisor (systemd, Docker) restarts the
 * whole rather than run on with fewer cores unnoticed.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { REUSE_PORT_VAR } from "./reuse_port.ts";

/** The variable that sets how many processes (gunicorn's and Heroku's name for it). */
export const PROCESSES_VAR = "WEB_CONCURRENCY";

/** How many processes to start, with a note to print; or why not. */
export type Plan =
  | { readonly processes: number; readonly note?: string }
  | { readonly problem: string };

/**
 * The number of processes for this platform and core count, `requested` being
 * `WEB_CONCURRENCY` (unset: one per core).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planProcesses } from "./all_cores.ts";
 * assert.deepEqual(planProcesses("linux", 4, undefined), { processes: 4 });
 * assert.deepEqual(planProcesses("linux", 4, "2"), { processes: 2 });
 * assert.equal((planProcesses("darwin", 8, undefined) as { processes: number }).processes, 1);
 * assert.ok("problem" in planProcesses("windows", 8, "4"));
 * ```
 */
export function planProcesses(
  os: typeof Deno.build.os,
  cores: number,
  requested: string | undefined,
): Plan {
  let wanted = Math.max(1, cores);
  if (requested !== undefined && requested !== "") {
    if (!/^[1-9][0-9]{0,2}$/.test(requested)) {
      return { problem: `${PROCESSES_VAR} must be a whole number from 1 to 999, not ${requested}` };
    }
    wanted = Number(requested);
  }
  if (os === "linux" || wanted === 1) return { processes: wanted };
  if (requested !== undefined && requested !== "") {
    return {
      problem: `${PROCESSES_VAR}=${requested} needs Linux: only its SO_REUSEPORT spreads one ` +
        `port's connections across processes, and this is ${os}; unset it to run one process`,
    };
  }
  return {
    processes: 1,
    note: `Serving with one process: several processes on one port share its connections ` +
      `only on Linux (SO_REUSEPORT), and this is ${os}`,
  };
}

/**
 * The `server` task of `deno.json` as an environment and the arguments of `deno`: the
 * `NAME=value` words before `deno`, and the rest, with the project's own paths (`main.ts`,
 * `./node_modules`, `deno.json`) made absolute from `root`, so the processes run from any working
 * directory (`deno task --cwd`), where `.env` and `./data` are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serverCommand } from "./all_cores.ts";
 * const { env, args } = serverCommand("A=1 deno run --allow-ffi=./node_modules main.ts", "/srv/auth/");
 * assert.deepEqual(env, { A: "1" });
 * assert.deepEqual(args, [
 *   "run", "--config", "/srv/auth/deno.json", "--allow-ffi=/srv/auth/node_modules", "/srv/auth/main.ts",
 * ]);
 * ```
 */
export function serverCommand(
  task: string,
  root: string,
): { env: Record<string, string>; args: string[] } {
  const words = task.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? "")) {
    const [name, ...value] = words.shift()!.split("=");
    env[name!] = value.join("=");
  }
  if (words.shift() !== "deno") throw new Error(`the server task does not run deno: ${task}`);
  const [subcommand, ...rest] = words;
  const absolute = (word: string) =>
    word === "main.ts"
      ? `${root}main.ts`
      : word.replace(/(?<=[=,])\.\/node_modules(?=\/|,|$)/g, `${root}node_modules`);
  return { env, args: [subcommand!, "--config", `${root}deno.json`, ...rest.map(absolute)] };
}

/** The project's directory, with a trailing separator. */
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** One started server process. */
interface Child {
  readonly process: Deno.ChildProcess;
  /** Resolves when its stderr has said it listens; rejects when it exits first. */
  readonly listening: Promise<void>;
  /** Resolves when its output has all been forwarded. */
  readonly drained: Promise<void>;
}

/** Copies `stream` to `write` whole lines at a time; calls `onLine` on each line. */
async function forwardLines(
  stream: ReadableStream<Uint8Array>,
  write: (bytes: Uint8Array) => void,
  onLine?: (line: string) => void,
): Promise<void> {
  const decoder = onLine ? new TextDecoder() : undefined;
  let held = new Uint8Array(0);
  for await (const chunk of stream) {
    const bytes = held.length === 0 ? chunk : concat(held, chunk);
    const end = bytes.lastIndexOf(10) + 1; // up to and with the last newline
    if (end > 0) {
      const whole = bytes.subarray(0, end);
      write(whole);
      if (decoder) { for (const line of decoder.decode(whole).split("\n")) onLine!(line); }
    }
    held = bytes.slice(end);
  }
  if (held.length > 0) write(held);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  return both;
}

function writeAll(target: typeof Deno.stdout | typeof Deno.stderr) {
  return (bytes: Uint8Array) => {
    while (bytes.length > 0) bytes = bytes.subarray(target.writeSync(bytes));
  };
}

/** Starts one server process (the `task`'s command) with `SO_REUSEPORT` when `shared`. */
function startChild(task: string, shared: boolean): Child {
  const { env, args } = serverCommand(task, ROOT);
  const process = new Deno.Command("deno", {
    // `reusePort` is still behind --unstable-net in Deno 2.9; only these processes ask for it.
    args: shared ? [args[0]!, "--unstable-net", ...args.slice(1)] : args,
    env: shared ? { ...env, [REUSE_PORT_VAR]: "1" } : env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let heard: () => void = () => {};
  const listening = new Promise<void>((resolve, reject) => {
    heard = resolve;
    process.status.then((s) => reject(new Error(`exited with code ${s.code} before listening`)));
  });
  listening.catch(() => {}); // awaited later, or not at all once another process failed
  const drained = Promise.all([
    forwardLines(process.stdout, writeAll(Deno.stdout)),
    forwardLines(process.stderr, writeAll(Deno.stderr), (line) => {
      if (line.includes("listening on")) heard();
    }),
  ]).then(() => {});
  return { process, listening, drained };
}

/**
 * Runs the plan's processes until a stop signal or until one exits; returns the exit code.
 * `cached`: each runs what `deno task start:cached` runs (nothing resolved at run time).
 */
export async function runAllCores(cached = false): Promise<number> {
  const task = cached ? denoJson.tasks["start:cached"] : denoJson.tasks.server;
  const plan = planProcesses(
    Deno.build.os,
    navigator.hardwareConcurrency,
    Deno.env.get(PROCESSES_VAR),
  );
  if ("problem" in plan) {
    console.error(`Configuration error: ${plan.problem}`);
    return 1;
  }
  if (plan.note) console.error(plan.note);
  const shared = plan.processes > 1;
  const children: Child[] = [];
  let stopping = false;
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGTERM", "SIGINT", "SIGHUP"];
  // Each process is sent SIGTERM once: a second one, arriving after its stop removed its signal
  // listeners, would kill it mid-exit.
  const told = new Set<Child>();
  const stopAll = () => {
    stopping = true;
    for (const child of children) {
      if (told.has(child)) continue;
      told.add(child);
      try {
        child.process.kill("SIGTERM");
      } catch {
        // already exited
      }
    }
  };
  const forward = (signal: Deno.Signal) => () => {
    if (signal !== "SIGHUP") return stopAll();
    if (stopping) return; // a stopping process has no SIGHUP listener left
    for (const child of children) {
      try {
        child.process.kill("SIGHUP");
      } catch {
        // already exited
      }
    }
  };
  const listeners = signals.map((signal) => [signal, forward(signal)] as const);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);

  // The first alone (a first start writes .env and creates the store), then the others.
  const exited = new Promise<Deno.CommandStatus>((resolve) => {
    const start = () => {
      const child = startChild(task, shared);
      children.push(child);
      void child.process.status.then(resolve);
      return child;
    };
    (async () => {
      await start().listening;
      if (stopping) return;
      const rest = Array.from({ length: plan.processes - 1 }, start);
      await Promise.all(rest.map((child) => child.listening));
      if (shared && !stopping) {
        console.error(
          `start:all-cores: ${plan.processes} server processes share the port ` +
            `(pids ${children.map((c) => c.process.pid).join(", ")})`,
        );
      }
    })().catch(() => {}); // a process exited before listening: \`exited\` has it
  });

  const first = await exited;
  const unasked = !stopping;
  if (unasked) {
    console.error(
      `start:all-cores: a server process exited by itself (code ${first.code}); ` +
        "stopping the others",
    );
  }
  stopAll();
  const statuses = await Promise.all(children.map((child) => child.process.status));
  await Promise.all(children.map((child) => child.drained));
  for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  if (unasked) return first.code || 1;
  // Asked to stop: a process still starting (no listener yet) ends by the signal itself.
  return statuses.find((status) => status.code !== 0 && status.signal !== "SIGTERM")?.code ?? 0;
}

if (import.meta.main) Deno.exit(await runAllCores(Deno.args.includes("--cached")));
