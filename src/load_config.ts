/**
 * The configuration as the server and the CLIs load it: `.env` in the working directory plus
 * the environment, one line on first-run creation, one line per setting the environment
 * overrides (the server and the CLI must not disagree silently), one line and exit code 1 on a
 * bad value.
 *
 * @module
 */
import { type Config, CONFIG_VARIABLES, ConfigError, loadConfig, type Override } from "./config.ts";
import { closestName } from "./closest_name.ts";

/**
 * Loads the configuration from `.env` in the working directory and the environment, printing
 * one line when it wrote a first-run `.env` (`onCreatedEnvFile`: the server's line by default)
 * and keeping one note per overridden shared setting
 * (and per setting that `.env` could not record) for {@link printConfigNotes}. On a bad value
 * prints one line and exits 1.
 */
export async function loadConfigOrExit(
  onCreatedEnvFile: () => void = () =>
    console.error("Wrote .env (mode 0600) with a new random SECRET_KEY and the settings in use"),
): Promise<Config> {
  try {
    const { config, overrides, unrecorded, unknownNames } = await loadConfig({
      env: Deno.env.toObject(),
      envFile: ".env",
      onCreatedEnvFile,
    });
    pendingNotes = [
      ...unknownNames.map(unknownNameWarning),
      ...unrecorded.map(unrecordedNote),
      ...overrides.map(overrideNote),
    ];
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}

let pendingNotes: string[] = [];

/**
 * Prints the overridden-setting notes of the last {@link loadConfigOrExit}, once: the server
 * after its listening line, a CLI command once its store is open, so that a start-up failure
 * stays one line.
 */
export function printConfigNotes(): void {
  for (const note of pendingNotes) console.error(note);
  pendingNotes = [];
}

/**
 * The line that says an environment variable overrides `.env` (secrets not shown).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { overrideNote } from "./load_config.ts";
 * assert.match(overrideNote({ name: "JWT_ALG", env: "EdDSA", file: "HS256" }), /EdDSA.*HS256/);
 * assert.doesNotMatch(overrideNote({ name: "SECRET_KEY", env: "a", file: "b" }), /=a|\(b\)/);
 * ```
 */
export function overrideNote({ name, env, file }: Override): string {
  const secret = /SECRET|TOKEN|PASSWORD|DATABASE_URL/.test(name);
  const values = secret ? "" : `=${env} (.env: ${file})`;
  return `Note: ${name}${values} from the environment overrides .env; a server or CLI command ` +
    `started without it uses .env's value: put it in .env to keep them in step`;
}

/**
 * The line that says a first-run `.env` left a setting of the environment out (never its value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unrecordedNote } from "./load_config.ts";
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
 * closest setting: such a line would otherwise change nothing and say nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unknownNameWarning } from "./load_config.ts";
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
