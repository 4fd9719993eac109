/**
 * Running the HTTP server: first-start bootstrap, `Deno.serve`, following the shared key set (and
 * re-reading it on SIGHUP) and a graceful stop on SIGTERM/SIGINT (stop accepting, finish
 * in-flight requests, close KV).
 *
 * @module
 */
import { base64url } from "jose";
import { createApp } from "./app.ts";
import { ApiError, apiErrorResponse } from "./errors.ts";
import { loginFloodGate } from "./flood_gate.ts";
import { isPlainHost, NOT_A_HOST } from "./http/host_header.ts";
import { securityHeaderList } from "./middleware/security_headers.ts";
import { printConfigNotes } from "./config/load_or_exit.ts";
import { issuerChangeNote, issuerDescription } from "./issuer_notes.ts";
import type { Runtime } from "./runtime.ts";
import { ADMIN_ROLE } from "./users/user_rules.ts";
import { REUSE_PORT_VAR, reusePortSetting } from "./reuse_port.ts";
import { createServices, type Services } from "./services.ts";

/** How long in-flight requests may take to finish after SIGTERM. */
const SHUTDOWN_GRACE_MS = 8_000;

/**
 * How long after listening the hasher opens if no request has been answered first. Loading the
 * addon is synchronous JavaScript on the one thread that answers requests (about 50 ms of CPU
 * here: the loader's CommonJS and Deno's Node compatibility layer): opened in `onListen`, it
 * held up the first answer (a health probe, a load balancer's check) by that much.
 */
export const HASHER_OPEN_DELAY_MS = 50;

const SHUTTING_DOWN = new ApiError("not_ready", "server is shutting down", { "Retry-After": "1" });

/**
 * Creates user `admin` (roles admin, user) whenever the store has no enabled admin, however the
 * store was made (a `deno task user add` before the first start included): with
 * `BOOTSTRAP_PASSWORD`, or a random password printed once to stderr. When a user `admin` exists
 * but is disabled or lacks the role, says how to make it an admin again instead.
 *
 * `BOOTSTRAP_PASSWORD` is never written to `.env`, so on a store that already has users it can
 * only be a value still set in the environment, perhaps long ago or shared: the admin is created
 * all the same (a store must not be left without one), but one `Warning:` line says so.
 */
export async function bootstrapAdmin(
  services: Services,
  password: string | undefined,
): Promise<void> {
  const hasUsers = await services.stores.users.hasUsers();
  if (hasUsers && await hasEnabledAdmin(services)) return;
  const existing = await services.stores.users.getUser("admin");
  if (existing) {
    console.error(
      'No enabled admin in the store and user "admin" exists: run deno task user enable admin ' +
        "and deno task user roles admin admin user",
    );
    return;
  }
  const chosen = password ?? base64url.encode(crypto.getRandomValues(new Uint8Array(18)));
  try {
    await services.users.add("admin", chosen, [ADMIN_ROLE, "user"]);
  } catch (err) {
    if (err instanceof ApiError && err.code === "conflict") return; // another instance did it
    throw err;
  }
  if (password === undefined) {
    console.error(
      `Created user "admin" with password ${chosen} (shown once; change it: deno task user passwd admin)`,
    );
  } else if (hasUsers) {
    console.error(
      'Warning: created user "admin" with the password from BOOTSTRAP_PASSWORD in a store that ' +
        "already has users but had no enabled admin; if that password is old or known to others, " +
        "change it now (deno task user passwd admin), and unset BOOTSTRAP_PASSWORD",
    );
  } else {
    console.error('Created user "admin" with the password from BOOTSTRAP_PASSWORD');
  }
}

/** Does any enabled user hold the admin role (stops at the first). */
async function hasEnabledAdmin(services: Services): Promise<boolean> {
  for await (const { value } of services.stores.users.allUsers()) {
    if (!value.disabled && value.roles.includes(ADMIN_ROLE)) return true;
  }
  return false;
}

/** Serves until a stop signal; resolves with the exit code. */
export async function serve(runtime: Runtime): Promise<number> {
  const { config, logger } = runtime;
  const shared = reusePortSetting(Deno.env.get(REUSE_PORT_VAR), Deno.build.os);
  if ("problem" in shared) {
    console.error(`Configuration error: ${shared.problem}`);
    runtime.close();
    return 1;
  }
  const services = createServices(runtime);
  await bootstrapAdmin(services, config.bootstrapPassword);
  const issuerNote = issuerChangeNote(
    await runtime.stores.recordIssuer(config.issuer),
    config.issuer,
  );
  const app = createApp(services, config, logger);
  // The listening line names the hashing backend, which opens only now: the addon's load and
  // the dummy hash are off the path to the first answer (logins wait for both). The routes a
  // login needs (their modules, zod and the schemas: app.warmUp) load meanwhile, while the dummy
  // hash runs on the hasher's threads; a login that comes sooner loads them itself.
  let listenedOn = "";
  const hasherOpening = openOnceSoon(() => {
    const backendOpening = runtime.passwordBackend();
    const routesLoading = app.warmUp().catch((err) =>
      logger.error("routes_load_failed", { message: String(err).slice(0, 300) })
    );
    void Promise.all([backendOpening, routesLoading]).then(([backend]) => backend).catch((err) =>
      `argon2id backend failed to open: ${String(err).slice(0, 200)}`
    ).then((backend) => {
      const issuer = issuerDescription(config);
      // Notes first: whoever waits for the listening line (a supervisor, a test) has them.
      printConfigNotes();
      if (issuerNote) console.error(issuerNote);
      console.error(
        `Auth server listening on ${listenedOn} (${runtime.keys().signing.alg}, ${backend}, ${runtime.engine}, ${issuer})`,
      );
    });
  }, HASHER_OPEN_DELAY_MS);
  const drain = createDrain(hasherOpening.answered);
  // Answered before the app, with the headers every answer carries; the connection is not kept.
  const notAHostHeaders = {
    ...Object.fromEntries(securityHeaderList({ issuer: config.issuer })),
    "Connection": "close",
  };
  const floodGate = loginFloodGate(services, config);
  // Rotations and retirements made by `deno task keys` reach this instance without a signal.
  let lastFollowError = "";
  await runtime.followKeys({
    onReload: (ring) => logger.info("keys_reloaded", { kid: ring.signing.kid }),
    onError: (err) => {
      const message = String(err).slice(0, 300);
      if (message !== lastFollowError) logger.error("keys_follow_failed", { message });
      lastFollowError = message;
    },
  });

  let stoppedBy: Deno.Signal | undefined;
  const stop = async (signal: Deno.Signal) => {
    // A second signal waits for the first stop: one Ctrl-C reaches the server twice under
    // `deno task` (the task runner forwards it), and start:all-cores forwards one too.
    if (stoppedBy !== undefined) return;
    stoppedBy = signal;
    logger.info("shutdown", { signal });
    const timeout = setTimeout(() => {
      logger.warn("shutdown_timeout", { after_ms: SHUTDOWN_GRACE_MS });
      runtime.close();
      Deno.exit(1);
    }, SHUTDOWN_GRACE_MS);
    // Requests already in flight finish first, bodies and all: Deno's shutdown() alone stops
    // reading bodies still arriving. New requests meanwhile get 503 and Connection: close.
    await drain.start();
    await server?.shutdown();
    clearTimeout(timeout);
  };
  const onSigterm = () => void stop("SIGTERM");
  const onSigint = () => void stop("SIGINT");
  const onSighup = () => {
    runtime.reloadKeys().then(
      () => logger.info("keys_reloaded", { kid: runtime.keys().signing.kid }),
      (err) => logger.error("keys_reload_failed", { message: String(err).slice(0, 300) }),
    );
  };
  // Listening before the listeners exist would let a SIGTERM sent right after the listening line
  // (a supervisor, a test) kill the process with no drain: they come first.
  Deno.addSignalListener("SIGTERM", onSigterm);
  Deno.addSignalListener("SIGINT", onSigint);
  Deno.addSignalListener("SIGHUP", onSighup);
  const removeSignalListeners = () => {
    Deno.removeSignalListener("SIGTERM", onSigterm);
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGHUP", onSighup);
  };

  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    server = Deno.serve(
      {
        hostname: config.host,
        port: config.port,
        reusePort: shared.reusePort, // several processes on one port (start:all-cores, Linux)
        // The hasher opens once the first answer is out, or HASHER_OPEN_DELAY_MS from now.
        onListen: ({ hostname, port }) => {
          listenedOn = `http://${hostname}:${port}`;
          hasherOpening.start();
        },
      },
      // `info` itself is the bindings: its remoteAddr is a lazy getter that costs a call into the
      // runtime, so only the routes that need the client address (limits, logs) pay for it.
      // A Host that is no host would move the path Hono routes by (http/host_header.ts). A
      // repeated GET /me is answered without Hono when nothing it depends on has changed
      // (http/me_fast_path.ts); everything else, errors included, is Hono's.
      drain.wrap((request, info) =>
        isPlainHost(request.headers.get("host"))
          ? floodGate(request, info) ?? app.answerMeAgain(request, info) ??
            app.fetch(request, info)
          : apiErrorResponse(NOT_A_HOST, notAHostHeaders)
      ),
    );
  } catch (err) {
    console.error(listenProblem(config.host, config.port, err));
    removeSignalListeners();
    runtime.close();
    return 1;
  }

  await server.finished;
  removeSignalListeners();
  runtime.close();
  logger.info("stopped");
  logger.flush(); // the request log is written in batches: none left behind
  // Under `deno task dev` the file watcher runs in this process and would go on waiting for a
  // change: the same signal again, with no listener now, ends the watcher too.
  if (stoppedBy && Deno.env.get("AUTH_WATCH") === "1") Deno.kill(Deno.pid, stoppedBy);
  return 0;
}

/**
 * Why the server cannot listen, in one line, with what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenProblem } from "./server.ts";
 * const line = listenProblem("0.0.0.0", 10000, new Deno.errors.AddrInUse("Address in use"));
 * assert.match(line, /port 10000 is already in use.*PORT/);
 * ```
 */
export function listenProblem(host: string, port: number, err: unknown): string {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (err instanceof Deno.errors.AddrInUse) {
    return `Cannot listen on ${where}: port ${port} is already in use; stop the process using it ` +
      "or set PORT to a free port";
  }
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return `Cannot listen on ${where}: not permitted (ports below 1024 need privileges); ` +
      "set PORT to 1024 or above";
  }
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  return `Cannot listen on ${where}: ${message}; set HOST to an address of this machine ` +
    "(0.0.0.0 for all, 127.0.0.1 for this machine only)";
}

type Handler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.Addr>,
) => Response | Promise<Response>;

/**
 * Calls `run` once: soon after the first {@link answered} (on a later turn of the event loop, so
 * that the answer is written out first), or `delayMs` after `start()`, whichever comes first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openOnceSoon } from "./server.ts";
 * let runs = 0;
 * const soon = openOnceSoon(() => runs++, 60_000);
 * soon.start();
 * soon.answered();
 * soon.answered();
 * await new Promise((resolve) => setTimeout(resolve, 10));
 * assert.equal(runs, 1);
 * ```
 */
export function openOnceSoon(
  run: () => void,
  delayMs: number,
): { start(): void; answered(): void } {
  let done = false;
  let queued = false; // one later turn is enough, however many answers go out before it
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fire = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    run();
  };
  return {
    start() {
      if (!done && timer === undefined) timer = setTimeout(fire, delayMs);
    },
    answered() {
      if (done || queued) return;
      queued = true;
      setTimeout(fire, 0);
    },
  };
}

/**
 * Counts requests in flight so a stop can wait for them; refuses new ones while draining.
 * `afterAnswer` is called once each request's answer is ready.
 */
function createDrain(afterAnswer: () => void = () => {}) {
  let inFlight = 0;
  let draining = false;
  let idle: (() => void) | undefined;
  return {
    wrap(handler: Handler): Handler {
      const done = () => {
        inFlight--;
        afterAnswer();
        if (draining && inFlight === 0) idle?.();
      };
      return (request, info) => {
        if (draining) {
          // Before Hono: the app may be mid-request for others; the body is the mapper's shape.
          return apiErrorResponse(SHUTTING_DOWN, { "Connection": "close" });
        }
        inFlight++;
        let answer: Response | Promise<Response>;
        try {
          answer = handler(request, info);
        } catch (err) {
          done();
          throw err;
        }
        // A synchronous answer (GET /me's fast path) stays synchronous: Deno sends it at once,
        // with no promise to settle first.
        if (answer instanceof Response) {
          done();
          return answer;
        }
        return answer.finally(done);
      };
    },
    start(): Promise<void> {
      draining = true;
      return inFlight === 0 ? Promise.resolve() : new Promise((resolve) => idle = resolve);
    },
  };
}
