/**
 * What every store-backed CLI command does around its work: load the configuration, open the
 * runtime, compose the services (the same as the server's), map a failure to one line and an
 * exit code, and close the store.
 *
 * @module
 */
import { printConfigNotes } from "../config/load_or_exit.ts";
import { loadCliConfigOrExit } from "./cli_config.ts";
import { openRuntime } from "../runtime.ts";
import { createServices, type Services } from "../services.ts";
import { describeFailure, EXIT } from "./output.ts";

/** Runs `work` on the services; resolves with the exit code. Logs go to stderr. */
export async function withServices(work: (services: Services) => Promise<void>): Promise<number> {
  const config = await loadCliConfigOrExit();
  const runtime = await openRuntime(config, console.error);
  printConfigNotes();
  try {
    await work(createServices(runtime));
    return EXIT.ok;
  } catch (err) {
    const { code, message } = describeFailure(err);
    console.error(`Error: ${message}`);
    return code;
  } finally {
    await runtime.close();
  }
}
