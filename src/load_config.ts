/**
 * The configuration as the server and the CLIs load it: `.env` in the working directory plus
 * the environment, one line on first-run creation, one line and exit code 1 on a bad value.
 *
 * @module
 */
import { type Config, ConfigError, loadConfig } from "./config.ts";

/**
 * Loads the configuration from `.env` in the working directory and the environment, printing
 * one line when it wrote a first-run `.env`. On a bad value prints one line and exits 1.
 */
export async function loadConfigOrExit(): Promise<Config> {
  try {
    const { config } = await loadConfig({
      env: Deno.env.toObject(),
      envFile: ".env",
      onCreatedEnvFile: () =>
        console.error(
          "Wrote .env (mode 0600) with a new random SECRET_KEY and the default settings",
        ),
    });
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}
