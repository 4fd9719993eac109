/**
 * One JSON line per event on stdout, filtered by `LOG_LEVEL`. Callers pass only fields that are
 * safe to keep: never a password, token, refresh token or secret.
 *
 * @module
 */
import type { LogLevel } from "./config.ts";

const RANK: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 99,
};

/** Fields of a log line. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** A levelled JSON-lines logger. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Whether lines of `level` are written (callers skip building fields otherwise). */
  enabled(level: Exclude<LogLevel, "silent">): boolean;
}

/**
 * Creates a logger writing to `write` (stdout by default).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger("warn", (line) => lines.push(line));
 * log.info("ignored");
 * log.warn("login_failed", { user_id: "ada" });
 * assert(lines.length === 1 && JSON.parse(lines[0]!).event === "login_failed");
 * ```
 */
export function createLogger(level: LogLevel, write: (line: string) => void = console.log): Logger {
  const at =
    (lineLevel: Exclude<LogLevel, "silent">) => (event: string, fields: LogFields = {}) => {
      if (RANK[lineLevel] < RANK[level]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: lineLevel, event, ...fields }));
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    enabled: (lineLevel) => RANK[lineLevel] >= RANK[level],
  };
}
