/**
 * `createApp(deps)`: builds the services and the Hono app (routes, middleware, the one error
 * handler). No I/O at import time; `main.ts` passes the KV store, keys and clock in.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppContext, AppEnv, Services } from "./app_types.ts";
import type { Config } from "./config.ts";
import type { KeyRing } from "./crypto/keys.ts";
import type { PasswordHasher } from "./crypto/passwords.ts";
import { AuthError, type ErrorCode } from "./errors.ts";
import { createMemoryRateLimiter } from "./limits/memory_rate_limiter.ts";
import { createRateLimiter } from "./limits/rate_limiter.ts";
import type { Logger } from "./logger.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { requestMetrics } from "./middleware/request_metrics.ts";
import { securityHeaders } from "./middleware/security_headers.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { createSessionGate } from "./tokens/session_gate.ts";
import { limitBody, requireJson } from "./middleware/json_body.ts";
import { requestLog } from "./middleware/request_log.ts";
import { requireAuth } from "./middleware/require_auth.ts";
import { adminRoutes } from "./routes/admin.ts";
import { healthRoutes } from "./routes/health.ts";
import { loginRoutes } from "./routes/login.ts";
import { refreshRoutes } from "./routes/refresh.ts";
import { sessionRoutes } from "./routes/session_routes.ts";
import { wellKnownRoutes } from "./routes/well_known.ts";
import type { KvStore } from "./store/kv_store.ts";
import { createAccessTokenSigner } from "./tokens/access_token.ts";
import { createSessionService, type SessionEvent } from "./tokens/sessions.ts";
import { createUserService } from "./users/user_service.ts";
import { createLoginService } from "./users/login_service.ts";
import { createClientService } from "./oauth/client_service.ts";
import { oauthErrorResponse } from "./oauth/oauth_error.ts";
import { oauthRoutes } from "./routes/oauth.ts";
import { adminClientRoutes } from "./routes/admin_clients.ts";

/** The API version in `/openapi.json`; follows `progress.md`. */
export const API_VERSION = "2.4.0";

/** What the app is built from. */
export interface AppDeps {
  readonly config: Config;
  readonly store: KvStore;
  /** The live key ring (replaced on SIGHUP). */
  readonly keys: () => KeyRing;
  readonly hasher: PasswordHasher;
  readonly logger: Logger;
  /** Epoch milliseconds. */
  readonly now?: () => number;
}

/** Builds the services the routes and the CLI share. */
export function createServices(deps: AppDeps): Services {
  const now = deps.now ?? Date.now;
  const metrics = createMetrics();
  const gate = createSessionGate({ store: deps.store, now });
  const signAccessToken = createAccessTokenSigner({
    keys: deps.keys,
    issuer: deps.config.issuer,
    audience: deps.config.audience,
    ttl: deps.config.tokenTtl,
  });
  const sessions = createSessionService({
    store: deps.store,
    signAccessToken,
    refreshTtl: deps.config.refreshTtl,
    graceSeconds: deps.config.refreshGraceSeconds,
    now,
    onEvent: (event) => {
      logSessionEvent(deps.logger, event);
      countSessionEvent(metrics, event);
      if (event.type === "session_revoked" || event.type === "refresh_reused") {
        gate.forgetSession(event.sid);
      }
    },
  });
  const users = createUserService({
    store: deps.store,
    hasher: deps.hasher,
    now,
    revokeSessions: (userId, reason) => sessions.revokeAll(userId, reason),
    onChange: (userId) => gate.forgetUser(userId),
  });
  const limiter = createRateLimiter(deps.store, now);
  return {
    store: deps.store,
    hasher: deps.hasher,
    users,
    sessions,
    limiter,
    localLimiter: createMemoryRateLimiter(now),
    gate,
    metrics,
    login: createLoginService({
      config: deps.config,
      hasher: deps.hasher,
      users,
      sessions,
      limiter,
      logger: deps.logger,
      metrics,
    }),
    clients: createClientService({ store: deps.store, now, signAccessToken }),
  };
}

/** Builds the HTTP app. */
export function createApp(deps: AppDeps, services: Services = createServices(deps)) {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  const authOptions = {
    issuer: config.issuer,
    audience: config.audience,
    keyRing: deps.keys,
    now,
    cache: true,
    isActive: services.gate.isActive,
  };
  const ctx: AppContext = {
    config,
    services,
    keys: deps.keys,
    logger,
    metrics: services.metrics,
    now,
    requireUser: requireAuth(authOptions),
    requireAdmin: requireAuth({ ...authOptions, roles: ["admin"] }),
  };

  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        throw new AuthError("validation_failed", issue?.message ?? "request is invalid");
      }
    },
  });

  app.use(requestLog(logger, config.trustProxy));
  app.use(requestMetrics(services.metrics));
  app.use(securityHeaders());
  if (config.corsOrigins.length > 0) {
    app.use(cors({
      origin: [...config.corsOrigins],
      allowMethods: ["GET", "POST", "PATCH", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type"],
      maxAge: 600,
    }));
  }
  for (const path of ["/login", "/refresh", "/admin/*"]) {
    app.use(path, limitBody());
    app.on(["POST", "PATCH", "PUT"], path, requireJson());
  }
  app.use("/oauth/*", limitBody());

  loginRoutes(app, ctx);
  refreshRoutes(app, ctx);
  sessionRoutes(app, ctx);
  wellKnownRoutes(app, ctx);
  healthRoutes(app, ctx);
  metricsRoutes(app, ctx);
  adminRoutes(app, ctx);
  adminClientRoutes(app, ctx);
  oauthRoutes(app, ctx);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Auth server",
      version: API_VERSION,
      description: "Credentials in, short-lived signed JWTs and rotating refresh tokens out. " +
        'Every error is JSON {"error", "code"}.',
    },
  });

  app.notFound((c) => c.json({ error: "not found", code: "not_found" satisfies ErrorCode }, 404));
  app.onError((err, c) => {
    // The OAuth endpoints answer in RFC 6749 section 5.2's shape, whatever failed.
    if (c.req.path.startsWith("/oauth/")) return oauthErrorResponse(err, c, logger);
    if (err instanceof AuthError) {
      for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
      return c.json(err.toJSON(), err.status);
    }
    if (err instanceof HTTPException && err.status < 500) {
      const code = HTTP_EXCEPTION_CODES[err.status] ?? "bad_request";
      const message = code === "invalid_json"
        ? "request body is not valid JSON"
        : err.message || code;
      return c.json({ error: message, code }, err.status as ContentfulStatusCode);
    }
    logger.error("unhandled_error", {
      path: c.req.path,
      error: err instanceof Error ? err.name : typeof err,
      message: err instanceof Error ? err.message.slice(0, 500) : undefined,
    });
    return c.json({ error: "internal error", code: "internal_error" satisfies ErrorCode }, 500);
  });
  return app;
}

const HTTP_EXCEPTION_CODES: Readonly<Record<number, ErrorCode>> = {
  400: "invalid_json",
  401: "invalid_token",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

function countSessionEvent(metrics: Metrics, event: SessionEvent): void {
  if (event.type === "refreshed") {
    metrics.refreshes.inc({ outcome: event.grace ? "grace" : "success" });
  }
  if (event.type === "refresh_reused") {
    metrics.reuseDetections.inc();
    metrics.refreshes.inc({ outcome: "reused" });
    metrics.revocations.inc({ reason: "refresh reuse" });
  }
  if (event.type === "session_revoked") metrics.revocations.inc({ reason: event.reason });
}

function logSessionEvent(logger: Logger, event: SessionEvent): void {
  const { type, ...fields } = event;
  const level = type === "refresh_reused" || type === "session_revoked" ? "warn" : "info";
  logger[level](type, fields);
}
