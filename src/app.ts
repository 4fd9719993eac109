/**
 * `createApp(services, config, logger)`: the HTTP app only (middleware, routes, the one error
 * mapper) over services built by `services.ts`. No I/O at import time.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import denoJson from "../deno.json" with { type: "json" };
import type { AppContext, AppEnv } from "./app_types.ts";
import type { Config } from "./config.ts";
import { ApiError, type ErrorCode, toApiError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { requestMetrics } from "./middleware/request_metrics.ts";
import { securityHeaders } from "./middleware/security_headers.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { limitBody, requireJson } from "./middleware/json_body.ts";
import { requestLog } from "./middleware/request_log.ts";
import { requireAuth } from "./middleware/require_auth.ts";
import { adminRoutes } from "./routes/admin.ts";
import { healthRoutes } from "./routes/health.ts";
import { loginRoutes } from "./routes/login.ts";
import { refreshRoutes } from "./routes/refresh.ts";
import { meAndLogoutRoutes } from "./routes/me_logout.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { wellKnownRoutes } from "./routes/well_known.ts";
import { oauthErrorResponse } from "./oauth/oauth_error.ts";
import { adminClientRoutes } from "./routes/admin_clients.ts";
import { oauthRoutes } from "./routes/oauth.ts";
import type { Services } from "./services.ts";
import { ADMIN_ROLE } from "./users/user_rules.ts";

/** The API version in `/openapi.json`: the package version in `deno.json`. */
export const API_VERSION: string = denoJson.version;

/** Builds the HTTP app over `services`. */
export function createApp(services: Services, config: Config, logger: Logger) {
  const authOptions = {
    issuer: config.issuer,
    audience: config.audience,
    keyRing: services.keys,
    now: services.now,
    cache: true,
    isActive: services.gate.isActive,
  };
  const ctx: AppContext = {
    config,
    services,
    logger,
    requireUser: requireAuth(authOptions),
    requireAdmin: requireAuth({ ...authOptions, roles: [ADMIN_ROLE] }),
  };

  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        throw new ApiError("validation_failed", issue?.message ?? "request is invalid");
      }
    },
  });

  app.use(requestLog(logger, config.trustProxy));
  app.use(requestMetrics(services.metrics));
  app.use(securityHeaders({ issuer: config.issuer }));
  if (config.corsOrigins.length > 0) {
    app.use(cors({
      origin: [...config.corsOrigins],
      allowMethods: ["GET", "POST", "PATCH", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type"],
      maxAge: 600,
    }));
  }
  app.use("/logout", limitBody());
  for (const path of ["/login", "/refresh", "/admin/*", "/me/password"]) {
    app.use(path, limitBody());
    app.on(["POST", "PATCH", "PUT"], path, requireJson());
  }
  app.use("/oauth/*", limitBody());

  loginRoutes(app, ctx);
  refreshRoutes(app, ctx);
  meAndLogoutRoutes(app, ctx);
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

  app.notFound((c) => answerError(c, new ApiError("not_found", "not found"), logger));
  app.onError((err, c) => {
    // The OAuth endpoints answer in RFC 6749 section 5.2's shape, whatever failed.
    if (c.req.path.startsWith("/oauth/")) return oauthErrorResponse(err, c, logger);
    return answerError(c, err, logger);
  });
  return app;
}

/**
 * The one error mapper: an `ApiError`, a store failure (503 `unavailable`), contention (503
 * `busy`) or a Hono `HTTPException` answers with its code; anything else is logged and answers
 * 500. The 503 of a draining server is answered before Hono sees the request (`server.ts`), from
 * an `ApiError` through `apiErrorResponse`.
 */
function answerError(c: Context<AppEnv>, err: Error, logger: Logger): Response {
  const known = toApiError(err) ?? fromHttpException(err);
  if (known) {
    for (const [name, value] of Object.entries(known.headers)) c.header(name, value);
    return c.json(known.toJSON(), known.status);
  }
  logger.error("unhandled_error", {
    path: c.req.path,
    error: err.name,
    message: err.message.slice(0, 500),
  });
  return c.json(new ApiError("internal_error", "internal error").toJSON(), 500);
}

/** A Hono 4xx (malformed JSON, body too large, ...) as an `ApiError`. */
function fromHttpException(err: Error): ApiError | undefined {
  if (!(err instanceof HTTPException) || err.status >= 500) return undefined;
  const code = HTTP_EXCEPTION_CODES[err.status] ?? "bad_request";
  const message = code === "invalid_json" ? "request body is not valid JSON" : err.message || code;
  return new ApiError(code, message);
}

const HTTP_EXCEPTION_CODES: Readonly<Record<number, ErrorCode>> = {
  400: "invalid_json",
  401: "invalid_token",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};
