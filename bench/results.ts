/**
 * Phase 5: the report. One table and the figures around it on stdout, and the same in
 * `bench/results/latest.json` (a short run's in a temporary file instead).
 *
 * @module
 */
import { join } from "node:path";
import type { RoundRuns, RoundSummary } from "./http_rounds.ts";
import type { Machine } from "./machine.ts";
import { errorsOf, median, round, type Row, row, table } from "./report.ts";
import {
  BENCH_DIR,
  type BenchSettings,
  CHAINS,
  CONNECTIONS,
  log,
  RESULTS,
  TARGETS,
  UNLIMITED,
  WRK_THREADS,
} from "./settings.ts";
import { LOGIN_ACCOUNTS, LOGIN_USER, SESSION_CAP } from "./server_client.ts";
import type { StartupFigures } from "./startup.ts";

/** What the phases before measured, for the report. */
export interface RunFigures {
  readonly host: Machine;
  readonly settings: BenchSettings;
  readonly wrk: { readonly path: string; readonly installed: boolean };
  readonly micro: { readonly ok: boolean; readonly output: string };
  readonly runs: RoundRuns;
  readonly summary: RoundSummary;
  /** The server's peak and current resident memory after the rounds, in MB. */
  readonly mem: { readonly vmHwmMb: number; readonly vmRssMb: number };
  readonly startup: StartupFigures;
  /** `performance.now()` when the run started. */
  readonly started: number;
}

/** Prints the report and writes `bench/results/latest.json`; true when /refresh had no error. */
export async function report(figures: RunFigures): Promise<boolean> {
  const { host, settings, micro, runs, summary, mem, startup, started } = figures;
  const wrk = figures.wrk.path;
  const wrkFound = figures.wrk;
  const load = (t: number, c: number) => `wrk -t${t} -c${c} -d${settings.seconds}s`;
  const rows: Row[] = [
    row(
      "GET / (baseline A: bare Deno.serve)",
      load(WRK_THREADS, CONNECTIONS),
      summary.bare,
      errorsOf(summary.bare),
    ),
    row(
      "GET / (baseline C: bare, /me's exact answer)",
      load(WRK_THREADS, CONNECTIONS),
      summary.replay,
      errorsOf(summary.replay),
      {
        name: "bare Deno.serve hello",
        rps: summary.bare.rps,
        target: TARGETS.replay,
        ratio: median(summary.ratios.replay),
      },
    ),
    row(
      "GET /me (one token reused; LOG_LEVEL=info, the default)",
      load(WRK_THREADS, CONNECTIONS),
      summary.me,
      errorsOf(summary.me),
      {
        name: "baseline C (replay)",
        rps: summary.replay.rps,
        target: TARGETS.me,
        ratio: median(summary.ratios.me),
      },
    ),
    row(
      "GET /me (LOG_LEVEL=warn: request log off)",
      load(WRK_THREADS, CONNECTIONS),
      summary.meWarn,
      errorsOf(summary.meWarn),
      {
        name: "baseline C (replay)",
        rps: summary.replay.rps,
        ratio: median(summary.ratios.meWarn),
      },
    ),
    row("POST / (baseline B: 1 KV commit)", load(CHAINS, CHAINS), summary.kv, errorsOf(summary.kv)),
    row(
      "POST /refresh (fresh token each)",
      load(CHAINS, CHAINS),
      summary.refresh,
      errorsOf(summary.refresh),
      {
        name: "Deno.serve + 1 KV commit",
        rps: summary.kv.rps,
        target: TARGETS.refresh,
        ratio: median(summary.ratios.refresh),
      },
    ),
    row(
      "POST /login (one account, at the session cap: each login ends its oldest session)",
      load(WRK_THREADS, CONNECTIONS),
      summary.login,
      errorsOf(summary.login),
      {
        name: "raw argon2id verify",
        rps: summary.argon2Rps,
        target: TARGETS.login,
        ratio: median(summary.ratios.login),
      },
    ),
    row(
      `POST /login (${LOGIN_ACCOUNTS} accounts in turn, all below the session cap)`,
      load(WRK_THREADS, CONNECTIONS),
      summary.loginMany,
      errorsOf(summary.loginMany),
      {
        name: "raw argon2id verify",
        rps: summary.argon2Rps,
        target: TARGETS.login,
        ratio: median(summary.ratios.loginMany),
      },
    ),
  ];
  const refreshBad = summary.refresh.status?.bad ?? summary.refresh.non2xx;
  const startupMet = median(startup.ratios) <= TARGETS.startup;
  const memoryMet = mem.vmHwmMb <= TARGETS.memoryMb;

  const lines = [
    "",
    `Auth server benchmark — ${host.date}`,
    `machine: ${host.nproc} CPUs, ${host.cpu}, ${host.os}; load average at start ${host.loadavg_at_start}`,
    `deno ${host.deno} (v8 ${host.v8}); wrk ${wrk}`,
    "command: deno task bench",
    ...(settings.short
      ? [
        "SHORT RUN (BENCH_* settings below their defaults): proves each phase runs; these are no figures",
      ]
      : []),
    `server: deno task start's command on 127.0.0.1 with the .env a first start writes (HS256, ` +
    `LOG_LEVEL=info: the request log on, written to /dev/null; the /me warn row: a ` +
    `second server with LOG_LEVEL=warn), ` +
    `LOGIN_LIMIT_PER_CLIENT, LOGIN_LIMIT_PER_ACCOUNT and REFRESH_LIMIT_PER_CLIENT ${UNLIMITED} ` +
    `(the limits are not what is measured); /login: 32 connections log in as one account (filled to ` +
    `MAX_SESSIONS_PER_USER=${SESSION_CAP} before the run: each login ends its oldest session), then rotate ` +
    `over ${LOGIN_ACCOUNTS} accounts (none reaches the cap in the run)`,
    `${settings.rounds} rounds; in each, every baseline and its endpoint back to back, ${settings.warmupSeconds}s ` +
    `warm-up then ${settings.seconds}s measured; rps, p50, p99: the median round; ratio: the median of ` +
    `the per-round ratios (/me ${summary.ratios.me.map((r) => r.toFixed(2)).join(", ")}; replay ${
      summary.ratios.replay.map((r) => r.toFixed(2)).join(", ")
    }; /refresh ${summary.ratios.refresh.map((r) => r.toFixed(2)).join(", ")}; /login one ` +
    `account ${summary.ratios.login.map((r) => r.toFixed(2)).join(", ")}, ${LOGIN_ACCOUNTS} ` +
    `accounts ${summary.ratios.loginMany.map((r) => r.toFixed(2)).join(", ")})`,
    `raw argon2id: createPasswordHasher() (m=19456,t=2,p=1, its own bound on concurrent hashes), ` +
    `${CONNECTIONS} callers, ${settings.argon2Seconds}s per round with the server idle (${
      runs.argon2.map((a) => a.rps.toFixed(1)).join(" / ")
    } per s)`,
    "",
    table(rows),
    "",
    `start-up, spawn to first 200 (the start task's command, warm caches, existing .env and KV ` +
    `reused; ${settings.starts} starts each, interleaved): GET /healthz median ${
      startup.health.medianMs.toFixed(0)
    } ms (${startup.health.runsMs.map((v) => v.toFixed(0)).join(", ")} ms; "listening on" at ${
      startup.health.listeningMs.toFixed(0)
    } ms) vs baseline A spawned the same way ` +
    `${startup.bare.medianMs.toFixed(0)} ms: ${median(startup.ratios).toFixed(2)}x (per start ${
      startup.ratios.map((r) => r.toFixed(2)).join(", ")
    }), target <= ${TARGETS.startup.toFixed(1)}x: ${startupMet ? "yes" : "NO"}; ` +
    `first token from POST /login ${startup.token.medianMs.toFixed(0)} ms = ${
      median(startup.tokenRatios).toFixed(2)
    }x`,
    `peak resident memory of the server under this load (VmHWM): ${mem.vmHwmMb.toFixed(1)} MB ` +
    `(VmRSS after load ${mem.vmRssMb.toFixed(1)} MB); target <= ${TARGETS.memoryMb} MB: ${
      memoryMet ? "yes" : "NO"
    }`,
    `GET /me against baseline A (bare hello): ${
      median(summary.ratios.meVsBare).toFixed(2)
    }x (per round ${summary.ratios.meVsBare.map((r) => r.toFixed(2)).join(", ")})`,
    `errors: ${rows.map((r) => `${r.endpoint.split(" (")[0]}: ${r.errors}`).join(" · ")}`,
    `total bench time ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ];
  console.log(lines.join("\n"));

  const results = {
    command: "deno task bench",
    short_run: settings.short,
    ...host,
    wrk: {
      path: wrk,
      installed_now: wrkFound.installed,
      threads: WRK_THREADS,
      connections: CONNECTIONS,
    },
    settings: {
      rounds: settings.rounds,
      seconds: settings.seconds,
      warmup_seconds: settings.warmupSeconds,
      refresh_chains: CHAINS,
      log_level: "info (default); /me also with warn",
      login_limit_per_client: UNLIMITED,
      login_limit_per_account: UNLIMITED,
      refresh_limit_per_client: UNLIMITED,
      argon2_seconds: settings.argon2Seconds,
      max_sessions_per_user: SESSION_CAP,
      login_one_account: LOGIN_USER,
      login_accounts: LOGIN_ACCOUNTS,
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
    raw_argon2id: runs.argon2.map((a) => ({
      rps: round(a.rps, 2),
      verifies: a.verifies,
      p50_ms: round(a.p50Ms, 2),
      p99_ms: round(a.p99Ms, 2),
      callers: a.callers,
    })),
    per_round_ratios: summary.ratios,
    refresh_non_200: refreshBad,
    startup: {
      median_ms: round(startup.health.medianMs, 1),
      runs_ms: startup.health.runsMs.map((s) => round(s, 1)),
      listening_median_ms: round(startup.health.listeningMs, 1),
      baseline_median_ms: round(startup.bare.medianMs, 1),
      baseline_runs_ms: startup.bare.runsMs.map((v) => round(v, 1)),
      ratio: round(median(startup.ratios), 3),
      per_start_ratios: startup.ratios.map((r) => round(r, 3)),
      target_ratio: TARGETS.startup,
      first_token_median_ms: round(startup.token.medianMs, 1),
      first_token_ratio: round(median(startup.tokenRatios), 3),
      met: startupMet,
      note: "warm deno caches; the server directory's existing .env and KV file reused",
    },
    memory: {
      vm_hwm_mb: round(mem.vmHwmMb, 1),
      vm_rss_after_mb: round(mem.vmRssMb, 1),
      target_mb: TARGETS.memoryMb,
      met: memoryMet,
      by_phase: runs.phaseMemory,
    },
    micro_benchmarks: { ok: micro.ok, output: micro.output },
    total_seconds: round((performance.now() - started) / 1000, 1),
  };
  // A short run's figures count for nothing: they never replace the last real ones.
  const path = settings.short
    ? await Deno.makeTempFile({ prefix: "auth-bench-short-", suffix: ".json" })
    : RESULTS;
  await Deno.mkdir(join(BENCH_DIR, "results"), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(results, null, 2) + "\n");
  log(`wrote ${path}`);
  return refreshBad === 0;
}
