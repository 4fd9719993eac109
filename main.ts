/**
 * The auth server's entry point: configuration -> runtime (KV, keys, hasher) -> HTTP server.
 *
 * @module
 */
import "./src/require_deno_version.ts"; // first: one clear line on a Deno older than 2.9
import { loadConfigOrExit } from "./src/load_config.ts";
import { openRuntime } from "./src/runtime.ts";
import { serve } from "./src/server.ts";

if (import.meta.main) {
  const config = await loadConfigOrExit();
  const runtime = await openRuntime(config);
  Deno.exit(await serve(runtime));
}
