/**
 * The first-run `.env`: a fresh secret, the settings the environment gives, the defaults, each
 * line written so that Deno's dotenv parser reads back exactly its value.
 *
 * @module
 */
import { parseEnv } from "node:util";
import { base64url } from "jose";
import { hasControlCharacter } from "../text.ts";
import type { RawVars } from "./parse_config.ts";
import { nonEmpty } from "./values.ts";
import { type Variable, VARIABLES } from "./variables.ts";

/**
 * The text of a first-run `.env`: a fresh 48-byte random secret, the settings the environment
 * gives (those whose `firstRun` is not `"never"`), and the defaults of those whose `firstRun` is
 * `"default"`. A variable written neither way leaves its `unsetHint`, if any (`ISSUER`: unset,
 * it follows `HOST` and `PORT`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEnv } from "node:util";
 * import { firstRunEnvFile } from "./env_file.ts";
 * const vars = parseEnv(firstRunEnvFile({ JWT_ALG: "EdDSA" }));
 * assert.equal(vars.JWT_ALG, "EdDSA");
 * assert.equal(vars.PORT, "10000");
 * ```
 */
export function firstRunEnvFile(env: RawVars = {}): string {
  const secret = base64url.encode(crypto.getRandomValues(new Uint8Array(48)));
  const given = givenSettings(env);
  const isGiven = (v: Variable) => given.some((setting) => setting.name === v.name);
  const table = VARIABLES as readonly Variable[];
  const lines = [
    "# Written on first start. Keep it private (mode 0600); see docs/configuration.md for every setting.",
    "# The server and `deno task user|client|keys` all read this file: change settings here.",
    `SECRET_KEY=${secret}`,
    ...(given.length ? ["# From the environment at first start:"] : []),
    ...given.map(({ name, line }) =>
      line ?? `# ${name} from the environment is not recorded: no quoting reads it back exactly`
    ),
    "# Defaults:",
    ...table.filter((v) => v.firstRun === "default" && v.default !== undefined && !isGiven(v))
      .map((v) => `${v.name}=${v.default}`),
    ...table.filter((v) => !isGiven(v)).flatMap((v) => v.unsetHint ?? []),
  ];
  return lines.join("\n") + "\n";
}

/**
 * The settings the environment gives that a first-run `.env` cannot record (their values would
 * not read back exactly; see {@link envLine}). A run that writes the file says so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unrecordedSettings } from "./env_file.ts";
 * assert.deepEqual(unrecordedSettings({ METRICS_TOKEN: "tok'en #1" }), []);
 * assert.deepEqual(unrecordedSettings({ METRICS_TOKEN: "a' #b\" #c` #d" }), ["METRICS_TOKEN"]);
 * ```
 */
export function unrecordedSettings(env: RawVars): string[] {
  return givenSettings(env).flatMap(({ name, line }) => line === undefined ? [name] : []);
}

/** The variables the environment gives that a first-run `.env` records, each with its line. */
function givenSettings(env: RawVars): { name: string; line: string | undefined }[] {
  return VARIABLES.filter((v) => v.firstRun !== "never" && nonEmpty(env[v.name]) !== undefined)
    .map(({ name }) => {
      const value = nonEmpty(env[name])!;
      return { name, line: hasControlCharacter(value) ? undefined : envLine(name, value) };
    });
}

/**
 * `NAME=value` as `.env` must hold it for Deno's dotenv parser (`node:util` `parseEnv`, which
 * `loadConfig` uses) to read back exactly `value`: bare when plain, else in the first of
 * `'`, `"` and a backtick that does. That parser has no escapes, and what ends a quoted value
 * (a quote, a `#`, a `\n` in double quotes) is its own business, so each candidate is checked
 * with the parser itself, between two other lines. `undefined` when none reads back exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envLine } from "./env_file.ts";
 * assert.equal(envLine("PORT", "10000"), "PORT=10000");
 * assert.equal(envLine("METRICS_TOKEN", "a #b"), "METRICS_TOKEN='a #b'");
 * assert.equal(envLine("METRICS_TOKEN", "a' #b"), `METRICS_TOKEN="a' #b"`);
 * ```
 */
export function envLine(name: string, value: string): string | undefined {
  const candidates = [
    ...(/^[A-Za-z0-9_.:\/@%+,=-]+$/.test(value) ? [value] : []),
    ...["'", '"', "`"].map((quote) => `${quote}${value}${quote}`),
  ];
  for (const written of candidates) {
    const line = `${name}=${written}`;
    const read = parseEnv(`ENV_LINE_BEFORE=1\n${line}\nENV_LINE_AFTER=1\n`);
    if (read[name] === value && read.ENV_LINE_BEFORE === "1" && read.ENV_LINE_AFTER === "1") {
      return line;
    }
  }
  return undefined;
}
