/**
 * PostgreSQL against Deno KV, same run, same machine: `GET /me`, `POST /refresh` and
 * `POST /login` served by one server process on each engine in turn, driven by wrk, and the
 * PostgreSQL/KV ratio of each. Needs `wrk` and a PostgreSQL server (`BENCH_DATABASE_URL`, else
 * `TEST_DATABASE_URL`) on which it creates a database and drops it after.
 *
 * Usage: `deno run --allow-net --allow-env --allow-read --allow-write --allow-run --allow-sys
 * --allow-ffi=./node_modules bench/store_engines.ts [--seconds N]`. Take figures on a quiet
 * machine only: numbers measured while other work runs are noise.
 *
 * @module
 */
import { join } from "node:path";
import { openPool } from "../src/store/pg_client.ts";
import { quoteIdent } from "../src/store/pg_migrations.ts";
import { ROOT, type RunningServer, startServer } from "../tests/helpers/server_process.ts";
import { ensureWrk, runWrk, type WrkResult } from "./wrk.ts";

const PASSWORD = "bench-password-1234";
const CHAINS = 4;
const CONNECTIONS = 16;

function option(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

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

/** The three routes on one running server. */
async function measure(
  wrk: string,
  server: RunningServer,
  seconds: number,
): Promise<Record<string, WrkResult>> {
  const login = () => post(`${server.url}/login`, { user_id: "admin", password: PASSWORD });
  const admin = await login();
  await post(`${server.url}/admin/users`, {
    user_id: "bench",
    password: PASSWORD,
    roles: ["user"],
  }, admin.token);
  const me = await runWrk(wrk, {
    url: `${server.url}/me`,
    threads: 2,
    connections: CONNECTIONS,
    seconds,
    headers: [`Authorization: Bearer ${admin.token}`],
  });
  const tokens: string[] = [];
  for (let i = 0; i < CHAINS; i++) tokens.push((await login()).refresh_token);
  const refresh = await runWrk(wrk, {
    url: `${server.url}/refresh`,
    threads: CHAINS,
    connections: CHAINS,
    seconds,
    script: join(ROOT, "bench", "refresh.lua"),
    env: { BENCH_REFRESH_TOKENS: tokens.join(",") },
  });
  const logins = await runWrk(wrk, {
    url: `${server.url}/login`,
    threads: 2,
    connections: 4,
    seconds,
    script: join(ROOT, "bench", "post_json.lua"),
    env: {
      BENCH_PATH: "/login",
      BENCH_BODY: JSON.stringify({ user_id: "bench", password: PASSWORD }),
    },
  });
  return { "GET /me": me, "POST /refresh": refresh, "POST /login": logins };
}

async function main(): Promise<number> {
  const url = Deno.env.get("BENCH_DATABASE_URL") || Deno.env.get("TEST_DATABASE_URL");
  if (!url) {
    console.error("Set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server");
    return 2;
  }
  const seconds = Number(option("--seconds") ?? 10);
  const wrk = await ensureWrk(console.error);
  if ("problem" in wrk) {
    console.error(`wrk is needed: ${wrk.problem}`);
    return 2;
  }
  const database = `auth_bench_${Date.now().toString(36)}`;
  const admin = openPool({ url, poolSize: 1 });
  await admin.unsafe(`CREATE DATABASE ${quoteIdent(database)}`);
  const target = new URL(url);
  target.pathname = `/${database}`;
  const base = {
    BOOTSTRAP_PASSWORD: PASSWORD,
    LOGIN_LIMIT_PER_CLIENT: "1000000/1m",
    LOGIN_LIMIT_PER_ACCOUNT: "1000000/1m",
    REFRESH_LIMIT_PER_CLIENT: "1000000/1m",
    LOG_LEVEL: "warn",
  };
  const results: Record<string, Record<string, WrkResult>> = {};
  try {
    for (
      const [engine, env] of [["kv", base], ["postgres", {
        ...base,
        DATABASE_URL: target.href,
      }]] as const
    ) {
      const server = await startServer({ env, stdout: "null" });
      try {
        console.error(`${engine}: measuring ${seconds} s per route`);
        results[engine] = await measure(wrk.path, server, seconds);
      } finally {
        await server.stop();
        await Deno.remove(server.dir, { recursive: true }).catch(() => {});
      }
    }
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    await admin.end({ timeout: 5 });
  }
  console.log(
    "| route | KV rps | PostgreSQL rps | PostgreSQL/KV | KV p99 | PostgreSQL p99 | non-2xx |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const route of Object.keys(results.kv!)) {
    const kv = results.kv![route]!;
    const pg = results.postgres![route]!;
    const bad = kv.non2xx + pg.non2xx + (kv.status?.bad ?? 0) + (pg.status?.bad ?? 0);
    console.log(
      `| ${route} | ${kv.rps.toFixed(0)} | ${pg.rps.toFixed(0)} | ${
        (pg.rps / kv.rps).toFixed(2)
      } | ` +
        `${kv.p99Ms.toFixed(1)} ms | ${pg.p99Ms.toFixed(1)} ms | ${bad} |`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
