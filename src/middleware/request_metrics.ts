/**
 * Request latency histogram by route pattern (never the raw path, so label values stay a
 * closed set), method and status. Observed by `requestChain` (`request_chain.ts`) once the
 * request is answered, from plain values (`me_fast_path.ts`'s answers too).
 *
 * @module
 */
import type { Context } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "../metrics.ts";
import type { HistogramSeries } from "../prometheus.ts";

/** Methods that get their own label; any other token a client sends is counted as OTHER. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Records one answered request's duration under its route pattern, method and status. */
export type RequestRecorder = (
  route: string,
  method: string,
  status: number,
  seconds: number,
) => void;

/** The route label of a request Hono answered: the pattern that answered, or `unmatched`. */
export function routeLabel(c: Context): string {
  // After next(), the route index is the handler that answered; "/*" means none matched.
  const path = routePath(c);
  return path === "/*" || path === "*" || path === "" ? "unmatched" : path;
}

/**
 * A recorder of answered requests into `metrics.requestDuration`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import { createMetrics } from "../metrics.ts";
 * import { requestRecorder, routeLabel } from "./request_metrics.ts";
 * const metrics = createMetrics();
 * const record = requestRecorder(metrics);
 * const app = new Hono();
 * app.use(async (c, next) => {
 *   await next();
 *   record(routeLabel(c), c.req.method, c.res.status, 0.002);
 * });
 * app.get("/users/:id", (c) => c.json({}));
 * await app.request("/users/7");
 * await app.request("/nothing-here");
 * const text = metrics.registry.metrics();
 * assert.match(text, /route="\/users\/:id",method="GET",status="200"/);
 * assert.match(text, /route="unmatched",method="GET",status="404"/);
 * ```
 */
export function requestRecorder(metrics: Metrics): RequestRecorder {
  const seriesOf = requestSeries(metrics);
  return function recordRequest(route, method, status, seconds) {
    seriesOf(route, method, status).observe(seconds);
  };
}

/**
 * The histogram series of a route pattern, method and status in `metrics.requestDuration`: for
 * a caller that keeps it (`request_chain.ts`'s prepared answers) and for {@link requestRecorder}.
 */
export function requestSeries(
  metrics: Metrics,
): (route: string, method: string, status: number) => HistogramSeries {
  // One histogram series per label set, found through nested maps: no key string per request.
  const byRoute = new Map<string, Map<string, Map<number, HistogramSeries>>>();
  return (route, requestMethod, status) => {
    // Every label comes from a closed set, so clients cannot grow the series (or these maps).
    const method = METHODS.has(requestMethod) ? requestMethod : "OTHER";
    let byMethod = byRoute.get(route);
    if (byMethod === undefined) byRoute.set(route, byMethod = new Map());
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map());
    let series = byStatus.get(status);
    if (series === undefined) {
      series = metrics.requestDuration.labels(route, method, String(status));
      byStatus.set(status, series);
    }
    return series;
  };
}
