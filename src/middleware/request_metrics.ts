/**
 * Request latency histogram by route pattern (never the raw path, so label values stay a
 * closed set), method and status.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "../metrics.ts";
import type { HistogramSeries } from "../prometheus.ts";

/** Methods that get their own label; any other token a client sends is counted as OTHER. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Observes each request's duration after it is answered. */
export function requestMetrics(metrics: Metrics): MiddlewareHandler {
  // One histogram series per label set, found through nested maps: no key string per request.
  const byRoute = new Map<string, Map<string, Map<number, HistogramSeries>>>();
  return async function requestMetricsMiddleware(c, next) {
    const started = performance.now();
    await next();
    // After next(), the route index is the handler that answered; "/*" means none matched.
    const path = routePath(c);
    const route = path === "/*" || path === "*" || path === "" ? "unmatched" : path;
    // Every label comes from a closed set, so clients cannot grow the series (or these maps).
    const method = METHODS.has(c.req.method) ? c.req.method : "OTHER";
    const status = c.res.status;
    let byMethod = byRoute.get(route);
    if (byMethod === undefined) byRoute.set(route, byMethod = new Map());
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map());
    let child = byStatus.get(status);
    if (child === undefined) {
      child = metrics.requestDuration.labels(route, method, String(status));
      byStatus.set(status, child);
    }
    child.observe((performance.now() - started) / 1000);
  };
}
