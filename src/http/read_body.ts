/**
 * The one definition of "reading the request body failed": the client went away in the middle
 * of its body (a closed connection, a truncated chunked body) or the connection broke. That is
 * the client's doing, never the server's: every body read goes through {@link readBody}, which
 * turns such a failure into 400 `bad_request` (`invalid_request` at the OAuth door), answered
 * without an error-level log line. Anyone can cause one at will, so it must not reach the error
 * log or count as a 5xx. A proxy's body timeout is what ends a body that stalls without closing.
 *
 * @module
 */
import type { Context } from "hono";
import { ApiError } from "../errors.ts";

/** The message of a body that could not be read to its end. */
export const BODY_UNREADABLE = "request body could not be read";

/**
 * Whether `err` is a failure to read the request body from the connection (Deno's errors for a
 * resource gone, an HTTP stream error, a reset or an early end of the connection).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBodyReadError } from "./read_body.ts";
 * assert.ok(isBodyReadError(new Deno.errors.BadResource("Cannot read body")));
 * assert.ok(isBodyReadError(new Deno.errors.Http("connection closed before message completed")));
 * assert.ok(!isBodyReadError(new TypeError("bug")));
 * assert.ok(!isBodyReadError(new SyntaxError("Unexpected end of JSON input")));
 * ```
 */
export function isBodyReadError(err: unknown): boolean {
  return BODY_READ_ERRORS.some((type) => err instanceof type);
}

const BODY_READ_ERRORS: readonly (new (...args: never[]) => Error)[] = [
  Deno.errors.BadResource,
  Deno.errors.Http,
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.UnexpectedEof,
  Deno.errors.BrokenPipe,
  Deno.errors.Interrupted,
];

/**
 * Runs `read` (anything that reads the request body); a body read failure becomes 400
 * `bad_request`, any other error is thrown as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ApiError } from "../errors.ts";
 * import { readBody } from "./read_body.ts";
 * const err = await readBody(() => Promise.reject(new Deno.errors.BadResource("gone")))
 *   .catch((e) => e);
 * assert.ok(err instanceof ApiError && err.code === "bad_request");
 * ```
 */
export async function readBody<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (isBodyReadError(err)) {
      throw new ApiError("bad_request", BODY_UNREADABLE, {}, { cause: err });
    }
    throw err;
  }
}

/** The request body as text (Hono keeps it for a later read); see {@link readBody}. */
export function readText(c: Context): Promise<string> {
  return readBody(() => c.req.text());
}

/** The request body's bytes (Hono keeps them for a later read); see {@link readBody}. */
export function readBytes(c: Context): Promise<ArrayBuffer> {
  return readBody(() => c.req.arrayBuffer());
}
