/**
 * Finding (or installing) `wrk`, running it bounded in time, and reading its `--latency` output.
 *
 * @module
 */

/** What one wrk run measured. */
export interface WrkResult {
  readonly rps: number;
  readonly requests: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p75Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** wrk's own "Non-2xx or 3xx responses" count. */
  readonly non2xx: number;
  /** wrk's "Socket errors" line, when it printed one. */
  readonly socketErrors: string | undefined;
  /** Counts from a lua script's done() (`BENCH_STATUS ok=.. bad=.. first_bad=..`). */
  readonly status: { ok: number; bad: number; firstBad: string } | undefined;
  readonly output: string;
}

/** Options of one wrk run. */
export interface WrkOptions {
  readonly url: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  readonly script?: string;
  readonly headers?: readonly string[];
  readonly env?: Record<string, string>;
}

const decoder = new TextDecoder();

/** The path of `cmd` on PATH, or undefined. */
export async function which(cmd: string): Promise<string | undefined> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v ${cmd}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const path = decoder.decode(out.stdout).trim();
  return out.success && path !== "" ? path : undefined;
}

async function runBounded(
  cmd: string,
  args: string[],
  timeoutMs: number,
  env: Record<string, string> = {},
): Promise<{ ok: boolean; text: string }> {
  const child = new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    return {
      ok: out.success,
      text: decoder.decode(out.stdout) + decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Returns wrk's path, installing Debian's `wrk` package with apt-get when it is missing and we
 * are root. Returns an explanation instead when that is impossible.
 */
export async function ensureWrk(log: (line: string) => void): Promise<
  { path: string; installed: boolean } | { problem: string }
> {
  const found = await which("wrk");
  if (found) return { path: found, installed: false };
  if (Deno.uid() !== 0) {
    return { problem: "wrk is not on PATH and this is not root; install it: apt-get install wrk" };
  }
  if (!(await which("apt-get"))) {
    return { problem: "wrk is not on PATH and there is no apt-get to install it with" };
  }
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  log("wrk not found: running apt-get update && apt-get install -y wrk (Debian package)");
  const update = await runBounded("apt-get", ["update"], 180_000, env);
  if (!update.ok) log(`apt-get update failed (trying the install anyway):\n${tail(update.text)}`);
  const install = await runBounded("apt-get", ["install", "-y", "wrk"], 180_000, env);
  const path = await which("wrk");
  if (!install.ok || !path) {
    return { problem: `apt-get install -y wrk failed:\n${tail(install.text)}` };
  }
  log(`installed wrk at ${path}`);
  return { path, installed: true };
}

function tail(text: string, lines = 12): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Runs wrk once (`--latency`), killed if it overruns its duration by 20 s. */
export async function runWrk(wrk: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--timeout",
    "5s",
    "--latency",
    ...(options.script ? ["-s", options.script] : []),
    ...(options.headers ?? []).flatMap((h) => ["-H", h]),
    options.url,
  ];
  const { ok, text } = await runBounded(wrk, args, (options.seconds + 20) * 1000, options.env);
  if (!ok) throw new Error(`wrk ${args.join(" ")} failed:\n${text}`);
  return parseWrk(text);
}

/** Reads wrk's `--latency` report. */
export function parseWrk(output: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(output);
  if (!Number.isFinite(rps) || !total) throw new Error(`Cannot read wrk output:\n${output}`);
  const percentile = (p: number) => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(output);
    return match ? toMs(Number(match[1]), match[2] ?? "ms") : Number.NaN;
  };
  const status = /BENCH_STATUS ok=(\d+) bad=(\d+) first_bad=(.*)$/m.exec(output);
  return {
    rps,
    requests: Number(total[1]),
    seconds: toMs(Number(total[2]), total[3] ?? "s") / 1000,
    p50Ms: percentile(50),
    p75Ms: percentile(75),
    p90Ms: percentile(90),
    p99Ms: percentile(99),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: /Socket errors:\s*(.*)$/m.exec(output)?.[1]?.trim(),
    status: status
      ? { ok: Number(status[1]), bad: Number(status[2]), firstBad: (status[3] ?? "").trim() }
      : undefined,
    output,
  };
}

function toMs(value: number, unit: string): number {
  switch (unit) {
    case "us":
      return value / 1000;
    case "ms":
      return value;
    case "s":
      return value * 1000;
    case "m":
      return value * 60_000;
    case "h":
      return value * 3_600_000;
    default:
      return Number.NaN;
  }
}
