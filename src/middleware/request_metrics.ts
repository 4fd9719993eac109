/**
 * Request latency histogram by route pattern (never the raw path, so label values stay a
 * closed set), method and status.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "../metrics.ts";

/** Methods that get their own label; any other token a client sends is counted as OTHER. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Observes each request's duration after it is answered. */
export function requestMetrics(metrics: Metrics): MiddlewareHandler {
  // One histogram series per label set, looked up once per key, not built per request.
  const children = new Map<string, { observe(value: number): void }>();
  return async function requestMetricsMiddleware(c, next) {
    const started = performance.now();
    await next();
    // After next(), the route index is the handler that answered; "/*" means none matched.
    const path = routePath(c);
    const route = path === "/*" || path === "*" || path === "" ? "unmatched" : path;
    // Every label comes from a closed set, so clients cannot grow the series (or this map).
    const method = METHODS.has(c.req.method) ? c.req.method : "OTHER";
    const key = `${route} ${method} ${c.res.status}`;
    let child = children.get(key);
    if (child === undefined) {
      child = metrics.requestDuration.labels(route, method, String(c.res.status));
      children.set(key, child);
    }
    child.observe((performance.now() - started) / 1000);
  };
}
