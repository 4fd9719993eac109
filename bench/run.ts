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
 * Then `/login` per password backend (`login_backends.ts`), `/me` on all cores
 * (`all_cores.ts`) and the idle footprint module by module (`module_footprint.ts`). Every server listens on 127.0.0.1 on a free port and is killed at the end;
 * every wrk run is bounded in time. Results: one table on stdout and `bench/results/latest.json`.
 *
 * `main()` is the list of phases, each in its own file: `micro.ts`, `http_servers.ts`,
 * `http_rounds.ts`, `startup.ts`, `results.ts`. Settings and targets: `settings.ts` (the
 * `BENCH_*` variables there shorten a run that only proves each phase works).
 *
 * @module
 */
import { allCoresReport, benchAllCores } from "./all_cores.ts";
import { startTargets, stopBaselines } from "./http_servers.ts";
import { measureRounds, summarizeRounds } from "./http_rounds.ts";
import { benchLoginBackends, loginBackendsTable } from "./login_backends.ts";
import { machine } from "./machine.ts";
import { footprintTable, measureFootprints } from "./module_footprint.ts";
import { microBenchmarks } from "./micro.ts";
import { cleanup, memory, stopServer } from "./processes.ts";
import { report } from "./results.ts";
import { benchSettings, log } from "./settings.ts";
import { measureStartup } from "./startup.ts";
import { ensureWrk } from "./wrk.ts";

/** The benchmark of this server against its baselines; exit code 0 when every phase ran clean. */
async function main(): Promise<number> {
  const started = performance.now();
  const settings = benchSettings();
  const host = await machine();
  log(
    `${host.date} · ${host.nproc} CPUs (${host.cpu}) · deno ${host.deno} · load average ${host.loadavg_at_start}`,
  );
  if (settings.short) log("short run (BENCH_* below the defaults): no figure it prints counts");

  const micro = await microBenchmarks();
  if (!micro.ok) log("deno bench failed (see above); going on with the HTTP benchmark");

  const wrk = await ensureWrk(log);
  if ("problem" in wrk) {
    console.error(
      `\nHTTP benchmark NOT RUN: ${wrk.problem}\n` +
        "It needs wrk (Debian package `wrk`); install it and run `deno task bench` again.",
    );
    return 1;
  }
  const tmp = await Deno.makeTempDir({ prefix: "auth-bench-" });
  try {
    const targets = await startTargets(tmp);
    const runs = await measureRounds(wrk.path, targets, settings);
    await stopBaselines(targets);
    const summary = summarizeRounds(runs);
    const mem = await memory(targets.server.process.pid);
    log(`server peak resident memory (VmHWM) ${mem.vmHwmMb.toFixed(1)} MB`);
    await stopServer(targets.server);
    await stopServer(targets.warnServer);
    const { serverDir, serverEnv, password } = targets;
    const startup = await measureStartup(serverDir, serverEnv, password, settings.starts);
    const clean = await report({
      host,
      settings,
      wrk: { path: wrk.path, installed: wrk.installed },
      micro,
      runs,
      summary,
      mem,
      startup,
      started,
    });
    return micro.ok && clean ? 0 : 1;
  } finally {
    await cleanup();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
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
    const { short, rounds, seconds } = benchSettings();
    const shortened = short ? { rounds, seconds } : {};
    console.log(loginBackendsTable(await benchLoginBackends(shortened))); // issue 9: per backend
    console.log(allCoresReport(await benchAllCores(shortened))); // issue 20: all cores vs one
    console.log(footprintTable(await measureFootprints(short ? 1 : 3))); // issue 24: idle, by module
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  } finally {
    await cleanup();
  }
  Deno.exit(code);
}
