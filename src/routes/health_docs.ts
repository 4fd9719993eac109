/**
 * The documentation of `GET /healthz` and `GET /readyz` (served by `health.ts`, which must not
 * load zod before the first answer).
 *
 * @module
 */
import { createRoute } from "../http/api_router.ts";
import type { AppRouter } from "../app_types.ts";
import { errorResponse, z } from "./schemas.ts";

const Status = z.object({ status: z.string() }).meta({ id: "Status" });

/** Documents the health probes. */
export function documentHealthRoutes(app: AppRouter): void {
  app.openAPIRegistry.registerPath(createRoute({
    method: "get",
    path: "/healthz",
    summary: "Liveness: the process is up",
    responses: {
      200: { content: { "application/json": { schema: Status } }, description: "Up" },
    },
  }));
  app.openAPIRegistry.registerPath(createRoute({
    method: "get",
    path: "/readyz",
    summary: "Readiness: the store can be read and the signing keys are up to date",
    responses: {
      200: { content: { "application/json": { schema: Status } }, description: "Ready" },
      503: errorResponse(
        "The store cannot be read or the routes a login needs failed to load (`not_ready`), or " +
          "this instance cannot sign with the key the shared key set says it must " +
          "(`keys_out_of_date`: e.g. it lacks a new SECRET_KEY)",
      ),
    },
  }));
}
