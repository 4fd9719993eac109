/**
 * `POST /login` per second on each password backend against the raw argon2id verify rate of the
 * same backend at the same concurrency (target >= 0.85x): is the server's login path, around
 * the hash, cheap enough on Web Crypto as well as on the native addon?
 *
 * For each backend (`PASSWORD_HASHER=webcrypto`, and `native` where the addon loads) and each
 * concurrency (1, 2 and 16), ROUNDS rounds of: the raw verify rate through `createPasswordHasher`
 * (same parameters, same bound on concurrent hashes as the server) in a process started with the
 * server task's environment (`raw_verify.ts`), with the server idle; then wrk on `/login` with
 * that many connections. Servers
 * listen on 127.0.0.1 and are stopped at the end; every wrk run is bounded in time.
 *
 * Standalone: `deno run --allow-net --allow-env --allow-read --allow-write --allow-run
 * --allow-sys --allow-ffi=./node_modules bench/login_backends.ts`; `deno task bench` calls
 * {@link benchLoginBackends} too.
 *
 * @module
 */
import { join } from "node:path";
import type { Argon2BackendName } from "../src/crypto/argon2_backend.ts";
import { loadNativeArgon2 } from "../src/crypto/argon2_native.ts";
import { webCryptoArgon2 } from "../src/crypto/argon2_webcrypto.ts";
import { ROOT, startServer } from "../tests/helpers/server_process.ts";
import { rawVerifyRate } from "./raw_verify.ts";
import { ensureWrk, runWrk } from "./wrk.ts";

/** Rounds, and seconds of each measurement, unless `benchLoginBackends` is told otherwise. */
const ROUNDS = 3;
const SECONDS = 3;
/**
 * 1 and 2 (this machine's cores, the server's bound on hashes at once) are latency-bound: each
 * login waits for its hash and then for the rest of the login path (KV commits, signing), so the
 * ratio there is hash / (hash + rest). 16 keeps the server's hash slots busy while other logins
 * do the rest: the throughput the target is about.
 */
const CONCURRENCY = [1, 2, 16] as const;
const TARGET_CONCURRENCY = 16;
const TARGET = 0.85;
const UNLIMITED = "100000000/1m";

/** One backend at one concurrency: medians over the rounds. */
export interface LoginBackendResult {
  readonly backend: Argon2BackendName;
  readonly concurrency: number;
  /** Median single-verify time at this concurrency, raw, in ms. */
  readonly hashMs: number;
  readonly rawPerSecond: number;
  readonly loginPerSecond: number;
  /** Median of the per-round ratios login / raw. */
  readonly ratio: number;
  readonly ratios: readonly number[];
  readonly loginErrors: number;
}

const log = (line: string) => console.error(`[bench login/backends] ${line}`);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the comparison; returns one result per backend and concurrency. */
export async function benchLoginBackends(
  options: { rounds?: number; seconds?: number } = {},
): Promise<LoginBackendResult[]> {
  const rounds = options.rounds ?? ROUNDS;
  const seconds = options.seconds ?? SECONDS;
  const wrkFound = await ensureWrk(log);
  if ("problem" in wrkFound) {
    log(`NOT RUN: ${wrkFound.problem}`);
    return [];
  }
  const native = await loadNativeArgon2().catch((err: Error) => {
    log(`native backend skipped: the addon does not load here (${err.message})`);
    return undefined;
  });
  const backends = native ? [webCryptoArgon2, native] : [webCryptoArgon2];
  const results: LoginBackendResult[] = [];
  for (const backend of backends) {
    const dir = await Deno.makeTempDir({ prefix: `auth-bench-${backend.name}-` });
    const password = `bench-${crypto.randomUUID()}`;
    const server = await startServer({
      dir,
      env: {
        PASSWORD_HASHER: backend.name,
        BOOTSTRAP_PASSWORD: password,
        LOGIN_LIMIT_PER_ACCOUNT: UNLIMITED,
        LOGIN_LIMIT_PER_CLIENT: UNLIMITED,
        LOG_LEVEL: "warn",
      },
    });
    try {
      if (
        !server.stderr().includes(`argon2id via ${backend.name === "native" ? "native" : "Web"}`)
      ) {
        throw new Error(`server is not on ${backend.name}:\n${server.stderr()}`);
      }
      for (const concurrency of CONCURRENCY) {
        const raw: { rps: number; p50Ms: number }[] = [];
        const login: { rps: number; errors: number }[] = [];
        for (let round = 0; round < rounds; round++) {
          // In a process started like the server: its allocator settings are the hash's cost.
          raw.push(await rawVerifyRate(backend.name, concurrency, seconds));
          const wrk = await runWrk(wrkFound.path, {
            url: `${server.url}/login`,
            threads: 1,
            connections: concurrency,
            seconds,
            script: join(ROOT, "bench", "post_json.lua"),
            env: {
              BENCH_PATH: "/login",
              BENCH_BODY: JSON.stringify({ user_id: "admin", password }),
            },
          });
          login.push({ rps: wrk.rps, errors: wrk.non2xx + (wrk.status?.bad ?? 0) });
        }
        const ratios = login.map((l, i) => l.rps / raw[i]!.rps);
        const result: LoginBackendResult = {
          backend: backend.name,
          concurrency,
          hashMs: median(raw.map((r) => r.p50Ms)),
          rawPerSecond: median(raw.map((r) => r.rps)),
          loginPerSecond: median(login.map((l) => l.rps)),
          ratio: median(ratios),
          ratios,
          loginErrors: login.reduce((sum, l) => sum + l.errors, 0),
        };
        log(
          `${backend.name} c=${concurrency}: hash ${result.hashMs.toFixed(1)} ms, raw ` +
            `${result.rawPerSecond.toFixed(1)}/s, /login ${result.loginPerSecond.toFixed(1)}/s, ` +
            `ratio ${result.ratio.toFixed(2)} (rounds ${
              ratios.map((r) => r.toFixed(2)).join(", ")
            })`,
        );
        results.push(result);
      }
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  }
  return results;
}

/** The results as a small table, with the target. */
export function loginBackendsTable(results: readonly LoginBackendResult[]): string {
  const lines = [
    `POST /login vs raw argon2id verify, same backend, same concurrency (target >= ${TARGET}x ` +
    `at c=${TARGET_CONCURRENCY}; medians of ${ROUNDS} rounds of ${SECONDS}s)`,
    "backend    c  hash ms  raw/s   login/s  ratio  ok",
    ...results.map((r) =>
      [
        r.backend.padEnd(9),
        String(r.concurrency).padStart(2),
        r.hashMs.toFixed(1).padStart(8),
        r.rawPerSecond.toFixed(1).padStart(7),
        r.loginPerSecond.toFixed(1).padStart(9),
        r.ratio.toFixed(2).padStart(6),
        r.concurrency !== TARGET_CONCURRENCY
          ? " (latency-bound)"
          : r.ratio >= TARGET && r.loginErrors === 0
          ? " yes"
          : " NO",
      ].join(" ")
    ),
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const results = await benchLoginBackends();
  console.log(loginBackendsTable(results));
  const judged = results.filter((r) => r.concurrency === TARGET_CONCURRENCY);
  Deno.exit(judged.length > 0 && judged.every((r) => r.ratio >= TARGET) ? 0 : 1);
}
