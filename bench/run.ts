/**
 * `deno task bench`: the micro benchmarks (`deno bench bench/`), then the HTTP benchmark of the
 * real server in the configuration people run (the defaults a first start writes to `.env`, so
 * `LOG_LEVEL=info`: the request log on) against this machine's own ceilings, measured in the
 * same run, each figure a ratio to its baseline:
 *
 * - baseline C, a bare `Deno.serve` replaying `/me`'s exact answer, vs baseline A, a bare
 *   `Deno.serve` JSON hello (what the answer's headers cost; target >= 0.5x);
 * - `GET /me` (one valid token reused) vs baseline C (what the application costs; >= 0.85x), and
 *   a second row for the same server with `LOG_LEVEL=warn` (request log off);
 * - `POST /refresh` (a chain of fresh tokens per connection) vs baseline B, `Deno.serve` making
 *   one Deno KV atomic commit per request (target >= 0.6x);
 * - `POST /login` vs the raw argon2id verify rate of the server's own hasher (target >= 0.85x);
 * - start-up, spawn to the first 200 from `GET /healthz`, vs baseline A spawned the same way
 *   (the `start` task's command and flags; target <= 2.0x), and to the first token from
 *   `POST /login`; the server's peak resident memory after this load (VmHWM, target <= 128 MB).
 *
 * Every server listens on 127.0.0.1 on a free port and is killed at the end; every wrk run is
 * bounded in time. Results: one table on stdout and `bench/results/latest.json`.
 *
 * @module
 */
import { join } from "node:path";
import { createPasswordHasher } from "../src/crypto/passwords.ts";
import { selectArgon2Backend } from "../src/crypto/select_argon2_backend.ts";
import { benchLoginBackends, loginBackendsTable, verifyRate } from "./login_backends.ts";
import { allCoresReport, benchAllCores } from "./all_cores.ts";
import {
  freePort,
  ROOT,
  type RunningServer,
  startServer,
  taskCommand,
} from "../tests/helpers/server_process.ts";
import { ensureWrk, runWrk, type WrkResult } from "./wrk.ts";

const BENCH_DIR = join(ROOT, "bench");
const RESULTS = join(BENCH_DIR, "results", "latest.json");
const ROUNDS = 3;
const SECONDS = 5;
const WARMUP_SECONDS = 1;
const WRK_THREADS = 2;
const CONNECTIONS = 32;
/** /refresh and baseline B: one connection per wrk thread, each thread its own token chain. */
const CHAINS = 8;
const ARGON2_SECONDS = 5;
const STARTS = 5;
const UNLIMITED = "100000000/1m";
const TARGETS = {
  replay: 0.5,
  me: 0.85,
  refresh: 0.6,
  login: 0.85,
  startup: 2.0,
  memoryMb: 128,
} as const;

const decoder = new TextDecoder();
const log = (line: string) => console.error(`[bench] ${line}`);

// ---- processes we start, all killed in `finally` ----

interface Child {
  readonly name: string;
  readonly process: Deno.ChildProcess;
  readonly stderr: () => string;
}

const children = new Set<Child>();
const servers = new Set<RunningServer>();

function collect(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  const textDecoder = new TextDecoder();
  (async () => {
    for await (const chunk of stream) text += textDecoder.decode(chunk, { stream: true });
  })().catch(() => {});
  return () => text;
}

/** Starts a `deno run` process and waits for its "listening" line on stderr. */
async function spawnDeno(name: string, args: string[]): Promise<Child> {
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

async function stopChild(child: Child): Promise<void> {
  try {
    child.process.kill("SIGKILL");
  } catch {
    // already exited
  }
  await child.process.status;
  children.delete(child);
}

async function stopServer(server: RunningServer): Promise<void> {
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

async function cleanup(): Promise<void> {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- the machine ----

/** A /proc file's text: Deno grants /proc reads only with --allow-all, so `cat` reads it. */
async function procText(path: string): Promise<string> {
  const out = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
    .output();
  return out.success ? decoder.decode(out.stdout) : "";
}

async function machine() {
  const cpuinfo = await procText("/proc/cpuinfo");
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const nproc = decoder.decode(
    (await new Deno.Command("nproc", { stdout: "piped" }).output()).stdout,
  )
    .trim();
  const loadavg = (await procText("/proc/loadavg")).split(" ")
    .slice(0, 3).join(" ");
  return {
    date: new Date().toISOString(),
    nproc: Number(nproc) || navigator.hardwareConcurrency,
    cpu,
    loadavg_at_start: loadavg,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os}-${Deno.build.arch}`,
  };
}

// ---- the micro benchmarks ----

async function microBenchmarks(): Promise<{ ok: boolean; output: string }> {
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

// ---- talking to the real server ----

async function login(url: string, password: string): Promise<{ token: string; refresh: string }> {
  const response = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: "admin", password }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/login answered ${response.status}: ${text}`);
  const body = JSON.parse(text) as { token: string; refresh_token: string };
  return { token: body.token, refresh: body.refresh_token };
}

/** The user the `/login` phase signs in as (not `admin`, whose sessions the other phases use). */
const LOGIN_USER = "bench-login";

async function addUser(url: string, adminToken: string, userId: string, password: string) {
  const response = await fetch(`${url}/admin/users`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Authorization": `Bearer ${adminToken}` },
    body: JSON.stringify({ user_id: userId, password, roles: ["user"] }),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`/admin/users answered ${response.status}: ${text}`);
}

async function logins(url: string, password: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push((await login(url, password)).refresh);
  return tokens;
}

/** Peak and current resident memory of a process, in MB, from /proc/<pid>/status. */
async function memory(pid: number): Promise<{ vmHwmMb: number; vmRssMb: number }> {
  const status = await procText(`/proc/${pid}/status`);
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { vmHwmMb: kb("VmHWM") / 1024, vmRssMb: kb("VmRSS") / 1024 };
}

// ---- raw argon2id, in process ----

/**
 * Runs argon2id verifies through the server's own hasher (same parameters and the same bound on
 * concurrent hashes as the server's) with `callers` requests in flight, for `seconds`.
 */
async function argon2Rate(callers: number, seconds: number) {
  // The backend the server's PASSWORD_HASHER=auto picks on this machine.
  const backend = (await selectArgon2Backend("auto")).backend;
  return await verifyRate(createPasswordHasher({ backend }), callers, seconds);
}

// ---- start-up ----

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
 * Spawns `probe`'s command and times it until its URL first answers 200 (and, less precisely,
 * until its "listening" line).
 */
async function timeStart(probe: StartProbe): Promise<{ firstOkMs: number; listeningMs: number }> {
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
          return { firstOkMs, listeningMs: listeningMs ?? firstOkMs };
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

/** Times `STARTS` starts of each probe (after one unmeasured start of each), interleaved. */
type StartRun = { firstOkMs: number; listeningMs: number };

async function timeStarts(probes: readonly (() => StartProbe)[]) {
  for (const probe of probes) await timeStart(probe());
  const runs = probes.map(() => [] as StartRun[]);
  for (let i = 0; i < STARTS; i++) {
    for (const [j, probe] of probes.entries()) runs[j]!.push(await timeStart(probe()));
  }
  return runs;
}

// ---- the report ----

interface Row {
  readonly endpoint: string;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly baseline: string;
  readonly baselineRps: number | undefined;
  readonly ratio: number | undefined;
  readonly target: number | undefined;
  readonly met: boolean | undefined;
  readonly load: string;
  readonly errors: string;
}

function row(
  endpoint: string,
  load: string,
  result: { rps: number; p50Ms: number; p99Ms: number },
  errors: string,
  baseline?: { name: string; rps: number; target?: number; ratio: number },
): Row {
  const ratio = baseline?.ratio;
  return {
    endpoint,
    rps: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    baseline: baseline?.name ?? "-",
    baselineRps: baseline?.rps,
    ratio,
    target: baseline?.target,
    met: baseline?.target !== undefined && ratio !== undefined
      ? ratio >= baseline.target
      : undefined,
    load,
    errors,
  };
}

function errorsOf(result: WrkResult): string {
  const parts: string[] = [];
  const bad = result.status?.bad ?? result.non2xx;
  parts.push(`${bad} non-200`);
  if (result.status?.firstBad) parts.push(`first: ${result.status.firstBad}`);
  if (result.socketErrors) parts.push(`socket errors: ${result.socketErrors}`);
  return parts.join("; ");
}

function fmt(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(digits);
}

function ms(value: number): string {
  return value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(1)} ms`;
}

function table(rows: readonly Row[]): string {
  const header = [
    "endpoint",
    "rps",
    "p50",
    "p99",
    "baseline",
    "baseline rps",
    "ratio",
    "target",
    "met?",
  ];
  const cells = rows.map((r) => [
    r.endpoint,
    fmt(r.rps),
    ms(r.p50Ms),
    ms(r.p99Ms),
    r.baseline,
    fmt(r.baselineRps),
    r.ratio === undefined ? "-" : `${r.ratio.toFixed(2)}x`,
    r.target === undefined ? "-" : `>= ${r.target.toFixed(2)}x`,
    r.met === undefined ? "-" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) =>
    `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...cells.map(line),
  ].join("\n");
}

// ---- main ----

async function main(): Promise<number> {
  const started = performance.now();
  const host = await machine();
  log(
    `${host.date} · ${host.nproc} CPUs (${host.cpu}) · deno ${host.deno} · load average ${host.loadavg_at_start}`,
  );

  const micro = await microBenchmarks();
  if (!micro.ok) log("deno bench failed (see above); going on with the HTTP benchmark");

  const wrkFound = await ensureWrk(log);
  if ("problem" in wrkFound) {
    console.error(
      `\nHTTP benchmark NOT RUN: ${wrkFound.problem}\n` +
        "It needs wrk (Debian package `wrk`); install it and run `deno task bench` again.",
    );
    return 1;
  }
  const wrk = wrkFound.path;
  const tmp = await Deno.makeTempDir({ prefix: "auth-bench-" });
  const serverDir = join(tmp, "server");
  const kvDir = join(tmp, "baseline-kv");
  await Deno.mkdir(serverDir);
  await Deno.mkdir(kvDir);
  const password = `bench-${crypto.randomUUID()}`;
  const serverEnv: Record<string, string> = {
    HOST: "127.0.0.1",
    BOOTSTRAP_PASSWORD: password,
    LOGIN_LIMIT_PER_CLIENT: UNLIMITED,
    LOGIN_LIMIT_PER_ACCOUNT: UNLIMITED,
    REFRESH_LIMIT_PER_CLIENT: UNLIMITED,
  };
  // The second row: the same server with the request log off.
  const warnDir = join(tmp, "server-warn");
  await Deno.mkdir(warnDir);
  const config = join(ROOT, "deno.json");
  const results: Record<string, unknown> = {};

  try {
    const load = (t: number, c: number) => `wrk -t${t} -c${c} -d${SECONDS}s`;
    const drive = async (
      name: string,
      options: Omit<Parameters<typeof runWrk>[1], "seconds">,
    ): Promise<WrkResult> => {
      log(`${name}: warm-up ${WARMUP_SECONDS}s, then ${SECONDS}s`);
      await runWrk(wrk, { ...options, seconds: WARMUP_SECONDS });
      const result = await runWrk(wrk, { ...options, seconds: SECONDS });
      log(
        `${name}: ${result.rps.toFixed(0)} rps, p50 ${ms(result.p50Ms)}, p99 ${ms(result.p99Ms)}, ${
          errorsOf(result)
        }`,
      );
      return result;
    };

    // Every server runs for the whole benchmark; each round measures every pair back to back
    // (baseline, then the endpoint), and each ratio is the median of the per-round ratios, so a
    // burst of noise on this 2-core machine moves one round, not the answer.
    const barePort = freePort();
    const bare = await spawnDeno("baseline A (bare Deno.serve)", [
      "run",
      `--allow-net=127.0.0.1:${barePort}`,
      join(BENCH_DIR, "baseline_bare.ts"),
      String(barePort),
    ]);
    const kvPort = freePort();
    const kvBaseline = await spawnDeno("baseline B (Deno.serve + 1 KV commit)", [
      "run",
      "--config",
      config,
      `--allow-net=127.0.0.1:${kvPort}`,
      `--allow-read=${kvDir}`,
      `--allow-write=${kvDir}`,
      join(BENCH_DIR, "baseline_kv.ts"),
      String(kvPort),
      join(kvDir, "baseline.kv"),
    ]);
    log("starting the real server (deno task start's command, the defaults: LOG_LEVEL=info)");
    // stdout (the request log) goes to /dev/null: a reader in this process would compete with
    // the server for the 2 cores; the server still builds and writes every line.
    const server = await startServer({ dir: serverDir, env: serverEnv, stdout: "null" });
    servers.add(server);
    log("starting a second one with LOG_LEVEL=warn (request log off)");
    const warnServer = await startServer({
      dir: warnDir,
      env: { ...serverEnv, LOG_LEVEL: "warn" },
      stdout: "null",
    });
    servers.add(warnServer);

    const phaseMemory: Record<string, { vm_hwm_mb: number; vm_rss_mb: number }> = {};
    const notePhase = async (phase: string) => {
      const m = await memory(server.process.pid);
      phaseMemory[phase] = { vm_hwm_mb: round(m.vmHwmMb, 1), vm_rss_mb: round(m.vmRssMb, 1) };
    };
    await notePhase("started");
    const access = await login(server.url, password);
    const warnAccess = await login(warnServer.url, password);
    // The /login phase signs in as its own user: its hundreds of sessions would otherwise reach
    // MAX_SESSIONS_PER_USER and end the sessions /me and /refresh are measured with.
    await addUser(server.url, access.token, LOGIN_USER, password);

    // Baseline C replays /me's exact answer (headers and body) from a bare Deno.serve.
    const meAnswer = await fetch(`${server.url}/me`, {
      headers: { Authorization: `Bearer ${access.token}` },
    });
    const recordedMe = join(tmp, "me-answer.json");
    await Deno.writeTextFile(
      recordedMe,
      JSON.stringify({
        status: meAnswer.status,
        headers: [...meAnswer.headers],
        body: await meAnswer.text(),
      }),
    );
    const replayPort = freePort();
    const replay = await spawnDeno("baseline C (bare Deno.serve replaying /me's answer)", [
      "run",
      `--allow-net=127.0.0.1:${replayPort}`,
      `--allow-read=${recordedMe}`,
      join(BENCH_DIR, "baseline_replay.ts"),
      String(replayPort),
      recordedMe,
    ]);
    const runs = {
      bare: [] as WrkResult[],
      replay: [] as WrkResult[],
      me: [] as WrkResult[],
      meWarn: [] as WrkResult[],
      kv: [] as WrkResult[],
      refresh: [] as WrkResult[],
      login: [] as WrkResult[],
    };
    const argon2Runs: Awaited<ReturnType<typeof rawArgon2>>[] = [];

    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round} of ${ROUNDS}`);
      runs.bare.push(
        await drive("baseline A GET /", {
          url: `http://127.0.0.1:${barePort}/`,
          threads: WRK_THREADS,
          connections: CONNECTIONS,
        }),
      );
      runs.replay.push(
        await drive("baseline C GET / (replaying /me's answer)", {
          url: `http://127.0.0.1:${replayPort}/`,
          threads: WRK_THREADS,
          connections: CONNECTIONS,
          headers: [`Authorization: Bearer ${access.token}`],
        }),
      );
      runs.me.push(
        await drive("GET /me", {
          url: `${server.url}/me`,
          threads: WRK_THREADS,
          connections: CONNECTIONS,
          headers: [`Authorization: Bearer ${access.token}`],
        }),
      );
      await notePhase("after GET /me");
      runs.meWarn.push(
        await drive("GET /me, LOG_LEVEL=warn", {
          url: `${warnServer.url}/me`,
          threads: WRK_THREADS,
          connections: CONNECTIONS,
          headers: [`Authorization: Bearer ${warnAccess.token}`],
        }),
      );

      runs.kv.push(
        await drive("baseline B POST /", {
          url: `http://127.0.0.1:${kvPort}/`,
          threads: CHAINS,
          connections: CHAINS,
          script: join(BENCH_DIR, "post_json.lua"),
          env: { BENCH_PATH: "/", BENCH_BODY: JSON.stringify({ refresh_token: "x".repeat(43) }) },
        }),
      );
      // POST /refresh: each wrk thread (one connection) rotates its own chain of fresh tokens.
      log(`POST /refresh: ${2 * CHAINS} logins for the chains' first tokens`);
      const warmTokens = await logins(server.url, password, CHAINS);
      const runTokens = await logins(server.url, password, CHAINS);
      const refreshOptions = {
        url: `${server.url}/refresh`,
        threads: CHAINS,
        connections: CHAINS,
        script: join(BENCH_DIR, "refresh.lua"),
      };
      await runWrk(wrk, {
        ...refreshOptions,
        seconds: WARMUP_SECONDS,
        env: { BENCH_REFRESH_TOKENS: warmTokens.join(",") },
      });
      const refreshResult = await runWrk(wrk, {
        ...refreshOptions,
        seconds: SECONDS,
        env: { BENCH_REFRESH_TOKENS: runTokens.join(",") },
      });
      log(
        `POST /refresh: ${refreshResult.rps.toFixed(0)} rps, p50 ${ms(refreshResult.p50Ms)}, ` +
          `${errorsOf(refreshResult)}`,
      );
      runs.refresh.push(refreshResult);
      await notePhase("after POST /refresh");

      // The raw argon2id ceiling of the server's own hasher, with the server idle, then /login.
      argon2Runs.push(await rawArgon2());
      runs.login.push(
        await drive("POST /login", {
          url: `${server.url}/login`,
          threads: WRK_THREADS,
          connections: CONNECTIONS,
          script: join(BENCH_DIR, "post_json.lua"),
          env: {
            BENCH_PATH: "/login",
            BENCH_BODY: JSON.stringify({ user_id: LOGIN_USER, password }),
          },
        }),
      );
      await notePhase("after POST /login");
    }
    await stopChild(bare);
    await stopChild(replay);
    await stopChild(kvBaseline);
    // A figure made of error answers measures nothing: refuse to report one.
    const failedRuns = Object.entries(runs).flatMap(([name, results]) =>
      results.filter((r) => (r.status?.bad ?? r.non2xx) > 0)
        .map((r) => `${name}: ${errorsOf(r)}`)
    );
    if (failedRuns.length > 0) {
      throw new Error(`runs answered errors, so no figure is reported:\n${failedRuns.join("\n")}`);
    }
    const bareResult = medianRun(runs.bare);
    const replayResult = medianRun(runs.replay);
    const meResult = medianRun(runs.me);
    const meWarnResult = medianRun(runs.meWarn);
    const kvResult = medianRun(runs.kv);
    const refreshResult = medianRun(runs.refresh);
    const loginResult = medianRun(runs.login);
    const argon2 = { rps: median(argon2Runs.map((a) => a.rps)) };
    const ratios = {
      me: runs.me.map((r, i) => r.rps / runs.replay[i]!.rps),
      meWarn: runs.meWarn.map((r, i) => r.rps / runs.replay[i]!.rps),
      replay: runs.replay.map((r, i) => r.rps / runs.bare[i]!.rps),
      meVsBare: runs.me.map((r, i) => r.rps / runs.bare[i]!.rps),
      refresh: runs.refresh.map((r, i) => r.rps / runs.kv[i]!.rps),
      login: runs.login.map((r, i) => r.rps / argon2Runs[i]!.rps),
    };
    log(
      `per-round ratios: /me ${ratios.me.map((r) => r.toFixed(2)).join(", ")}; /refresh ${
        ratios.refresh.map((r) => r.toFixed(2)).join(", ")
      }; /login ${ratios.login.map((r) => r.toFixed(2)).join(", ")}`,
    );

    const mem = await memory(server.process.pid);
    log(
      `server peak resident memory (VmHWM) ${mem.vmHwmMb.toFixed(1)} MB; by phase: ${
        Object.entries(phaseMemory).map(([k, v]) => `${k} ${v.vm_hwm_mb}`).join(", ")
      }`,
    );
    await stopServer(server);
    await stopServer(warnServer);

    // Start-up, warm (deno's caches are hot from the run above), reusing the server's directory
    // with its .env and KV file so that only start-up is measured; baseline A spawned with the
    // `start` task's own command, environment and flags. Interleaved, one unmeasured start each.
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
    ]) as [StartRun[], StartRun[], StartRun[]];
    const startFigures = (runs: readonly StartRun[]) => ({
      medianMs: median(runs.map((r) => r.firstOkMs)),
      runsMs: runs.map((r) => r.firstOkMs),
      listeningMs: median(runs.map((r) => r.listeningMs)),
    });
    const bareStart = startFigures(bareStarts);
    const healthStart = startFigures(healthStarts);
    const tokenStart = startFigures(tokenStarts);
    // Ratios per start (the i-th of each, run back to back), then their median.
    const startRatios = healthStarts.map((r, i) => r.firstOkMs / bareStarts[i]!.firstOkMs);
    const tokenRatios = tokenStarts.map((r, i) => r.firstOkMs / bareStarts[i]!.firstOkMs);
    const startupRatio = median(startRatios);
    const startupMs = healthStart.medianMs;
    const listeningMs = healthStart.listeningMs;
    const starts = healthStart.runsMs;
    log(
      `start-up to the first 200: baseline A ${
        bareStart.runsMs.map((v) => v.toFixed(0)).join(", ")
      } ms; ` +
        `/healthz ${starts.map((v) => v.toFixed(0)).join(", ")} ms; /login ${
          tokenStart.runsMs.map((v) => v.toFixed(0)).join(", ")
        } ms`,
    );

    const rows: Row[] = [
      row(
        "GET / (baseline A: bare Deno.serve)",
        load(WRK_THREADS, CONNECTIONS),
        bareResult,
        errorsOf(bareResult),
      ),
      row(
        "GET / (baseline C: bare, /me's exact answer)",
        load(WRK_THREADS, CONNECTIONS),
        replayResult,
        errorsOf(replayResult),
        {
          name: "bare Deno.serve hello",
          rps: bareResult.rps,
          target: TARGETS.replay,
          ratio: median(ratios.replay),
        },
      ),
      row(
        "GET /me (one token reused; LOG_LEVEL=info, the default)",
        load(WRK_THREADS, CONNECTIONS),
        meResult,
        errorsOf(meResult),
        {
          name: "baseline C (replay)",
          rps: replayResult.rps,
          target: TARGETS.me,
          ratio: median(ratios.me),
        },
      ),
      row(
        "GET /me (LOG_LEVEL=warn: request log off)",
        load(WRK_THREADS, CONNECTIONS),
        meWarnResult,
        errorsOf(meWarnResult),
        {
          name: "baseline C (replay)",
          rps: replayResult.rps,
          ratio: median(ratios.meWarn),
        },
      ),
      row("POST / (baseline B: 1 KV commit)", load(CHAINS, CHAINS), kvResult, errorsOf(kvResult)),
      row(
        "POST /refresh (fresh token each)",
        load(CHAINS, CHAINS),
        refreshResult,
        errorsOf(refreshResult),
        {
          name: "Deno.serve + 1 KV commit",
          rps: kvResult.rps,
          target: TARGETS.refresh,
          ratio: median(ratios.refresh),
        },
      ),
      row(
        "POST /login (one account)",
        load(WRK_THREADS, CONNECTIONS),
        loginResult,
        errorsOf(loginResult),
        {
          name: "raw argon2id verify",
          rps: argon2.rps,
          target: TARGETS.login,
          ratio: median(ratios.login),
        },
      ),
    ];
    const refreshBad = refreshResult.status?.bad ?? refreshResult.non2xx;
    const startupMet = startupRatio <= TARGETS.startup;
    const memoryMet = mem.vmHwmMb <= TARGETS.memoryMb;

    const lines = [
      "",
      `Auth server benchmark — ${host.date}`,
      `machine: ${host.nproc} CPUs, ${host.cpu}, ${host.os}; load average at start ${host.loadavg_at_start}`,
      `deno ${host.deno} (v8 ${host.v8}); wrk ${wrk}`,
      "command: deno task bench",
      `server: deno task start's command on 127.0.0.1 with the .env a first start writes (HS256, ` +
      `LOG_LEVEL=info: the request log on, written to /dev/null; the /me warn row: a ` +
      `second server with LOG_LEVEL=warn), ` +
      `LOGIN_LIMIT_PER_CLIENT, LOGIN_LIMIT_PER_ACCOUNT and REFRESH_LIMIT_PER_CLIENT ${UNLIMITED} ` +
      `(32 connections log in as one account: the limits are not what is measured)`,
      `${ROUNDS} rounds; in each, every baseline and its endpoint back to back, ${WARMUP_SECONDS}s ` +
      `warm-up then ${SECONDS}s measured; rps, p50, p99: the median round; ratio: the median of ` +
      `the per-round ratios (/me ${ratios.me.map((r) => r.toFixed(2)).join(", ")}; replay ${
        ratios.replay.map((r) => r.toFixed(2)).join(", ")
      }; /refresh ${ratios.refresh.map((r) => r.toFixed(2)).join(", ")}; /login ${
        ratios.login.map((r) => r.toFixed(2)).join(", ")
      })`,
      `raw argon2id: createPasswordHasher() (m=19456,t=2,p=1, its own bound on concurrent hashes), ` +
      `${CONNECTIONS} callers, ${ARGON2_SECONDS}s per round with the server idle (${
        argon2Runs.map((a) => a.rps.toFixed(1)).join(" / ")
      } per s)`,
      "",
      table(rows),
      "",
      `start-up, spawn to first 200 (the start task's command, warm caches, existing .env and KV ` +
      `reused; ${STARTS} starts each, interleaved): GET /healthz median ${
        startupMs.toFixed(0)
      } ms (${starts.map((v) => v.toFixed(0)).join(", ")} ms; "listening on" at ${
        listeningMs.toFixed(0)
      } ms) vs baseline A spawned the same way ` +
      `${bareStart.medianMs.toFixed(0)} ms: ${startupRatio.toFixed(2)}x (per start ${
        startRatios.map((r) => r.toFixed(2)).join(", ")
      }), target <= ${TARGETS.startup.toFixed(1)}x: ${startupMet ? "yes" : "NO"}; ` +
      `first token from POST /login ${tokenStart.medianMs.toFixed(0)} ms = ${
        median(tokenRatios).toFixed(2)
      }x`,
      `peak resident memory of the server under this load (VmHWM): ${mem.vmHwmMb.toFixed(1)} MB ` +
      `(VmRSS after load ${mem.vmRssMb.toFixed(1)} MB); target <= ${TARGETS.memoryMb} MB: ${
        memoryMet ? "yes" : "NO"
      }`,
      `GET /me against baseline A (bare hello): ${median(ratios.meVsBare).toFixed(2)}x (per round ${
        ratios.meVsBare.map((r) => r.toFixed(2)).join(", ")
      })`,
      `errors: ${rows.map((r) => `${r.endpoint.split(" (")[0]}: ${r.errors}`).join(" · ")}`,
      `total bench time ${((performance.now() - started) / 1000).toFixed(0)} s`,
    ];
    console.log(lines.join("\n"));

    Object.assign(results, {
      command: "deno task bench",
      ...host,
      wrk: {
        path: wrk,
        installed_now: wrkFound.installed,
        threads: WRK_THREADS,
        connections: CONNECTIONS,
      },
      settings: {
        rounds: ROUNDS,
        seconds: SECONDS,
        warmup_seconds: WARMUP_SECONDS,
        refresh_chains: CHAINS,
        log_level: "info (default); /me also with warn",
        login_limit_per_client: UNLIMITED,
        login_limit_per_account: UNLIMITED,
        refresh_limit_per_client: UNLIMITED,
        argon2_seconds: ARGON2_SECONDS,
      },
      rows: rows.map((r) => ({
        endpoint: r.endpoint,
        load: r.load,
        rps: round(r.rps),
        p50_ms: round(r.p50Ms, 3),
        p99_ms: round(r.p99Ms, 3),
        baseline: r.baseline,
        baseline_rps: r.baselineRps === undefined ? null : round(r.baselineRps),
        ratio: r.ratio === undefined ? null : round(r.ratio, 3),
        target: r.target ?? null,
        met: r.met ?? null,
        errors: r.errors,
      })),
      raw_argon2id: argon2Runs.map((a) => ({
        rps: round(a.rps, 2),
        verifies: a.verifies,
        p50_ms: round(a.p50Ms, 2),
        p99_ms: round(a.p99Ms, 2),
        callers: a.callers,
      })),
      per_round_ratios: ratios,
      refresh_non_200: refreshBad,
      startup: {
        median_ms: round(startupMs, 1),
        runs_ms: starts.map((s) => round(s, 1)),
        listening_median_ms: round(listeningMs, 1),
        baseline_median_ms: round(bareStart.medianMs, 1),
        baseline_runs_ms: bareStart.runsMs.map((v) => round(v, 1)),
        ratio: round(startupRatio, 3),
        per_start_ratios: startRatios.map((r) => round(r, 3)),
        target_ratio: TARGETS.startup,
        first_token_median_ms: round(tokenStart.medianMs, 1),
        first_token_ratio: round(median(tokenRatios), 3),
        met: startupMet,
        note: "warm deno caches; the server directory's existing .env and KV file reused",
      },
      memory: {
        vm_hwm_mb: round(mem.vmHwmMb, 1),
        vm_rss_after_mb: round(mem.vmRssMb, 1),
        target_mb: TARGETS.memoryMb,
        met: memoryMet,
        by_phase: phaseMemory,
      },
      micro_benchmarks: { ok: micro.ok, output: micro.output },
      total_seconds: round((performance.now() - started) / 1000, 1),
    });
    await Deno.mkdir(join(BENCH_DIR, "results"), { recursive: true });
    await Deno.writeTextFile(RESULTS, JSON.stringify(results, null, 2) + "\n");
    log(`wrote ${RESULTS}`);
    return micro.ok && refreshBad === 0 ? 0 : 1;
  } finally {
    await cleanup();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function rawArgon2() {
  log(`raw argon2id verify, in process, ${CONNECTIONS} callers, ${ARGON2_SECONDS}s`);
  const result = await argon2Rate(CONNECTIONS, ARGON2_SECONDS);
  log(`raw argon2id verify: ${result.rps.toFixed(1)}/s, p50 ${ms(result.p50Ms)}`);
  return result;
}

/** The run with the median requests/s (its latencies come with it). */
function medianRun(results: readonly WrkResult[]): WrkResult {
  const sorted = [...results].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

if (import.meta.main) {
  const onSignal = () => {
    log("interrupted: stopping every server started");
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 1;
  try {
    code = await main();
    console.log(loginBackendsTable(await benchLoginBackends())); // issue 9: per-backend /login
    console.log(allCoresReport(await benchAllCores())); // issue 20: all cores vs one process
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  } finally {
    await cleanup();
  }
  Deno.exit(code);
}
