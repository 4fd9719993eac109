/**
 * The benchmark's settings and targets, in one place. The defaults are the figures the docs
 * quote; `BENCH_ROUNDS`, `BENCH_SECONDS`, `BENCH_WARMUP_SECONDS`, `BENCH_STARTS` and
 * `BENCH_ARGON2_SECONDS` shorten a run that only proves every phase works (never for figures).
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "../tests/helpers/server_process.ts";

export const BENCH_DIR = join(ROOT, "bench");
export const RESULTS = join(BENCH_DIR, "results", "latest.json");

/** A whole number from the environment, or `fallback`. */
function setting(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a whole number >= 1`);
  }
  return value;
}

/** What one `deno task bench` run does. */
export interface BenchSettings {
  readonly rounds: number;
  /** Measured seconds of each wrk run. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Measured starts of each start-up probe. */
  readonly starts: number;
  /** Seconds of each raw argon2id round. */
  readonly argon2Seconds: number;
  /** True when any setting is below its default: the figures are no figures. */
  readonly short: boolean;
}

const DEFAULTS = { rounds: 3, seconds: 5, warmupSeconds: 1, starts: 5, argon2Seconds: 5 };

/** The settings of this run, from the environment (defaults otherwise). */
export function benchSettings(): BenchSettings {
  const chosen = {
    rounds: setting("BENCH_ROUNDS", DEFAULTS.rounds),
    seconds: setting("BENCH_SECONDS", DEFAULTS.seconds),
    warmupSeconds: setting("BENCH_WARMUP_SECONDS", DEFAULTS.warmupSeconds),
    starts: setting("BENCH_STARTS", DEFAULTS.starts),
    argon2Seconds: setting("BENCH_ARGON2_SECONDS", DEFAULTS.argon2Seconds),
  };
  const short = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[])
    .some((key) => chosen[key] < DEFAULTS[key]);
  return { ...chosen, short };
}

export const WRK_THREADS = 2;
export const CONNECTIONS = 32;
/** /refresh and baseline B: one connection per wrk thread, each thread its own token chain. */
export const CHAINS = 8;
export const UNLIMITED = "100000000/1m";
export const TARGETS = {
  replay: 0.5,
  me: 0.85,
  refresh: 0.6,
  login: 0.85,
  startup: 2.0,
  memoryMb: 128,
} as const;

/** One line on stderr, marked as the bench's. */
export const log = (line: string) => console.error(`[bench] ${line}`);
