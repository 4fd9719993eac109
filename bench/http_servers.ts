/**
 * Phase 2: what the HTTP rounds measure, started once for all of them: baseline A (a bare
 * `Deno.serve` JSON hello), baseline B (`Deno.serve` and one Deno KV commit per request), the
 * real server with the `start` task's command and the `.env` a first start writes
 * (`LOG_LEVEL=info`: the request log on, to /dev/null so that no reader here competes for the
 * cores), a second one with `LOG_LEVEL=warn`, and baseline C, a bare `Deno.serve` replaying
 * `/me`'s exact recorded answer. Only the rate limits are lifted.
 *
 * @module
 */
import { join } from "node:path";
import {
  freePort,
  ROOT,
  type RunningServer,
  startServer,
} from "../tests/helpers/server_process.ts";
import { type Child, servers, spawnDeno, stopChild } from "./processes.ts";
import {
  addUser,
  login,
  LOGIN_ACCOUNT_PREFIX,
  LOGIN_ACCOUNTS,
  LOGIN_USER,
  SESSION_CAP,
} from "./server_client.ts";
import { BENCH_DIR, log, UNLIMITED } from "./settings.ts";

/** Everything the rounds drive, with how to reach it. */
export interface BenchTargets {
  /** The server's directory (its `.env` and KV file; the start-up phase reuses it). */
  readonly serverDir: string;
  /** The server's environment beyond the `.env` a first start writes. */
  readonly serverEnv: Record<string, string>;
  /** The bootstrap admin's password (and the `/login` user's). */
  readonly password: string;
  readonly bare: { readonly child: Child; readonly port: number };
  readonly kv: { readonly child: Child; readonly port: number };
  readonly replay: { readonly child: Child; readonly port: number };
  readonly server: RunningServer;
  readonly warnServer: RunningServer;
  /** An access token of each server's admin (`/me` reuses it). */
  readonly accessToken: string;
  readonly warnAccessToken: string;
}

/** Starts every baseline and both servers under `tmp`. */
export async function startTargets(tmp: string): Promise<BenchTargets> {
  const serverDir = join(tmp, "server");
  const kvDir = join(tmp, "baseline-kv");
  const warnDir = join(tmp, "server-warn");
  for (const dir of [serverDir, kvDir, warnDir]) await Deno.mkdir(dir);
  const password = `bench-${crypto.randomUUID()}`;
  const serverEnv: Record<string, string> = {
    HOST: "127.0.0.1",
    BOOTSTRAP_PASSWORD: password,
    LOGIN_LIMIT_PER_CLIENT: UNLIMITED,
    LOGIN_LIMIT_PER_ACCOUNT: UNLIMITED,
    REFRESH_LIMIT_PER_CLIENT: UNLIMITED,
    // The default, pinned: the /login rows' labels and the many-accounts guard count on it.
    MAX_SESSIONS_PER_USER: String(SESSION_CAP),
  };

  const barePort = freePort();
  const bare = await spawnDeno("baseline A (bare Deno.serve)", [
    "run",
    `--allow-net=127.0.0.1:${barePort}`,
    join(BENCH_DIR, "baseline_bare.ts"),
    String(barePort),
  ]);
  const kvPort = freePort();
  const kv = await spawnDeno("baseline B (Deno.serve + 1 KV commit)", [
    "run",
    "--config",
    join(ROOT, "deno.json"),
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

  const access = await login(server.url, password);
  const warnAccess = await login(warnServer.url, password);
  // The /login phase signs in as its own user: its hundreds of sessions would otherwise reach
  // MAX_SESSIONS_PER_USER and end the sessions /me and /refresh are measured with.
  await addUser(server.url, access.token, LOGIN_USER, password);
  log(
    `filling ${LOGIN_USER}'s ${SESSION_CAP} sessions: the one-account row is at the cap from its first login`,
  );
  for (let i = 0; i < SESSION_CAP; i++) await login(server.url, password, LOGIN_USER);
  log(`adding the ${LOGIN_ACCOUNTS} accounts of the many-accounts /login row`);
  for (let i = 0; i < LOGIN_ACCOUNTS; i++) {
    await addUser(server.url, access.token, `${LOGIN_ACCOUNT_PREFIX}${i}`, password);
  }

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
  return {
    serverDir,
    serverEnv,
    password,
    bare: { child: bare, port: barePort },
    kv: { child: kv, port: kvPort },
    replay: { child: replay, port: replayPort },
    server,
    warnServer,
    accessToken: access.token,
    warnAccessToken: warnAccess.token,
  };
}

/** Stops the three baselines (the servers stay up for their memory figure). */
export async function stopBaselines(targets: BenchTargets): Promise<void> {
  for (const baseline of [targets.bare, targets.replay, targets.kv]) {
    await stopChild(baseline.child);
  }
}
