/**
 * Types shared by the app and its routes: the Hono environment and what routes receive.
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Config } from "./config.ts";
import type { KeyRing } from "./crypto/keys.ts";
import type { PasswordHasher } from "./crypto/passwords.ts";
import type { MemoryRateLimiter } from "./limits/memory_rate_limiter.ts";
import type { RateLimiter } from "./limits/rate_limiter.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { KvStore } from "./store/kv_store.ts";
import type { SessionGate } from "./tokens/session_gate.ts";
import type { SessionService } from "./tokens/sessions.ts";
import type { UserService } from "./users/user_service.ts";
import type { LoginService } from "./users/login_service.ts";
import type { ClientService } from "./oauth/client_service.ts";

/** Hono environment: `Deno.serve` passes the connection info as the bindings. */
export interface AppEnv {
  Bindings: { remoteAddr?: Deno.Addr };
}

/** The router every route module registers on. */
export type AppRouter = OpenAPIHono<AppEnv>;

/** The services the routes call. */
export interface Services {
  readonly store: KvStore;
  readonly hasher: PasswordHasher;
  readonly users: UserService;
  readonly sessions: SessionService;
  /** Shared by every instance (KV): the login limits. */
  readonly limiter: RateLimiter;
  /** This instance's own (memory): the refresh limit. */
  readonly localLimiter: MemoryRateLimiter;
  readonly gate: SessionGate;
  readonly metrics: Metrics;
  /** Password sign-in: `POST /login` and the OAuth password grant. */
  readonly login: LoginService;
  /** OAuth clients (service accounts). */
  readonly clients: ClientService;
}

/** What each route module receives. */
export interface AppContext {
  readonly config: Config;
  readonly services: Services;
  readonly keys: () => KeyRing;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** `requireAuth` for this server: any role, and the session must not be revoked. */
  readonly requireUser: MiddlewareHandler;
  /** The same, role `admin` only. */
  readonly requireAdmin: MiddlewareHandler;
}
