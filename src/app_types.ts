/**
 * Types shared by the app and its routes: the Hono environment and what routes receive.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Config } from "./config/parse_config.ts";
import type { ApiRouter } from "./http/api_router.ts";
import type { Logger } from "./logger.ts";
// The `auth` and client-address variables routes read with `c.get` (Hono's ContextVariableMap);
// named here so a route module type-checks alone, as `deno task mutate` checks a mutated file.
import type {} from "./middleware/require_auth.ts";
import type {} from "./client_ip.ts";
import type { Services } from "./services.ts";

/** Hono environment: `Deno.serve` passes the connection info as the bindings. */
export interface AppEnv {
  Bindings: { remoteAddr?: Deno.Addr };
}

/** The router every route module registers on. */
export type AppRouter = ApiRouter<AppEnv>;

/** What each route module receives. */
export interface AppContext {
  readonly config: Config;
  readonly services: Services;
  readonly logger: Logger;
  /** `requireAuth` for this server: any role, and the session must not be revoked. */
  readonly requireUser: MiddlewareHandler;
  /** The same, role `admin` only. */
  readonly requireAdmin: MiddlewareHandler;
}
