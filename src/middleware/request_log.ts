/**
 * One JSON log line per request: time, request id, method, path, status, duration, client and
 * `sub` when a token was verified. Never a header, body or query string. When `LOG_LEVEL` is
 * above `info` nothing is done at all (not even a request id). Written by `requestChain`
 * (`request_chain.ts`) once the request is answered.
 *
 * The request id is this process's random prefix and a counter (unique without a call into the
 * random source per request). It is sent back as `x-request-id` only on 5xx answers, the ones an
 * operator must find in the log from a user's report; every other answer carries enough (its
 * JSON error code) and a header on every answer costs throughput (docs/security.md, "Headers").
 *
 * @module
 */
import type { Context } from "hono";
import type { TrustedProxies } from "../client_address.ts";
import type { Logger } from "../logger.ts";
import { clientIp } from "../client_ip.ts";

/**
 * Makes request ids: a random per-process prefix, a dash, then a base-36 counter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestIds } from "./request_log.ts";
 * const next = requestIds();
 * const [a, b] = [next(), next()];
 * assert.match(a, /^[0-9a-f]{12}-1$/);
 * assert.notEqual(a, b);
 * ```
 */
export function requestIds(): () => string {
  const prefix = Array.from(crypto.getRandomValues(new Uint8Array(6)))
    .map((b) => b.toString(16).padStart(2, "0")).join("") + "-";
  let counter = 0;
  return () => prefix + (++counter).toString(36);
}

/** The request log: a request id as a request starts, its line once it is answered. */
export interface RequestLog {
  /** A fresh request id, or `undefined` when the log is off (`LOG_LEVEL` above `info`). */
  start(): string | undefined;
  /** Writes the line of an answered request (and `x-request-id` on a 5xx). */
  end(c: Context, requestId: string, durationMs: number): void;
}

/** The request log of `logger`, with client addresses as `trustProxy` says. */
export function requestLog(logger: Logger, trustProxy: TrustedProxies): RequestLog {
  const nextId = requestIds();
  return {
    start: () => logger.enabled("info") ? nextId() : undefined,
    end(c, requestId, durationMs) {
      const status = c.res.status;
      if (status >= 500) c.res.headers.set("x-request-id", requestId);
      logger.info("request", {
        request_id: requestId,
        method: c.req.method,
        path: c.req.path.slice(0, 256),
        status,
        duration_ms: Math.round(durationMs * 100) / 100,
        client: clientIp(c, trustProxy),
        sub: c.get("auth")?.sub,
      });
    },
  };
}
