/**
 * `createApp(services, config, logger)`: the HTTP app only (middleware, routes, the one error
 * mapper) over services built by `services.ts`. No I/O at import time.
 *
 * @module
 */
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { Context, ErrorHandler } from "hono";
import denoJson from "../deno.json" with { type: "json" };
import type { AppContext, AppEnv } from "./app_types.ts";
import { ApiRouter, type Definition, type ResponseConfig } from "./http/api_router.ts";
import { isForbiddenMethod, methodNotAllowed } from "./http/forbidden_methods.ts";
import type { Config } from "./config/parse_config.ts";
import { issuerUrl } from "./config/issuer.ts";
import { ApiError, type ErrorCode, toApiError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { limitBody, MAX_BODY_BYTES, requireJson } from "./middleware/json_body.ts";
import { createRequestChain } from "./middleware/request_chain.ts";
import { createMeAnswers } from "./http/me_fast_path.ts";
import { requireAuth } from "./middleware/require_auth.ts";
import { BROWSER_PAGE_PATHS, requireIssuerUrl } from "./middleware/require_issuer_url.ts";
import { healthRoutes } from "./routes/health.ts";
import { mountLazyRoutes } from "./routes/lazy_routes.ts";
import { ROUTE_GROUPS } from "./routes/route_table.ts";
import { oauthErrorResponse } from "./routes/oauth/oauth_error.ts";
import type { Services } from "./services.ts";
import { storeFailure } from "./store_failure.ts";
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
    requireAdmin: requireAuth({ ...authOptions, roles: [ADMIN_ROLE], mfa: config.adminRequireMfa }),
  };

  const app = new ApiRouter<AppEnv>();

  // Security headers, metrics and the request log: one pass per request.
  const { trustProxy, issuer } = config;
  const chain = createRequestChain({ logger, trustProxy, metrics: services.metrics, issuer });
  app.use(chain.middleware);
  // CONNECT, TRACE and TRACK: no route takes them, and no Request can be built with them (the body
  // limit rebuilds one), so they stop here, logged, with 405.
  app.use(async function refuseForbiddenMethods(c, next) {
    if (isForbiddenMethod(c.req.method)) throw methodNotAllowed(c.req.method);
    await next();
  });
  // A repeated GET /me answered without Hono (server.ts asks it first); not under CORS, whose
  // headers depend on the request's Origin.
  const meAnswers = createMeAnswers({
    keys: services.keys,
    now: services.now,
    gate: services.gate,
    chain,
    trustProxy,
    fastPath: config.corsOrigins.length === 0,
  });
  if (config.corsOrigins.length > 0) {
    app.use(cors({
      origin: [...config.corsOrigins],
      allowMethods: ["GET", "POST", "PATCH", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type"],
      maxAge: 600,
    }));
  }
  // Under a non-URL issuer the browser pages answer a JSON 404, as discovery does.
  const issuerUrlRequired = requireIssuerUrl(config.issuer);
  if (issuerUrlRequired) {
    for (const path of BROWSER_PAGE_PATHS) app.use(path, issuerUrlRequired);
  }
  app.use("/logout", limitBody());
  for (const path of JSON_BODY_PATHS) {
    app.use(path, limitBody());
    app.on(["POST", "PATCH", "PUT"], path, requireJson());
  }
  app.use("/oauth/*", limitBody());
  // The second factor's routes: 16 KiB; each route with a body requires JSON by its schema.
  for (const path of ["/login/mfa", "/me/mfa/*", "/me/passkeys/*", "/passkeys/*"]) {
    app.use(path, limitBody());
  }

  const onError: ErrorHandler<AppEnv> = (err, c) => {
    // Every 503 the store caused says why in the log (one line per cause per second).
    const storeFailed = storeFailure(err);
    if (storeFailed) services.events.emit(storeFailed);
    // The OAuth endpoints answer in RFC 6749 section 5.2's shape, whatever failed.
    if (c.req.path.startsWith("/oauth/")) return oauthErrorResponse(err, c, logger);
    return answerError(c, err, logger);
  };
  // The probes without zod; every other route through its group, loaded on first use, or once
  // the first answer is out for the groups a login needs (`lazy.load`, called by server.ts).
  const lazy = mountLazyRoutes(app, ROUTE_GROUPS, { ctx, meAnswers, onError });
  healthRoutes(app, ctx, lazy.load);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "metricsToken", {
    type: "http",
    scheme: "bearer",
    description: "METRICS_TOKEN, when the server has one",
  });
  // Built on its first request, with the generator, zod and every group loaded then.
  let document: Promise<unknown> | undefined;
  app.get("/openapi.json", async (c) => {
    document ??= Promise.all([
      import("./http/openapi_document.ts"),
      import("./routes/schemas.ts"),
      lazy.openApiDefinitions(),
    ]).then(([{ openApiDocument }, { errorResponse }, routes]) => {
      const definitions = [...routes, ...app.openAPIRegistry.definitions];
      nameOperations(definitions, errorResponse);
      return openApiDocument(definitions, {
        openapi: "3.1.0",
        // A non-URL issuer (a StringOrURI name) is no server URL.
        ...(issuerUrl(config.issuer)
          ? { servers: [{ url: config.issuer, description: "This server (ISSUER)" }] }
          : {}),
        info: {
          title: "Auth server",
          version: API_VERSION,
          description: "Credentials in, short-lived signed JWTs and rotating refresh tokens out. " +
            'Every error is JSON {"error", "code"}.',
        },
      });
    });
    // A build that failed is tried again by the next request.
    document.catch(() => document = undefined);
    return c.json(await document);
  });

  app.notFound((c) => answerError(c, new ApiError("not_found", "not found"), logger));
  app.onError(onError);
  /** `GET /me` repeated, answered without Hono, or `undefined`: then ask `fetch`. */
  const answerMeAgain = meAnswers.answer;
  /** Loads the routes a login needs (server.ts: once the first answer is out). */
  const warmUp = lazy.load;
  return Object.assign(app, { answerMeAgain, warmUp });
}

/** The paths whose POST, PATCH and PUT take a JSON body (16 KiB at most) and only JSON. */
const JSON_BODY_PATHS = ["/login", "/refresh", "/admin/*", "/me/password"] as const;
const JSON_BODY_METHODS: readonly string[] = ["post", "patch", "put"];

/**
 * Gives every documented operation an `operationId` (from its method and path, e.g.
 * `getAdminUsersById`) and, when its route declares no `security`, `security: []`: it is public.
 * Adds the answers of the body guards this file installs (413, and 415 for a JSON body), so the
 * document lists every status a route can answer. `errorResponse` (routes/schemas.ts) is passed in:
 * it brings zod, which this module does not load.
 */
function nameOperations(
  definitions: readonly Definition[],
  errorResponse: (description: string) => ResponseConfig,
): void {
  for (const definition of definitions) {
    if (definition.type !== "route") continue;
    const route = definition.route;
    route.operationId ??= operationId(route.method, route.path);
    route.security ??= [];
    const json = JSON_BODY_METHODS.includes(route.method) &&
      JSON_BODY_PATHS.some((path) =>
        path.endsWith("/*") ? route.path.startsWith(path.slice(0, -1)) : route.path === path
      );
    // `/logout` takes an optional body, the OAuth endpoints a form, and `POST /userinfo` a body it
    // ignores (`routes/userinfo.ts`): limited, any type.
    const form = route.path.startsWith("/oauth/") || route.path === "/logout" ||
      (route.path === "/userinfo" && route.method === "post");
    if (!json && !form) continue;
    // The OAuth endpoints answer in their own error shape: the one their 400 documents.
    const shape = route.responses[400];
    route.responses[413] ??= shape && "content" in shape && route.path.startsWith("/oauth/")
      ? { ...shape, description: `The body is over ${MAX_BODY_BYTES} bytes` }
      : errorResponse(`The body is over ${MAX_BODY_BYTES} bytes (\`payload_too_large\`)`);
    if (json) {
      route.responses[415] ??= errorResponse(
        "Content-Type is not application/json (`unsupported_media_type`)",
      );
    }
  }
}

/**
 * An operation id from a method and an OpenAPI path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { operationId } from "./app.ts";
 * assert.equal(operationId("get", "/admin/users/{id}"), "getAdminUsersById");
 * assert.equal(operationId("get", "/.well-known/jwks.json"), "getWellKnownJwksJson");
 * ```
 */
export function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9{}]+/).filter((w) => w !== "").map((word) =>
    word.startsWith("{") ? `By${capitalize(word.slice(1, -1))}` : capitalize(word)
  );
  return method.toLowerCase() + words.join("");
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
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
