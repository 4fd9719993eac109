/**
 * CLI output: aligned tables for people, JSON for scripts, and the exit codes scripts rely on.
 *
 * @module
 */
import { ApiError, type InternalErrorCode } from "../errors.ts";

/** Exit codes of every CLI command. */
export const EXIT = {
  ok: 0,
  /** Configuration, store or other runtime failure. */
  failure: 1,
  /** Unknown command or bad arguments. */
  usage: 2,
  notFound: 3,
  conflict: 4,
  /** A value was refused (user id, password, role). */
  invalid: 5,
} as const;

/** A failure the CLI reports in one line and exits with `code`. */
export class CliError extends Error {
  readonly code = "command_failed" satisfies InternalErrorCode;
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** The exit code and one-line message for an error thrown by a command. */
export function describeFailure(err: unknown): { code: number; message: string } {
  if (err instanceof CliError) return { code: err.exitCode, message: err.message };
  if (err instanceof ApiError) {
    const code = err.code === "not_found"
      ? EXIT.notFound
      : err.code === "conflict"
      ? EXIT.conflict
      : err.code === "validation_failed"
      ? EXIT.invalid
      : EXIT.failure;
    return { code, message: err.message };
  }
  return { code: EXIT.failure, message: err instanceof Error ? err.message : String(err) };
}

/**
 * Formats rows as an aligned text table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { table } from "./output.ts";
 * assert(table(["A", "B"], [["x", "yy"]]) === "A  B\nx  yy");
 * ```
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join("  ");
  return [line(headers), ...rows.map(line)].join("\n");
}
