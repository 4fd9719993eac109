/**
 * One JSON log line per request: time, request id, method, path, status, duration, client and
 * `sub` when a token was verified. Never a header, body or query string. When `LOG_LEVEL` is
 * above `info` nothing is done at all (not even a request id). Written by `requestChain`
 * (`request_chain.ts`) once the request is answered, from plain values: the answers of
 * `me_fast_path.ts`, made without Hono, get the same line.
 *
 * The request id is this process's random prefix and a counter (unique without a call into the
 * random source per request). It is sent back as `x-request-id` only on 5xx answers, the ones an
 * operator must find in the log from a user's report; every other answer carries enough (its
 * JSON error code) and a header on every answer costs throughput (docs/security.md, "Headers").
 *
 * @module
 */
import type { Logger } from "../logger.ts";

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

/** An answered request, in plain values: what its log line and its histogram series say. */
export interface AnsweredRequest {
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  /** The route pattern that answered (`/users/:id`), or `unmatched`: the histogram's label. */
  readonly route: string;
  readonly status: number;
  /** The verified token's `sub`, when a token was verified. */
  readonly sub: string | undefined;
  /** The client's address: worked out only when the line is written. */
  client(): string;
}

/** The request log: a request id as a request starts, its line once it is answered. */
export interface RequestLog {
  /** A fresh request id, or `undefined` when the log is off (`LOG_LEVEL` above `info`). */
  start(): string | undefined;
  /** Writes the line of an answered request (and `x-request-id` into the `headers` of a 5xx). */
  end(answered: AnsweredRequest, headers: Headers, requestId: string, durationMs: number): void;
}

/** The request log of `logger`. */
export function requestLog(logger: Logger): RequestLog {
  const nextId = requestIds();
  return {
    start: () => logger.enabled("info") ? nextId() : undefined,
    end(answered, headers, requestId, durationMs) {
      const status = answered.status;
      if (status >= 500) headers.set("x-request-id", requestId);
      logger.info("request", {
        request_id: requestId,
        method: answered.method,
        path: answered.path.slice(0, 256),
        status,
        duration_ms: Math.round(durationMs * 100) / 100,
        client: answered.client(),
        sub: answered.sub,
      });
    },
  };
}
