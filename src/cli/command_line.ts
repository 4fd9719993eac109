/**
 * The one command-line shape of the `user`, `client` and `keys` CLIs: `<command> [args]`, a
 * general and a per-command `--help`, and one form for every usage error (exit code 2):
 *
 * ```
 * Error: <what is wrong>
 * Usage: deno task <task> <command's usage>
 * ```
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { CliError, EXIT } from "./output.ts";

/** One command: its usage line (after the task name) and what it does. */
export interface CommandHelp {
  readonly usage: string;
  readonly summary: string;
}

/** A CLI: its task name, commands, options and the lines its general help ends with. */
export interface CliSpec {
  readonly task: string;
  readonly commands: Readonly<Record<string, CommandHelp>>;
  readonly options: ParseArgsOptionsConfig;
  /** Lines after the command list (rules, notes); the exit code line is added. */
  readonly notes?: readonly string[];
}

/** The exit code table every CLI prints and the README repeats. */
export const EXIT_CODE_LINE =
  "Exit codes: 0 ok, 1 failure (configuration, store), 2 usage, 3 not found, " +
  "4 conflict, 5 invalid value";

/** A key id (a SHA-256 JWK thumbprint, base64url) that starts with "-". */
const KEY_ID_WITH_DASH = /^-[A-Za-z0-9_-]{42}$/;

/** A parsed command line: the command, its positionals and the option values. */
export interface CommandLine {
  readonly command: string;
  readonly positionals: string[];
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

/**
 * Parses `argv`. Help and usage errors are printed here: the result is then the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandLine } from "./command_line.ts";
 * const spec = { task: "demo", commands: { go: { usage: "go <x>", summary: "Go" } }, options: {} };
 * const line = parseCommandLine(["go", "x"], spec);
 * assert(typeof line !== "number" && line.command === "go" && line.positionals[0] === "x");
 * // A key id may start with "-" (base64url): still a positional.
 * const kid = "-" + "Yy".repeat(21);
 * const retire = parseCommandLine(["go", kid], spec);
 * assert(typeof retire !== "number" && retire.positionals[0] === kid);
 * ```
 */
export function parseCommandLine(argv: readonly string[], spec: CliSpec): CommandLine | number {
  // A key id (RFC 7638: 43 base64url characters) may start with "-": a positional, never an
  // option (`keys retire -Yys…` is a kid). No option name is that long.
  const kids = argv.filter((word) => KEY_ID_WITH_DASH.test(word));
  const words = argv.filter((word) => !KEY_ID_WITH_DASH.test(word));
  let parsed;
  try {
    parsed = parseArgs({
      args: kids.length === 0 ? words : [...words, "--", ...kids],
      allowPositionals: true,
      options: { ...spec.options, help: { type: "boolean", short: "h", default: false } },
    });
  } catch (err) {
    const name = argv.find((word) => !word.startsWith("-"));
    const usage = name && spec.commands[name] ? spec.commands[name].usage : "<command> [options]";
    return printUsageError(spec.task, usage, parseProblem(err));
  }
  const [name, ...positionals] = parsed.positionals;
  const command = name === undefined ? undefined : spec.commands[name];
  if (parsed.values.help || name === "help") {
    const asked = name === "help" ? positionals[0] : name;
    const one = asked === undefined ? undefined : spec.commands[asked];
    console.log(
      one ? `Usage: deno task ${spec.task} ${one.usage}\n\n${one.summary}` : generalHelp(spec),
    );
    return EXIT.ok;
  }
  if (name === undefined || command === undefined) {
    const problem = name === undefined ? "No command given" : `Unknown command "${name}"`;
    const code = printUsageError(spec.task, "<command> [options]", problem);
    console.error(`Commands: ${Object.keys(spec.commands).join(", ")} (--help for more)`);
    return code;
  }
  return { command: name, positionals, values: parsed.values };
}

/**
 * The usage error of `task`'s `command`: what is wrong, and its usage line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usageError } from "./command_line.ts";
 * const err = usageError("user", "show <user_id>", "Expected exactly one <user_id>");
 * assert.equal(err.message, "Expected exactly one <user_id>\nUsage: deno task user show <user_id>");
 * assert.equal(err.exitCode, 2);
 * ```
 */
export function usageError(task: string, usage: string, problem: string): CliError {
  return new CliError(`${problem}\nUsage: deno task ${task} ${usage}`, EXIT.usage);
}

/** The general help: usage, commands, notes, exit codes. */
export function generalHelp(spec: CliSpec): string {
  const width = Math.max(...Object.values(spec.commands).map((c) => c.usage.length)) + 2;
  const lines = Object.values(spec.commands).map((c) =>
    c.usage.length > 44
      ? `  ${c.usage}\n  ${"".padEnd(Math.min(width, 46))}${c.summary}`
      : `  ${c.usage.padEnd(Math.min(width, 46))}${c.summary}`
  );
  return [
    `Usage: deno task ${spec.task} <command> [options]`,
    "",
    "Commands:",
    ...lines,
    "",
    ...(spec.notes ?? []),
    `Every command takes --help (deno task ${spec.task} <command> --help).`,
    EXIT_CODE_LINE,
  ].join("\n");
}

function printUsageError(task: string, usage: string, problem: string): number {
  console.error(`Error: ${usageError(task, usage, problem).message}`);
  return EXIT.usage;
}

/** `node:util` parseArgs' message in our words (its own adds a hint with stray quotes). */
function parseProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const unknown = message.match(/^Unknown option '([^']+)'/);
  if (unknown) return `Unknown option ${unknown[1]}`;
  const missing = message.match(/^Option '(-\S+)(?:, (--\S+))?[^']*' argument missing/);
  if (missing) return `Option ${missing[2] ?? missing[1]} needs a value`;
  const unexpected = message.match(/^Option '(--?\S+)[^']*' does not take an argument/);
  if (unexpected) return `Option ${unexpected[1]} takes no value`;
  return message.split(". ")[0] ?? message;
}
