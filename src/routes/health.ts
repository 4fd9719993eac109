/**
 * `GET /healthz` (the process answers) and `GET /readyz` (the store answers and this instance
 * follows the shared key set; 503 otherwise, so a load balancer drains it).
 *
 * @module
 */
import { z } from "zod";
import { createRoute } from "../http/api_router.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { ApiError } from "../errors.ts";
import { errorResponse } from "./schemas.ts";

const Status = z.object({ status: z.string() }).meta({ id: "Status" });

/** Registers the health probes. */
export function healthRoutes(app: AppRouter, ctx: AppContext): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      summary: "Liveness: the process is up",
      responses: {
        200: { content: { "application/json": { schema: Status } }, description: "Up" },
      },
    }),
    (c) => c.json({ status: "ok" }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/readyz",
      summary: "Readiness: the store can be read and the signing keys are up to date",
      responses: {
        200: { content: { "application/json": { schema: Status } }, description: "Ready" },
        503: errorResponse(
          "The store cannot be read (`not_ready`), or this instance cannot sign with the key the " +
            "shared key set says it must (`keys_out_of_date`: e.g. it lacks a new SECRET_KEY)",
        ),
      },
    }),
    async (c) => {
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
      return c.json({ status: "ready" }, 200);
    },
  );
}
