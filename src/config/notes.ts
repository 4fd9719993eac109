/**
 * The lines the server and the CLIs print about the configuration after it loaded: a setting
 * the environment overrides, one a first-run `.env` could not record, a name no setting has.
 * A secret's value ({@link isSecret}) is never in them.
 *
 * @module
 */
import { closestName } from "../closest_name.ts";
import type { Override } from "./load_config.ts";
import { CONFIG_VARIABLES, isSecret } from "./variables.ts";

/**
 * The line that says an environment variable overrides `.env` (secrets not shown).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { overrideNote } from "./notes.ts";
 * assert.match(overrideNote({ name: "JWT_ALG", env: "EdDSA", file: "HS256" }), /EdDSA.*HS256/);
 * assert.doesNotMatch(overrideNote({ name: "SECRET_KEY", env: "a", file: "b" }), /=a|\(b\)/);
 * ```
 */
export function overrideNote({ name, env, file }: Override): string {
  const values = isSecret(name) ? "" : `=${env} (.env: ${file})`;
  return `Note: ${name}${values} from the environment overrides .env; a server or CLI command ` +
    `started without it uses .env's value: put it in .env to keep them in step`;
}

/**
 * The line that says a first-run `.env` left a setting of the environment out (never its value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unrecordedNote } from "./notes.ts";
 * assert.match(unrecordedNote("METRICS_TOKEN"), /^Note: METRICS_TOKEN .*not recorded/);
 * ```
 */
export function unrecordedNote(name: string): string {
  return `Note: ${name} from the environment is not recorded in .env (no quoting makes .env read ` +
    `that value back exactly); a server or CLI command started without it uses the default: ` +
    `set it in .env by hand`;
}

/**
 * The line that says `.env` sets a name no setting reads (a typo, or the wrong case), naming the
 * closest setting of the table: such a line would otherwise change nothing and say nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unknownNameWarning } from "./notes.ts";
 * assert.equal(
 *   unknownNameWarning("TOKEN_TLL"),
 *   "Warning: .env sets TOKEN_TLL, which is not a setting and changes nothing; did you mean TOKEN_TTL?",
 * );
 * assert.match(unknownNameWarning("port"), /names are case-sensitive; did you mean PORT\?$/);
 * ```
 */
export function unknownNameWarning(name: string): string {
  const closest = closestName(name, CONFIG_VARIABLES);
  const what = `Warning: .env sets ${name}, which is not a setting and changes nothing`;
  if (closest.sameButCase) {
    return `${what}: names are case-sensitive; did you mean ${closest.name}?`;
  }
  return closest.likelyTypo
    ? `${what}; did you mean ${closest.name}?`
    : `${what} (the closest setting is ${closest.name}; docs/configuration.md lists them all)`;
}
