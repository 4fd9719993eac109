/**
 * `GET /healthz` (the process answers) and `GET /readyz` (the store answers; 503 otherwise).
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { AppContext, AppRouter } from "../app_types.ts";
import { ApiError } from "../errors.ts";
import { errorResponse } from "./schemas.ts";

const Status = z.object({ status: z.string() }).openapi("Status");

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
      summary: "Readiness: the store can be read",
      responses: {
        200: { content: { "application/json": { schema: Status } }, description: "Ready" },
        503: errorResponse("The store cannot be read"),
      },
    }),
    async (c) => {
      try {
        await ctx.services.stores.ping();
      } catch (err) {
        // Not ready is this probe's answer, not a failure of the request: the mapper answers it.
        throw new ApiError("not_ready", "store is not reachable", {}, { cause: err });
      }
      return c.json({ status: "ready" }, 200);
    },
  );
}
