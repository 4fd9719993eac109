/**
 * One JSON log line per request: time, request id, method, path, status, duration, client and
 * `sub` when a token was verified. Never a header, body or query string.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../logger.ts";

/** Logs each request after it is answered and sets `X-Request-Id`. */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async function requestLogMiddleware(c, next) {
    const started = performance.now();
    const requestId = crypto.randomUUID();
    c.header("X-Request-Id", requestId);
    await next();
    logger.info("request", {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path.slice(0, 256),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      client: c.get("clientIp"),
      sub: c.get("auth")?.sub,
    });
  };
}
