/**
 * The processes the benchmark starts (baselines, servers, probes), all killed by {@link cleanup}
 * whatever happens, and what it reads about them from /proc.
 *
 * @module
 */
import { ROOT, type RunningServer } from "../tests/helpers/server_process.ts";

const decoder = new TextDecoder();

// ---- processes we start, all killed in `cleanup` ----

/** A process the bench started. */
export interface Child {
  readonly name: string;
  readonly process: Deno.ChildProcess;
  readonly stderr: () => string;
}

/** Every process started and not stopped yet. */
export const children = new Set<Child>();
/** Every server started (by `startServer`) and not stopped yet. */
export const servers = new Set<RunningServer>();

/** The text of a stream so far, read in the background. */
export function collect(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  const textDecoder = new TextDecoder();
  (async () => {
    for await (const chunk of stream) text += textDecoder.decode(chunk, { stream: true });
  })().catch(() => {});
  return () => text;
}

/** Starts a `deno run` process and waits for its "listening" line on stderr. */
export async function spawnDeno(name: string, args: string[]): Promise<Child> {
  const process = new Deno.Command("deno", {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const child = { name, process, stderr: collect(process.stderr) };
  children.add(child);
  let exited: Deno.CommandStatus | undefined;
  process.status.then((s) => exited = s);
  const deadline = Date.now() + 30_000;
  while (!child.stderr().includes("listening")) {
    if (exited) throw new Error(`${name} exited (${exited.code}):\n${child.stderr()}`);
    if (Date.now() > deadline) {
      throw new Error(`${name} did not listen in time:\n${child.stderr()}`);
    }
    await sleep(20);
  }
  return child;
}

export async function stopChild(child: Child): Promise<void> {
  try {
    child.process.kill("SIGKILL");
  } catch {
    // already exited
  }
  await child.process.status;
  children.delete(child);
}

export async function stopServer(server: RunningServer): Promise<void> {
  const timer = setTimeout(() => {
    try {
      server.process.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, 10_000);
  await server.stop("SIGTERM");
  clearTimeout(timer);
  servers.delete(server);
}

export async function cleanup(): Promise<void> {
  for (const child of [...children]) await stopChild(child);
  for (const server of [...servers]) {
    try {
      server.process.kill("SIGKILL");
    } catch {
      // already exited
    }
    await server.process.status;
    servers.delete(server);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- /proc ----

/** A /proc file's text: Deno grants /proc reads only with --allow-all, so `cat` reads it. */
export async function procText(path: string): Promise<string> {
  const out = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
    .output();
  return out.success ? decoder.decode(out.stdout) : "";
}

/** Peak and current resident memory of a process, in MB, from /proc/<pid>/status. */
export async function memory(pid: number): Promise<{ vmHwmMb: number; vmRssMb: number }> {
  const status = await procText(`/proc/${pid}/status`);
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { vmHwmMb: kb("VmHWM") / 1024, vmRssMb: kb("VmRSS") / 1024 };
}
