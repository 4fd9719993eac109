/**
 * PostgreSQL against Deno KV, same run, same machine: `GET /me`, `POST /refresh` and
 * `POST /login`, each served by one server process per engine, driven by wrk. Both servers run
 * the whole phase; each round measures every route on KV, then on PostgreSQL, back to back, and
 * the figure of a route is the median over rounds of its rps, its p99 and its per-round
 * PostgreSQL/KV ratio (as `bench/all_cores.ts --rounds`). Every answer that is not a 200 is
 * counted by status and error code (`bench/store_engines.lua`), and every warn/error line the
 * servers logged is counted by event, so a failure in a figure says what it was.
 *
 * Needs `wrk` and a PostgreSQL server (`BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`) on which
 * it creates a database and drops it after.
 *
 * Usage: `deno run --allow-net --allow-env --allow-read --allow-write --allow-run --allow-sys
 * --allow-ffi=./node_modules bench/store_engines.ts [--rounds N] [--seconds N]`. Take figures
 * on a quiet machine only: numbers measured while other work runs are noise.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openPool } from "../src/store/pg_client.ts";
import { quoteIdent } from "../src/store/pg_migrations.ts";
import { ROOT, type RunningServer, startServer } from "../tests/helpers/server_process.ts";
import { ensureWrk, runWrk, type WrkResult } from "./wrk.ts";

const PASSWORD = "bench-password-1234";
/** Refresh chains (one wrk thread and connection each). */
const CHAINS = 4;
/** `/me` load: one wrk thread, this many keep-alive connections. */
const ME_CONNECTIONS = 16;
/** Concurrent logins (of one user, `bench`). */
const LOGIN_CONNECTIONS = 4;
const WARMUP_SECONDS = 1;
const SCRIPT = join(ROOT, "bench", "store_engines.lua");

const ENGINES = ["kv", "postgres"] as const;
type Engine = typeof ENGINES[number];
const ROUTES = ["GET /me", "POST /refresh", "POST /login"] as const;
type Route = typeof ROUTES[number];

const log = (line: string) => console.error(`[bench store-engines] ${line}`);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function post(url: string, body: unknown, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** One route's run: wrk's figures and the answers by `status[:error]`. */
interface RouteRun {
  readonly wrk: WrkResult;
  readonly codes: Record<string, number>;
}

/**
 * Reads `BENCH_CODES 200=N,503:busy=N` from the lua script's done().
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCodes } from "./store_engines.ts";
 * assert.deepEqual(parseCodes("BENCH_CODES 200=5,503:busy=3\n"), { "200": 5, "503:busy": 3 });
 * assert.deepEqual(parseCodes("no line"), {});
 * ```
 */
export function parseCodes(output: string): Record<string, number> {
  const line = /^BENCH_CODES (.*)$/m.exec(output)?.[1]?.trim() ?? "";
  const codes: Record<string, number> = {};
  for (const part of line.split(",").filter((p) => p !== "")) {
    const at = part.lastIndexOf("=");
    codes[part.slice(0, at)] = Number(part.slice(at + 1));
  }
  return codes;
}

/** A server of one engine with what the routes need: an access token, a login user. */
interface Target {
  readonly engine: Engine;
  readonly server: RunningServer;
  readonly token: string;
}

async function prepare(engine: Engine, server: RunningServer): Promise<Target> {
  const admin = await post(`${server.url}/login`, { user_id: "admin", password: PASSWORD });
  await post(`${server.url}/admin/users`, {
    user_id: "bench",
    password: PASSWORD,
    roles: ["user"],
  }, admin.token);
  return { engine, server, token: admin.token };
}

/** wrk's options for one run of `route` (a refresh run takes fresh chains: tokens are spent). */
async function wrkOptions(target: Target, route: Route, seconds: number) {
  const url = target.server.url;
  const base = { script: SCRIPT, seconds };
  if (route === "GET /me") {
    return {
      ...base,
      url: `${url}/me`,
      threads: 1,
      connections: ME_CONNECTIONS,
      env: { BENCH_MODE: "get", BENCH_PATH: "/me", BENCH_AUTH: `Bearer ${target.token}` },
    };
  }
  if (route === "POST /refresh") {
    const tokens: string[] = [];
    for (let i = 0; i < CHAINS; i++) {
      tokens.push(
        (await post(`${url}/login`, { user_id: "bench", password: PASSWORD })).refresh_token,
      );
    }
    return {
      ...base,
      url: `${url}/refresh`,
      threads: CHAINS,
      connections: CHAINS,
      env: {
        BENCH_MODE: "refresh",
        BENCH_PATH: "/refresh",
        BENCH_REFRESH_TOKENS: tokens.join(","),
      },
    };
  }
  return {
    ...base,
    url: `${url}/login`,
    threads: 1,
    connections: LOGIN_CONNECTIONS,
    env: {
      BENCH_MODE: "post",
      BENCH_PATH: "/login",
      BENCH_BODY: JSON.stringify({ user_id: "bench", password: PASSWORD }),
    },
  };
}

/**
 * One measured run of `route`, after a warm-up of its own: a cold server (JIT, and on PostgreSQL
 * a pool that opens its connections in a burst at the first concurrent reads) stalls once, and
 * wrk's percentiles turn one stall into thousands of samples (see {@link storeEnginesReport}).
 */
async function runRoute(wrk: string, target: Target, route: Route, seconds: number) {
  await runWrk(wrk, await wrkOptions(target, route, WARMUP_SECONDS));
  const result = await runWrk(wrk, await wrkOptions(target, route, seconds));
  return { wrk: result, codes: parseCodes(result.output) };
}

/**
 * The warn and error lines a server logged, counted by `level event (cause)` (its JSON log).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loggedProblems } from "./store_engines.ts";
 * const line = JSON.stringify({ level: "error", event: "store_failed", cause: "session cap is contended" });
 * assert.deepEqual(loggedProblems(`${line}\n${line}\n{"level":"info","event":"request"}`), {
 *   "error store_failed (session cap is contended)": 2,
 * });
 * ```
 */
export function loggedProblems(stdout: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line);
      if (entry.level !== "warn" && entry.level !== "error") continue;
      const key = `${entry.level} ${entry.event ?? entry.type ?? entry.msg ?? "?"}` +
        (entry.reason || entry.cause || entry.code
          ? ` (${String(entry.reason ?? entry.cause ?? entry.code).slice(0, 80)})`
          : "");
      counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // not a log line
    }
  }
  return counts;
}

/** What the phase measured. */
export interface StoreEnginesResult {
  readonly rounds: number;
  readonly seconds: number;
  readonly runs: Record<Engine, Record<Route, RouteRun[]>>;
  readonly logged: Record<Engine, Record<string, number>>;
}

/** Runs `rounds` rounds; both servers live throughout. */
export async function benchStoreEngines(
  url: string,
  options: { rounds?: number; seconds?: number } = {},
): Promise<StoreEnginesResult | { skipped: string }> {
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 5;
  const wrk = await ensureWrk(log);
  if ("problem" in wrk) return { skipped: `wrk is needed: ${wrk.problem}` };
  const database = `auth_bench_${Date.now().toString(36)}`;
  const admin = openPool({ url, poolSize: 1 });
  await admin.unsafe(`CREATE DATABASE ${quoteIdent(database)}`);
  const target = new URL(url);
  target.pathname = `/${database}`;
  const base = {
    BOOTSTRAP_PASSWORD: PASSWORD,
    LOGIN_LIMIT_PER_CLIENT: "100000000/1m",
    LOGIN_LIMIT_PER_ACCOUNT: "100000000/1m",
    REFRESH_LIMIT_PER_CLIENT: "100000000/1m",
    LOG_LEVEL: "warn",
  };
  const servers: RunningServer[] = [];
  try {
    const targets: Target[] = [];
    for (const engine of ENGINES) {
      const env = engine === "kv" ? base : { ...base, DATABASE_URL: target.href };
      const server = await startServer({ env });
      servers.push(server);
      targets.push(await prepare(engine, server));
    }
    const runs = Object.fromEntries(
      ENGINES.map((e) => [e, Object.fromEntries(ROUTES.map((r) => [r, [] as RouteRun[]]))]),
    ) as StoreEnginesResult["runs"];
    for (let round = 1; round <= rounds; round++) {
      for (const route of ROUTES) {
        for (const t of targets) {
          const run = await runRoute(wrk.path, t, route, seconds);
          runs[t.engine][route].push(run);
          log(
            `round ${round}, ${route}, ${t.engine}: ${run.wrk.rps.toFixed(0)} rps, ` +
              `p99 ${run.wrk.p99Ms.toFixed(1)} ms, ${codesText(run.codes)}`,
          );
        }
      }
    }
    const logged = Object.fromEntries(
      targets.map((t) => [t.engine, loggedProblems(t.server.stdout())]),
    ) as StoreEnginesResult["logged"];
    return { rounds, seconds, runs, logged };
  } finally {
    for (const server of servers) {
      await server.stop();
      await Deno.remove(server.dir, { recursive: true }).catch(() => {});
    }
    await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    await admin.end({ timeout: 5 });
  }
}

function codesText(codes: Record<string, number>): string {
  return Object.entries(codes).map(([k, n]) => `${k} x${n}`).join(", ") || "no answers";
}

/** Answers that were not a 200, summed over rounds, as `503:busy x3` (or "none"). */
function failures(runs: readonly RouteRun[]): string {
  const sum: Record<string, number> = {};
  for (const run of runs) {
    for (const [key, n] of Object.entries(run.codes)) {
      if (key !== "200") sum[key] = (sum[key] ?? 0) + n;
    }
    if (run.wrk.socketErrors) sum[`socket errors (${run.wrk.socketErrors})`] = 1;
  }
  return codesText(sum) === "no answers" ? "none" : codesText(sum);
}

/** The phase as a Markdown table and notes. */
export function storeEnginesReport(result: StoreEnginesResult): string {
  const f = (xs: readonly number[], digits = 0) => xs.map((x) => x.toFixed(digits)).join(", ");
  const lines = [
    `PostgreSQL vs Deno KV, one server process each, ${result.rounds} rounds of ` +
    `${result.seconds} s a route (medians; ratio = median of per-round PostgreSQL/KV):`,
    "",
    "| route | KV rps | PostgreSQL rps | PostgreSQL/KV | KV p99 | PostgreSQL p99 | not 200 (KV; PostgreSQL) |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  const detail: string[] = [];
  for (const route of ROUTES) {
    const kv = result.runs.kv[route];
    const pg = result.runs.postgres[route];
    const ratios = pg.map((run, i) => run.wrk.rps / kv[i]!.wrk.rps);
    lines.push(
      `| ${route} | ${median(kv.map((r) => r.wrk.rps)).toFixed(0)} | ` +
        `${median(pg.map((r) => r.wrk.rps)).toFixed(0)} | ${median(ratios).toFixed(2)} | ` +
        `${median(kv.map((r) => r.wrk.p99Ms)).toFixed(1)} ms | ` +
        `${median(pg.map((r) => r.wrk.p99Ms)).toFixed(1)} ms | ${failures(kv)}; ${failures(pg)} |`,
    );
    detail.push(
      `${route}: KV rps ${f(kv.map((r) => r.wrk.rps))}, p99 ${
        f(kv.map((r) => r.wrk.p99Ms), 1)
      } ms; ` +
        `PostgreSQL rps ${f(pg.map((r) => r.wrk.rps))}, p99 ${
          f(pg.map((r) => r.wrk.p99Ms), 1)
        } ms; ` +
        `ratios ${f(ratios, 2)}`,
    );
  }
  lines.push(
    "",
    "Per round:",
    ...detail.map((d) => `  ${d}`),
    "",
    "p99 is wrk's: corrected for coordinated omission (each slow answer also counts the requests " +
      "a steady client would have sent meanwhile), so one stall of a few 100 ms moves it.",
    "",
    "Server warn/error lines:",
  );
  for (const engine of ENGINES) {
    lines.push(`  ${engine}: ${codesText(result.logged[engine]).replace("no answers", "none")}`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const flags = parseArgs({
    args: Deno.args,
    options: { rounds: { type: "string" }, seconds: { type: "string" } },
  });
  const url = Deno.env.get("BENCH_DATABASE_URL") || Deno.env.get("TEST_DATABASE_URL");
  if (!url) {
    console.error("Set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server");
    Deno.exit(2);
  }
  const result = await benchStoreEngines(url, {
    ...(flags.values.rounds ? { rounds: Number(flags.values.rounds) } : {}),
    ...(flags.values.seconds ? { seconds: Number(flags.values.seconds) } : {}),
  });
  console.log("skipped" in result ? `not run: ${result.skipped}` : storeEnginesReport(result));
  Deno.exit("skipped" in result ? 2 : 0);
}
