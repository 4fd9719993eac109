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

/** What an answer's log line says that is known before it is answered (all but the client). */
export type KnownAnswer = Pick<AnsweredRequest, "method" | "path" | "status" | "sub">;

/** The request log: a request id as a request starts, its line once it is answered. */
export interface RequestLog {
  /** A fresh request id, or `undefined` when the log is off (`LOG_LEVEL` above `info`). */
  start(): string | undefined;
  /** Writes the line of an answered request (and `x-request-id` into the `headers` of a 5xx). */
  end(answered: AnsweredRequest, headers: Headers, requestId: string, durationMs: number): void;
  /**
   * The line writer of answers known ahead and answered many times (`me_fast_path.ts`): their
   * constant part serialized once; a fresh request id per line. Null when the log is off. Only
   * for answers below 500 (a 5xx also sends its request id as a header: {@link end}).
   */
  prepare(known: KnownAnswer): ((durationMs: number, client: string) => void) | null;
}

/** The request log of `logger`. */
export function requestLog(logger: Logger): RequestLog {
  const nextId = requestIds();
  const write = logger.infoLineOf("request");
  return {
    start: () => write === null ? undefined : nextId(),
    end(answered, headers, requestId, durationMs) {
      if (answered.status >= 500) headers.set("x-request-id", requestId);
      write?.(fieldsJson(requestId, knownParts(answered), durationMs, answered.client()));
    },
    prepare(known) {
      if (known.status >= 500) throw new RangeError("a 5xx line also sets x-request-id: use end()");
      if (write === null) return null;
      const parts = knownParts(known);
      return (durationMs, client) => write(fieldsJson(nextId(), parts, durationMs, client));
    },
  };
}

/** The serialized fields around the duration, the same for every answer of `known`. */
interface KnownParts {
  /** From the method to `"duration_ms":`. */
  readonly beforeDuration: string;
  /** `sub` (when known) and the closing brace. */
  readonly end: string;
}

function knownParts(known: KnownAnswer): KnownParts {
  const { method, path, status, sub } = known;
  return {
    beforeDuration: `,"method":${JSON.stringify(method)},"path":${
      JSON.stringify(path.slice(0, 256))
    },"status":${JSON.stringify(status)},"duration_ms":`,
    end: sub === undefined ? "}" : `,"sub":${JSON.stringify(sub)}}`,
  };
}

/**
 * The line's fields, from the comma after its event: request id, method, path, status, duration
 * (in ms, two decimals), client, `sub` when a token was verified. What `JSON.stringify` makes of
 * them as an object.
 */
function fieldsJson(requestId: string, parts: KnownParts, durationMs: number, client: string) {
  return `,"request_id":${JSON.stringify(requestId)}${parts.beforeDuration}${
    JSON.stringify(Math.round(durationMs * 100) / 100)
  },"client":${JSON.stringify(client)}${parts.end}`;
}
