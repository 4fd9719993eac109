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
import type { Runtime } from "./runtime.ts";
import { createServices, type Services } from "./services.ts";

/** How long in-flight requests may take to finish after SIGTERM. */
const SHUTDOWN_GRACE_MS = 8_000;

const SHUTTING_DOWN = new ApiError("not_ready", "server is shutting down", { "Retry-After": "1" });

/**
 * Creates user `admin` (roles admin, user) when the store has no users: with
 * `BOOTSTRAP_PASSWORD`, or a random password printed once to stderr.
 */
export async function bootstrapAdmin(
  services: Services,
  password: string | undefined,
): Promise<void> {
  if (await services.stores.users.hasUsers()) return;
  const chosen = password ?? base64url.encode(crypto.getRandomValues(new Uint8Array(18)));
  try {
    await services.users.add("admin", chosen, ["admin", "user"]);
  } catch (err) {
    if (err instanceof ApiError && err.code === "conflict") return; // another instance did it
    throw err;
  }
  if (password === undefined) {
    console.error(
      `Created user "admin" with password ${chosen} (shown once; change it: deno task user passwd admin)`,
    );
  } else {
    console.error('Created user "admin" with the password from BOOTSTRAP_PASSWORD');
  }
}

/** Serves until a stop signal; resolves with the exit code. */
export async function serve(runtime: Runtime): Promise<number> {
  const { config, logger } = runtime;
  const services = createServices(runtime);
  await bootstrapAdmin(services, config.bootstrapPassword);
  const app = createApp(services, config, logger);
  const drain = createDrain();
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

  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    // The line names the hashing backend, which is opened only now: the addon's load and the
    // dummy hash are off the path to the first answer (logins wait for them).
    onListen: ({ hostname, port }) => {
      void runtime.passwordBackend().then((backend) =>
        console.error(
          `Auth server listening on http://${hostname}:${port} (${runtime.keys().signing.alg}, ${backend}, issuer ${config.issuer})`,
        )
      );
    },
    // `info` itself is the bindings: its remoteAddr is a lazy getter that costs a call into the
    // runtime, so only the routes that need the client address (limits, logs) pay for it.
  }, drain.wrap((request, info) => floodGate(request, info) ?? app.fetch(request, info)));

  const stop = async (signal: string) => {
    logger.info("shutdown", { signal });
    const timeout = setTimeout(() => {
      logger.warn("shutdown_timeout", { after_ms: SHUTDOWN_GRACE_MS });
      runtime.close();
      Deno.exit(1);
    }, SHUTDOWN_GRACE_MS);
    // Requests already in flight finish first, bodies and all: Deno's shutdown() alone stops
    // reading bodies still arriving. New requests meanwhile get 503 and Connection: close.
    await drain.start();
    await server.shutdown();
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
  Deno.addSignalListener("SIGTERM", onSigterm);
  Deno.addSignalListener("SIGINT", onSigint);
  Deno.addSignalListener("SIGHUP", onSighup);

  await server.finished;
  Deno.removeSignalListener("SIGTERM", onSigterm);
  Deno.removeSignalListener("SIGINT", onSigint);
  Deno.removeSignalListener("SIGHUP", onSighup);
  runtime.close();
  logger.info("stopped");
  logger.flush(); // the request log is written in batches: none left behind
  return 0;
}

type Handler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.Addr>,
) => Response | Promise<Response>;

/** Counts requests in flight so a stop can wait for them; refuses new ones while draining. */
function createDrain() {
  let inFlight = 0;
  let draining = false;
  let idle: (() => void) | undefined;
  return {
    wrap(handler: Handler): Handler {
      return async (request, info) => {
        if (draining) {
          // Before Hono: the app may be mid-request for others; the body is the mapper's shape.
          return apiErrorResponse(SHUTTING_DOWN, { "Connection": "close" });
        }
        inFlight++;
        try {
          return await handler(request, info);
        } finally {
          inFlight--;
          if (draining && inFlight === 0) idle?.();
        }
      };
    },
    start(): Promise<void> {
      draining = true;
      return inFlight === 0 ? Promise.resolve() : new Promise((resolve) => idle = resolve);
    },
  };
}
