/**
 * `GET /healthz` (the process answers) and `GET /readyz` (the store answers and this instance
 * follows the shared key set; 503 otherwise, so a load balancer drains it). Served from the start
 * without zod (the probes are the first requests); documented by `health_docs.ts`.
 *
 * @module
 */
import type { AppContext, AppRouter } from "../app_types.ts";
import { ApiError } from "../errors.ts";

/**
 * Registers the health probes. `/readyz` also waits for `warm` (the routes a login needs, loaded
 * after the first answer): ready means a login waits on no module load.
 */
export function healthRoutes(app: AppRouter, ctx: AppContext, warm: () => Promise<void>): void {
  app.get("/healthz", (c) => c.json({ status: "ok" }, 200));

  app.get("/readyz", async (c) => {
    try {
      await ctx.services.stores.ping();
    } catch (err) {
      // Not ready is this probe's answer, not a failure of the request: the mapper answers it.
      throw new ApiError("not_ready", "store is not reachable", {}, { cause: err });
    }
    const { outOfDate } = ctx.services.keys();
    if (outOfDate !== undefined) {
      throw new ApiError("keys_out_of_date", "signing keys are out of date (see the log)");
    }
    try {
      await warm();
    } catch (err) {
      // A route module that failed to load (it is tried again by the next probe): not ready,
      // so a load balancer keeps traffic away, never a 500 that reads as a crash.
      ctx.logger.error("routes_load_failed", { message: String(err).slice(0, 300) });
      throw new ApiError("not_ready", "routes failed to load (see the log)", {}, { cause: err });
    }
    return c.json({ status: "ready" }, 200);
  });
}
