/**
 * One JSON log line per request: time, request id (also sent as `X-Request-Id`), method, path,
 * status, duration, client and `sub` when a token was verified. Never a header, body or query
 * string. When `LOG_LEVEL` is above `info` it does nothing at all.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { TrustedProxies } from "../client_address.ts";
import type { Logger } from "../logger.ts";
import { clientIp } from "../client_ip.ts";

/** Logs each request after it is answered. */
export function requestLog(logger: Logger, trustProxy: TrustedProxies): MiddlewareHandler {
  return async function requestLogMiddleware(c, next) {
    if (!logger.enabled("info")) return await next();
    const started = performance.now();
    const requestId = crypto.randomUUID();
    await next();
    c.res.headers.set("X-Request-Id", requestId);
    logger.info("request", {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path.slice(0, 256),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      client: clientIp(c, trustProxy),
      sub: c.get("auth")?.sub,
    });
  };
}
