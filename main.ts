/**
 * The auth server's entry point: configuration -> runtime (store, keys, hasher) -> HTTP server.
 *
 * @module
 */
import "./src/require_deno_version.ts"; // first: one clear line on a Deno older than 2.9
import { loadConfigOrExit } from "./src/config/load_or_exit.ts";
import { openRuntime } from "./src/runtime.ts";
import { serve } from "./src/server.ts";

if (import.meta.main) {
  const config = await loadConfigOrExit();
  const runtime = await openRuntime(config);
  // Which engine holds the state (never a password): Deno KV's file or PostgreSQL's host.
  runtime.logger.info("store_opened", { engine: runtime.engine });
  for (const message of runtime.storeWarnings) runtime.logger.warn("store_warning", { message });
  Deno.exit(await serve(runtime));
}
