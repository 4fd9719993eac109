/**
 * Request latency histogram by route pattern (never the raw path, so label values stay a
 * closed set), method and status.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "../metrics.ts";

/** Observes each request's duration after it is answered. */
export function requestMetrics(metrics: Metrics): MiddlewareHandler {
  return async function requestMetricsMiddleware(c, next) {
    const started = performance.now();
    await next();
    // After next(), the route index is the handler that answered; "/*" means none matched.
    const path = routePath(c);
    const route = path === "/*" || path === "*" || path === "" ? "unmatched" : path;
    metrics.requestDuration.observe(
      { route, method: c.req.method, status: String(c.res.status) },
      (performance.now() - started) / 1000,
    );
  };
}
