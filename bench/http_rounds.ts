/**
 * Phase 3: the HTTP rounds. Every target runs for the whole phase; each round measures every
 * baseline and its endpoint back to back (warm-up, then the measured seconds), and each ratio is
 * the median of the per-round ratios, so a burst of noise on a 2-core machine moves one round,
 * not the answer:
 *
 * - baseline A `GET /`, baseline C (the replay) `GET /`, `GET /me` at `info` and at `warn`;
 * - baseline B `POST /`, then `POST /refresh` with one chain of fresh tokens per connection;
 * - the raw argon2id verify rate of the server's own hasher in this process (server idle), then
 *   `POST /login` with valid credentials: one account (at `MAX_SESSIONS_PER_USER` after its
 *   first 100 logins, so every measured login also ends that account's oldest session), then
 *   the same connections rotating over `LOGIN_ACCOUNTS` accounts (none reaches the cap in the
 *   run: thrown otherwise), both against that round's raw rate.
 *
 * @module
 */
import { join } from "node:path";
import type { BenchTargets } from "./http_servers.ts";
import { rawVerifyRate } from "./raw_verify.ts";
import type { verifyRate } from "./verify_rate.ts";
import { memory } from "./processes.ts";
import { errorsOf, median, medianRun, ms, round } from "./report.ts";
import {
  LOGIN_ACCOUNT_PREFIX,
  LOGIN_ACCOUNTS,
  LOGIN_USER,
  logins,
  SESSION_CAP,
} from "./server_client.ts";
import {
  BENCH_DIR,
  type BenchSettings,
  CHAINS,
  CONNECTIONS,
  log,
  WRK_THREADS,
} from "./settings.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** One raw argon2id round. */
export type Argon2Round = Awaited<ReturnType<typeof verifyRate>>;

/** Every round's runs, by what they measured. */
export interface RoundRuns {
  readonly bare: WrkResult[];
  readonly replay: WrkResult[];
  readonly me: WrkResult[];
  readonly meWarn: WrkResult[];
  readonly kv: WrkResult[];
  readonly refresh: WrkResult[];
  /** One account, at the session cap. */
  readonly login: WrkResult[];
  /** `LOGIN_ACCOUNTS` accounts, below the session cap. */
  readonly loginMany: WrkResult[];
  readonly argon2: Argon2Round[];
  /** The server's peak and current memory after each phase of a round (the last round's). */
  readonly phaseMemory: Record<string, { vm_hwm_mb: number; vm_rss_mb: number }>;
}

/** Runs `settings.rounds` rounds against `targets` with the wrk at `wrk`. */
export async function measureRounds(
  wrk: string,
  targets: BenchTargets,
  settings: BenchSettings,
): Promise<RoundRuns> {
  const { server, warnServer, password } = targets;
  const drive = async (
    name: string,
    options: Omit<Parameters<typeof runWrk>[1], "seconds">,
    /** Told how many requests the warm-up and the measured run sent. */
    sent?: (requests: number) => void,
  ): Promise<WrkResult> => {
    log(`${name}: warm-up ${settings.warmupSeconds}s, then ${settings.seconds}s`);
    const warm = await runWrk(wrk, { ...options, seconds: settings.warmupSeconds });
    const result = await runWrk(wrk, { ...options, seconds: settings.seconds });
    sent?.(warm.requests + result.requests);
    log(
      `${name}: ${result.rps.toFixed(0)} rps, p50 ${ms(result.p50Ms)}, p99 ${ms(result.p99Ms)}, ${
        errorsOf(result)
      }`,
    );
    return result;
  };
  const runs: RoundRuns = {
    bare: [],
    replay: [],
    me: [],
    meWarn: [],
    kv: [],
    refresh: [],
    login: [],
    loginMany: [],
    argon2: [],
    phaseMemory: {},
  };
  const notePhase = async (phase: string) => {
    const m = await memory(server.process.pid);
    runs.phaseMemory[phase] = { vm_hwm_mb: round(m.vmHwmMb, 1), vm_rss_mb: round(m.vmRssMb, 1) };
  };
  await notePhase("started");
  const meLoad = { threads: WRK_THREADS, connections: CONNECTIONS };
  // Logins the many-accounts row has sent so far: each account gets about 1/LOGIN_ACCOUNTS of
  // them (each wrk thread walks every account in turn), at most one more per thread.
  let manyLogins = 0;
  let manyRuns = 0;
  const countMany = (requests: number) => {
    // A login in flight when a wrk run stops still reaches the server: one per connection, twice.
    manyLogins += requests + 2 * CONNECTIONS;
    // Each wrk run starts every thread at its own offset again: the accounts there get up to
    // one login more per thread per run than the even share.
    manyRuns++;
    const perAccount = Math.ceil(manyLogins / LOGIN_ACCOUNTS) + WRK_THREADS * manyRuns;
    if (perAccount >= SESSION_CAP) {
      throw new Error(
        `the many-accounts /login row sent ${manyLogins} logins: up to ${perAccount} for one ` +
          `of its ${LOGIN_ACCOUNTS} accounts, which reaches MAX_SESSIONS_PER_USER ` +
          `(${SESSION_CAP}): its logins are no longer all below the cap; raise LOGIN_ACCOUNTS`,
      );
    }
  };

  for (let n = 1; n <= settings.rounds; n++) {
    log(`round ${n} of ${settings.rounds}`);
    runs.bare.push(
      await drive("baseline A GET /", { url: `http://127.0.0.1:${targets.bare.port}/`, ...meLoad }),
    );
    runs.replay.push(
      await drive("baseline C GET / (replaying /me's answer)", {
        url: `http://127.0.0.1:${targets.replay.port}/`,
        ...meLoad,
        headers: [`Authorization: Bearer ${targets.accessToken}`],
      }),
    );
    runs.me.push(
      await drive("GET /me", {
        url: `${server.url}/me`,
        ...meLoad,
        headers: [`Authorization: Bearer ${targets.accessToken}`],
      }),
    );
    await notePhase("after GET /me");
    runs.meWarn.push(
      await drive("GET /me, LOG_LEVEL=warn", {
        url: `${warnServer.url}/me`,
        ...meLoad,
        headers: [`Authorization: Bearer ${targets.warnAccessToken}`],
      }),
    );

    runs.kv.push(
      await drive("baseline B POST /", {
        url: `http://127.0.0.1:${targets.kv.port}/`,
        threads: CHAINS,
        connections: CHAINS,
        script: join(BENCH_DIR, "post_json.lua"),
        env: { BENCH_PATH: "/", BENCH_BODY: JSON.stringify({ refresh_token: "x".repeat(43) }) },
      }),
    );
    runs.refresh.push(await refreshRound(wrk, server.url, password, settings));
    await notePhase("after POST /refresh");

    // The raw argon2id ceiling of the server's own hasher, with the server idle, then /login.
    runs.argon2.push(await rawArgon2(settings.argon2Seconds));
    runs.login.push(
      await drive("POST /login", {
        url: `${server.url}/login`,
        ...meLoad,
        script: join(BENCH_DIR, "post_json.lua"),
        env: {
          BENCH_PATH: "/login",
          BENCH_BODY: JSON.stringify({ user_id: LOGIN_USER, password }),
        },
      }),
    );
    await notePhase("after POST /login");
    runs.loginMany.push(
      await drive(
        `POST /login, ${LOGIN_ACCOUNTS} accounts`,
        {
          url: `${server.url}/login`,
          ...meLoad,
          script: join(BENCH_DIR, "login_accounts.lua"),
          env: {
            BENCH_ACCOUNT_PREFIX: LOGIN_ACCOUNT_PREFIX,
            BENCH_ACCOUNTS: String(LOGIN_ACCOUNTS),
            BENCH_PASSWORD: password,
          },
        },
        countMany,
      ),
    );
    await notePhase("after POST /login, many accounts");
  }
  return runs;
}

/** `POST /refresh`: each wrk thread (one connection) rotates its own chain of fresh tokens. */
async function refreshRound(
  wrk: string,
  url: string,
  password: string,
  settings: BenchSettings,
): Promise<WrkResult> {
  log(`POST /refresh: ${2 * CHAINS} logins for the chains' first tokens`);
  const warmTokens = await logins(url, password, CHAINS);
  const runTokens = await logins(url, password, CHAINS);
  const options = {
    url: `${url}/refresh`,
    threads: CHAINS,
    connections: CHAINS,
    script: join(BENCH_DIR, "refresh.lua"),
  };
  await runWrk(wrk, {
    ...options,
    seconds: settings.warmupSeconds,
    env: { BENCH_REFRESH_TOKENS: warmTokens.join(",") },
  });
  const result = await runWrk(wrk, {
    ...options,
    seconds: settings.seconds,
    env: { BENCH_REFRESH_TOKENS: runTokens.join(",") },
  });
  log(`POST /refresh: ${result.rps.toFixed(0)} rps, p50 ${ms(result.p50Ms)}, ${errorsOf(result)}`);
  return result;
}

/**
 * Raw argon2id verifies through the server's hasher (same parameters and the same bound on
 * concurrent hashes as the server's, the backend `PASSWORD_HASHER=auto` picks here), in a process
 * started with the server task's environment (`raw_verify.ts`), with as many callers in flight as
 * `/login` has connections.
 */
async function rawArgon2(seconds: number): Promise<Argon2Round> {
  log(
    `raw argon2id verify, a process started like the server, ${CONNECTIONS} callers, ${seconds}s`,
  );
  const result = await rawVerifyRate("auto", CONNECTIONS, seconds);
  log(
    `raw argon2id verify (${result.backend}): ${result.rps.toFixed(1)}/s, p50 ${ms(result.p50Ms)}`,
  );
  return result;
}

/** The rounds reduced: the median run of each, and the per-round ratios. */
export interface RoundSummary {
  readonly bare: WrkResult;
  readonly replay: WrkResult;
  readonly me: WrkResult;
  readonly meWarn: WrkResult;
  readonly kv: WrkResult;
  readonly refresh: WrkResult;
  readonly login: WrkResult;
  readonly loginMany: WrkResult;
  readonly argon2Rps: number;
  readonly ratios: Readonly<Record<RatioName, readonly number[]>>;
}

type RatioName = "me" | "meWarn" | "replay" | "meVsBare" | "refresh" | "login" | "loginMany";

/**
 * The median run of each measurement and the per-round ratios. A figure made of error answers
 * measures nothing: throws when any run answered one.
 */
export function summarizeRounds(runs: RoundRuns): RoundSummary {
  const measured = {
    bare: runs.bare,
    replay: runs.replay,
    me: runs.me,
    meWarn: runs.meWarn,
    kv: runs.kv,
    refresh: runs.refresh,
    login: runs.login,
    loginMany: runs.loginMany,
  };
  const failedRuns = Object.entries(measured).flatMap(([name, results]) =>
    results.filter((r) => (r.status?.bad ?? r.non2xx) > 0).map((r) => `${name}: ${errorsOf(r)}`)
  );
  if (failedRuns.length > 0) {
    throw new Error(`runs answered errors, so no figure is reported:\n${failedRuns.join("\n")}`);
  }
  const ratios = {
    me: runs.me.map((r, i) => r.rps / runs.replay[i]!.rps),
    meWarn: runs.meWarn.map((r, i) => r.rps / runs.replay[i]!.rps),
    replay: runs.replay.map((r, i) => r.rps / runs.bare[i]!.rps),
    meVsBare: runs.me.map((r, i) => r.rps / runs.bare[i]!.rps),
    refresh: runs.refresh.map((r, i) => r.rps / runs.kv[i]!.rps),
    login: runs.login.map((r, i) => r.rps / runs.argon2[i]!.rps),
    loginMany: runs.loginMany.map((r, i) => r.rps / runs.argon2[i]!.rps),
  };
  const list = (values: readonly number[]) => values.map((r) => r.toFixed(2)).join(", ");
  log(
    `per-round ratios: /me ${list(ratios.me)}; /refresh ${list(ratios.refresh)}; /login ` +
      `one account (at the cap) ${list(ratios.login)}, ${LOGIN_ACCOUNTS} accounts ${
        list(ratios.loginMany)
      }`,
  );
  return {
    bare: medianRun(runs.bare),
    replay: medianRun(runs.replay),
    me: medianRun(runs.me),
    meWarn: medianRun(runs.meWarn),
    kv: medianRun(runs.kv),
    refresh: medianRun(runs.refresh),
    login: medianRun(runs.login),
    loginMany: medianRun(runs.loginMany),
    argon2Rps: median(runs.argon2.map((a) => a.rps)),
    ratios,
  };
}
