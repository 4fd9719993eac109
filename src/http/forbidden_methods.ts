/**
 * The one test of a method no `Request` may be built with: the fetch standard's forbidden
 * methods (CONNECT, TRACE, TRACK). No route takes them, and the body limit rebuilds requests, so
 * the app answers them 405 before any route (`app.ts`).
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/**
 * Whether no `Request` may carry `method` (the fetch standard's forbidden methods, compared
 * case-insensitively as the standard does): the server answers them 405 before any route.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isForbiddenMethod } from "./forbidden_methods.ts";
 * assert.ok(isForbiddenMethod("TRACE") && isForbiddenMethod("trace") && isForbiddenMethod("Track"));
 * assert.ok(isForbiddenMethod("CONNECT"));
 * assert.ok(!isForbiddenMethod("POST") && !isForbiddenMethod("TRACES"));
 * ```
 */
export function isForbiddenMethod(method: string): boolean {
  return FORBIDDEN_METHODS.has(method.toUpperCase());
}

const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(["CONNECT", "TRACE", "TRACK"]);

/** The answer to a forbidden method (`method` is one of them: never echoed unchecked). */
export function methodNotAllowed(method: string): ApiError {
  return new ApiError("method_not_allowed", `method ${method.toUpperCase()} is not allowed`);
}
