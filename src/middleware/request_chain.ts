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
import type { Context, MiddlewareHandler } from "hono";
import type { TrustedProxies } from "../client_address.ts";
import { clientIp } from "../client_ip.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import { type AnsweredRequest, type KnownAnswer, requestLog } from "./request_log.ts";
import { requestSeries, routeLabel } from "./request_metrics.ts";
import {
  completeSecurityHeaders,
  type HeaderList,
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

/**
 * The chain's parts: its middleware, and the same steps for an answer made without Hono
 * (`me_fast_path.ts`), so both record a request alike.
 */
export interface RequestChain {
  readonly middleware: MiddlewareHandler;
  /** The security headers every answer carries. */
  readonly headers: HeaderList;
  /**
   * After an answer (`headers` are its own): its histogram series and its log line. `started`
   * is the `performance.now()` of its start.
   */
  answered(
    answered: AnsweredRequest,
    headers: Headers,
    started: number,
    requestId: string | undefined,
  ): void;
  /**
   * The same steps for an answer known ahead and made many times without Hono (`/me`'s fast
   * path, below 500): its series found and its line's constant part serialized once.
   */
  prepare(known: KnownAnswer & { readonly route: string }): PreparedAnswer;
}

/** After one more of a prepared answer, started at `started`: its series and its line. */
export type PreparedAnswer = (started: number, client: () => string) => void;

/** Security headers, the latency histogram and the request log, in one middleware. */
export function requestChain(options: RequestChainOptions): MiddlewareHandler {
  return createRequestChain(options).middleware;
}

/** The chain of `options`: its middleware and its steps. */
export function createRequestChain(options: RequestChainOptions): RequestChain {
  const headers = securityHeaderList({ issuer: options.issuer });
  const seriesOf = requestSeries(options.metrics);
  const log = requestLog(options.logger);
  const { trustProxy } = options;

  function answered(
    answer: AnsweredRequest,
    answerHeaders: Headers,
    started: number,
    requestId: string | undefined,
  ): void {
    const elapsedMs = performance.now() - started;
    seriesOf(answer.route, answer.method, answer.status).observe(elapsedMs / 1000);
    if (requestId !== undefined) log.end(answer, answerHeaders, requestId, elapsedMs);
  }

  function prepare(known: KnownAnswer & { readonly route: string }): PreparedAnswer {
    const series = seriesOf(known.route, known.method, known.status);
    const line = log.prepare(known);
    return (started, client) => {
      const elapsedMs = performance.now() - started;
      series.observe(elapsedMs / 1000);
      line?.(elapsedMs, client());
    };
  }

  return {
    headers,
    answered,
    prepare,
    middleware: async function requestChainMiddleware(c, next) {
      const started = performance.now();
      const requestId = log.start();
      presetSecurityHeaders(c, headers);
      await next();
      completeSecurityHeaders(c.res.headers, headers);
      answered(honoAnswer(c, trustProxy), c.res.headers, started, requestId);
    },
  };
}

/** What Hono answered (after `next()`), as the plain values the log and the histogram take. */
export function honoAnswer(c: Context, trustProxy: TrustedProxies): AnsweredRequest {
  return {
    method: c.req.method,
    path: c.req.path,
    route: routeLabel(c),
    status: c.res.status,
    sub: c.get("auth")?.sub,
    client: () => clientIp(c, trustProxy),
  };
}
