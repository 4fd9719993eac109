/**
 * What every request gets, in one pass: the security headers (`security_headers.ts`), the
 * latency histogram (`request_metrics.ts`) and the request log line (`request_log.ts`). One
 * middleware, not three: each layer of Hono middleware is an async frame and a promise per
 * request, and the three layers (with their two clock reads each) were a measurable part of
 * `GET /me` (docs/benchmarks.md, "Per request").
 *
 * What a client and an operator see is what the three layers gave: the same headers (a route's
 * own `cache-control` kept, a bare `Response` completed), the same series, the same line; the
 * line's duration now also covers the metrics' few microseconds, as it did before.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { TrustedProxies } from "../client_address.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import { requestLog } from "./request_log.ts";
import { requestRecorder } from "./request_metrics.ts";
import {
  completeSecurityHeaders,
  presetSecurityHeaders,
  securityHeaderList,
} from "./security_headers.ts";

/** What {@link requestChain} needs. */
export interface RequestChainOptions {
  readonly logger: Logger;
  readonly trustProxy: TrustedProxies;
  readonly metrics: Metrics;
  /** The server's public address (`ISSUER`): HSTS only when it is `https:`. */
  readonly issuer: string;
}

/** Security headers, the latency histogram and the request log, in one middleware. */
export function requestChain(options: RequestChainOptions): MiddlewareHandler {
  const headers = securityHeaderList({ issuer: options.issuer });
  const record = requestRecorder(options.metrics);
  const log = requestLog(options.logger, options.trustProxy);
  return async function requestChainMiddleware(c, next) {
    const started = performance.now();
    const requestId = log.start();
    presetSecurityHeaders(c, headers);
    await next();
    completeSecurityHeaders(c.res.headers, headers);
    const elapsedMs = performance.now() - started;
    record(c, elapsedMs / 1000);
    if (requestId !== undefined) log.end(c, requestId, elapsedMs);
  };
}
