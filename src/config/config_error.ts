/**
 * The one error a configuration value that cannot be used raises: the server and the CLIs print
 * its message on one line and exit 1.
 *
 * @module
 */
import type { InternalErrorCode } from "../errors.ts";

/**
 * A configuration value that cannot be used; `message` names the variable (and never echoes a
 * secret's value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "./config_error.ts";
 * const err = new ConfigError("PORT", "must be a number from 1 to 65535");
 * assert.equal(err.code, "config_invalid");
 * assert.equal(err.message, "PORT must be a number from 1 to 65535");
 * ```
 */
export class ConfigError extends Error {
  /** Stable, like the API's codes: what callers tell this error apart by. */
  readonly code = "config_invalid" satisfies InternalErrorCode;
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}
