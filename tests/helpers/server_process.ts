/**
 * Runs the real server (and the CLIs) as users do: the `deno.json` task's own command and
 * permission flags, in a fresh temporary directory, on a free port, over real TCP.
 *
 * The task strings are read from `deno.json` and only made absolute (they name `./node_modules`
 * and `main.ts` relative to the project root), so a permission the tasks lack fails these tests.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface TaskCommand {
  readonly env: Record<string, string>;
  readonly args: string[];
}

/**
 * The command of a `deno.json` task, with project-relative paths made absolute. A task that only
 * runs another quietly (`deno task --quiet server`) resolves to that one's command.
 */
export function taskCommand(name: string): TaskCommand {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const task: string = config.tasks[name];
  if (!task) throw new Error(`No task ${name}`);
  const delegate = task.match(/^deno task (?:--quiet|-q) (\S+)$/);
  if (delegate) return taskCommand(delegate[1]!);
  const absolute = (word: string) =>
    word.replace(/(?<=[=,])\.\/node_modules(?=\/|,|$)/g, join(ROOT, "node_modules"))
      .replace(/^(main\.ts|src\/.*\.ts)$/, (file) => join(ROOT, file));
  const words = task.split(/\s+/).map(absolute);
  const env: Record<string, string> = {};
  while (words[0]?.includes("=") && !words[0].startsWith("-")) {
    const [key, ...value] = words.shift()!.split("=");
    env[key!] = value.join("=");
  }
  if (words.shift() !== "deno") throw new Error(`Task ${name} does not start with deno`);
  const [subcommand, ...rest] = words;
  return { env, args: [subcommand!, "--config", join(ROOT, "deno.json"), ...rest] };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * A fresh temporary directory with no `.env`: it stands for a fresh clone, so it holds a
 * `deno.json` (the commands run with the project's own `--config`; the CLIs refuse to run in a
 * directory with neither `.env` nor `deno.json`, which is not the server's).
 */
export async function freshDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "auth-e2e-" });
  await Deno.writeTextFile(join(dir, "deno.json"), "{}\n");
  return dir;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: Deno.ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Everything the process wrote to stdout so far (the JSON log). */
  stdout(): string;
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

export interface StartOptions {
  readonly dir?: string;
  readonly env?: Record<string, string>;
  readonly port?: number;
  /** Where the process's stdout (the JSON log) goes: collected (default) or /dev/null. */
  readonly stdout?: "piped" | "null";
  /** How long to wait for the listening line. */
  readonly timeoutMs?: number;
}

/** Starts `deno task start` in `dir` (default: a fresh one) and waits until it listens. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dir = options.dir ?? await freshDir();
  const port = options.port ?? freePort();
  const { env, args } = taskCommand("start");
  const process = new Deno.Command("deno", {
    args,
    cwd: dir,
    env: { ...env, HOST: "127.0.0.1", PORT: String(port), ...options.env },
    stdin: "null",
    stdout: options.stdout ?? "piped",
    stderr: "piped",
  }).spawn();
  const out = options.stdout === "null"
    ? { text: () => "", done: Promise.resolve() }
    : collect(process.stdout);
  const err = collect(process.stderr);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let exited: Deno.CommandStatus | undefined;
  process.status.then((s) => exited = s);
  while (!err.text().includes("listening on")) {
    if (exited) {
      throw new Error(`Server exited (${exited.code}) before listening:\n${err.text()}`);
    }
    if (Date.now() > deadline) {
      process.kill("SIGKILL");
      await process.status;
      throw new Error(`Server did not listen in time:\n${err.text()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url,
    port,
    dir,
    process,
    stderr: err.text,
    stdout: out.text,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch {
        // already exited
      }
      const status = await process.status;
      await Promise.all([out.done, err.done]);
      return status;
    },
  };
}

/**
 * Runs `deno task <task>` literally, as a user would, in a checkout copied to `dir`, and waits
 * for the listening line (up to 2 minutes: a first start installs the packages).
 */
export async function startTaskIn(dir: string, task: string, env: Record<string, string>) {
  const child = new Deno.Command("deno", {
    args: ["task", task],
    cwd: dir,
    env,
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
  const deadline = Date.now() + 120_000; // the first start installs the packages
  while (!stderr.includes("listening on") && !exited && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!stderr.includes("listening on")) {
    if (!exited) child.kill("SIGKILL");
    await reading;
    throw new Error(`deno task ${task} did not listen:\n${stderr}`);
  }
  return {
    stderr: () => stderr,
    /** SIGTERM, then the exit status (SIGKILL after 10 s: a process that did not stop). */
    async stop(): Promise<Deno.CommandStatus> {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const status = await child.status;
      clearTimeout(timer);
      await reading;
      return status;
    },
  };
}

/** Result of a CLI run. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `deno task <task> <args>` in `dir`, feeding `stdin` (e.g. a password line). */
export async function runTask(
  task: "user" | "keys" | "client",
  dir: string,
  cliArgs: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const { env, args } = taskCommand(task);
  return await runDeno(dir, [...args, ...cliArgs], { ...options, env: { ...env, ...options.env } });
}

/** Runs `deno <args>` in `dir`, `env` added to this environment, feeding `stdin`. */
export async function runDeno(
  dir: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const child = new Deno.Command("deno", {
    args,
    cwd: dir,
    env: options.env ?? {},
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

/** POSTs JSON and returns the status, headers and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}
