/**
 * The configuration as the server and the CLIs load it: `.env` in the working directory plus
 * the environment, one line on first-run creation, one line per setting the environment
 * overrides (the server and the CLI must not disagree silently), one line and exit code 1 on a
 * bad value.
 *
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { loadConfig } from "./load_config.ts";
import { overrideNote, unknownNameWarning, unrecordedNote } from "./notes.ts";
import type { Config } from "./parse_config.ts";

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
