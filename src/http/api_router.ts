/**
 * The route-definition layer without the OpenAPI generator on the start path. A route is defined
 * as before (`createRoute({ method, path, request, responses, ... })` and `app.openapi(route,
 * handler)`): its request schemas (plain zod, named with `.meta()`) validate the request through
 * Hono's core `validator`, and the route object itself is kept in `app.openAPIRegistry`, from
 * which `openapi_document.ts` builds `/openapi.json` on its first request (a dynamic `import()`).
 * The same schema objects validate and document, so the two cannot drift.
 *
 * What `@hono/zod-openapi` did per route, kept the same (its 1.x `openapi` method): validators
 * in the order query, path, body; a route with a JSON body refuses another declared
 * `Content-Type`, or a body without one, with 415; an optional JSON body is only read when it is
 * JSON. A refused request throws `validation_failed` with {@link validationMessage}'s words.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context, Env, Handler, MiddlewareHandler, TypedResponse } from "hono";
import type { StatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import { HTTPException } from "hono/http-exception";
import { validator } from "hono/validator";
import type { z } from "zod";
import { ApiError } from "../errors.ts";
import { readBytes } from "./read_body.ts";

type Method = "get" | "post" | "put" | "patch" | "delete";

/** A schema in a request or a response (any zod schema). */
type Schema = z.ZodType;

/** One media type of a body: its schema (and what OpenAPI allows beside it). */
export interface MediaType {
  readonly schema?: Schema | { readonly type: string };
  readonly [key: string]: unknown;
}

/** An answer in a route's `responses` (OpenAPI's Response Object, schemas as zod). */
export interface ResponseConfig {
  readonly description: string;
  readonly content?: Readonly<Record<string, MediaType>>;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** A route: OpenAPI's Operation Object with zod schemas, plus its method, path and middleware. */
export interface RouteConfig {
  readonly method: Method;
  /** The OpenAPI path (`/admin/users/{id}`); Hono serves it as `/admin/users/:id`. */
  readonly path: string;
  readonly summary?: string;
  readonly description?: string;
  operationId?: string;
  security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly middleware?: MiddlewareHandler | readonly MiddlewareHandler[];
  readonly request?: {
    readonly query?: Schema;
    readonly params?: Schema;
    readonly body?: {
      readonly content: Readonly<Record<string, MediaType>>;
      readonly required?: boolean;
    };
  };
  responses: Record<number, ResponseConfig>;
}

/** A route as written: kept as given (its literal types drive `c.req.valid`). */
export function createRoute<const R extends RouteConfig>(route: R): R {
  return route;
}

/** The entries `/openapi.json` is built from, in the shape `@asteasolutions/zod-to-openapi` reads. */
export type Definition =
  | { readonly type: "route"; readonly route: RouteConfig }
  | {
    readonly type: "component";
    readonly componentType: string;
    readonly name: string;
    readonly component: unknown;
  };

/** What the document is built from: every route served by `openapi`, and those only documented. */
export class OpenApiRegistry {
  readonly definitions: Definition[] = [];
  /** Documents a route served elsewhere (by a plain `app.get`/`app.post`). */
  registerPath(route: Omit<RouteConfig, "middleware">): void {
    this.definitions.push({ type: "route", route });
  }
  registerComponent(componentType: string, name: string, component: unknown): void {
    this.definitions.push({ type: "component", componentType, name, component });
  }
}

type Output<S> = S extends Schema ? z.output<S> : never;
type Nothing = Record<never, never>;
type BodySchema<R, M extends string> = R extends
  { request: { body: { content: { [K in M]: { schema: infer S } } } } } ? S : never;

/** What a route's validators hand the handler (`c.req.valid(...)`). */
export type RouteInput<R extends RouteConfig> = {
  out:
    & (R extends { request: { query: infer Q } } ? { query: Output<Q> } : unknown)
    & (R extends { request: { params: infer P } } ? { param: Output<P> } : unknown)
    & ([BodySchema<R, "application/json">] extends [never] ? Nothing
      : { json: Output<BodySchema<R, "application/json">> });
};

/** A JSON answer of `schema` with status `Code`, as `c.json(value, Code)` types it. */
type JsonAnswer<Content, Code extends StatusCode> = Content extends
  { "application/json": { schema: infer S extends Schema } }
  ? TypedResponse<JSONParsed<z.infer<S>>, Code, "json">
  : Response;

/**
 * What a route's handler may return: for each status its `responses` document, the answer its
 * schema types (`c.json(...)` of that shape and status), a body-less answer where it documents
 * no content, and a plain `Response` where the content is not JSON (pages, scripts, metrics).
 * Errors are thrown, not returned (`ApiError`), so only the statuses a handler returns count.
 */
export type RouteResponse<R extends RouteConfig> = {
  [S in keyof R["responses"] & StatusCode]: R["responses"][S] extends { content: infer C }
    ? JsonAnswer<C, S>
    : TypedResponse<unknown, S, string>;
}[keyof R["responses"] & StatusCode];

/** The router every route module registers on: Hono, plus `openapi` and the registry. */
export class ApiRouter<E extends Env> extends Hono<E> {
  readonly openAPIRegistry: OpenApiRegistry = new OpenApiRegistry();

  /** Serves `route` with `handler` behind its middleware and its request's validators. */
  openapi<const R extends RouteConfig>(
    route: R,
    handler: Handler<E, string, RouteInput<R>, RouteResponse<R> | Promise<RouteResponse<R>>>,
  ): this {
    const { middleware, ...documented } = route;
    this.openAPIRegistry.registerPath(documented);
    const before = middleware === undefined
      ? []
      : Array.isArray(middleware)
      ? [...middleware as readonly MiddlewareHandler[]]
      : [middleware as MiddlewareHandler];
    const path = route.path.replaceAll(/\/{(.+?)}/g, "/:$1");
    this.on(
      route.method.toUpperCase(),
      [path],
      ...before,
      ...requestValidators(route),
      handler as unknown as MiddlewareHandler,
    );
    return this;
  }
}

/** The validators of a route's request, in `@hono/zod-openapi`'s order. */
export function requestValidators(route: RouteConfig): MiddlewareHandler[] {
  const request = route.request;
  const validators: MiddlewareHandler[] = [];
  if (request?.query) validators.push(validator("query", check(request.query)));
  if (request?.params) validators.push(validator("param", check(request.params)));
  const content = request?.body?.content;
  if (!content) return validators;
  const declared = Object.keys(content);
  const validated = declared.some((type) =>
    isZod(content[type]?.schema) && (isJsonMediaType(type) || isFormMediaType(type))
  );
  if (validated) validators.push(mediaTypeGate(declared));
  const json = declared.find(isJsonMediaType);
  const schema = json === undefined ? undefined : content[json]?.schema;
  if (schema === undefined || !isZod(schema)) return validators;
  const validateJson = validator("json", check(schema));
  if (request?.body?.required) {
    validators.push(validateJson);
  } else {
    // An optional JSON body: read when the request says it is JSON, else `{}`.
    validators.push(async (c, next) => {
      const type = c.req.header("Content-Type");
      if (type !== undefined && isJsonMediaType(type)) return await validateJson(c, next);
      c.req.addValidatedData("json", {});
      await next();
    });
  }
  return validators;
}

/** A validation function: the parsed value, or `validation_failed` with the schema's words. */
function check(schema: Schema) {
  return async (value: unknown) => {
    const result = await schema.safeParseAsync(value);
    if (!result.success) {
      throw new ApiError("validation_failed", validationMessage(result.error.issues[0]));
    }
    return result.data as never;
  };
}

/** 415 for a `Content-Type` the route does not declare, or for a body sent without one. */
function mediaTypeGate(declared: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const type = c.req.header("Content-Type");
    const refused = type
      ? !declared.some((mediaType) => matchesMediaType(type, mediaType))
      : await hasBody(c);
    if (refused) throw new HTTPException(415, { message: "Unsupported Media Type" });
    await next();
  };
}

const JSON_REQUEST = /^application\/([a-z-\.]+\+)?json(;\s*[a-zA-Z0-9\-]+\=([^;]+))*$/i;
const MULTIPART_REQUEST = /^multipart\/form-data(;\s?boundary=[a-zA-Z0-9'"()+_,\-./:=?]+)?$/i;
const FORM_REQUEST = /^application\/x-www-form-urlencoded(;\s*[a-zA-Z0-9\-]+\=([^;]+))*$/i;

/** Whether a request's `Content-Type` is one a route declares (`@hono/zod-openapi`'s rules). */
function matchesMediaType(contentType: string, mediaType: string): boolean {
  if (mediaType === "*/*") return true;
  if (isJsonMediaType(mediaType)) return JSON_REQUEST.test(contentType);
  if (isFormMediaType(mediaType)) {
    return MULTIPART_REQUEST.test(contentType) || FORM_REQUEST.test(contentType);
  }
  const essence = contentType.split(";")[0]!.trim().toLowerCase();
  if (mediaType.endsWith("/*")) return essence.startsWith(mediaType.slice(0, -1).toLowerCase());
  return essence === mediaType.toLowerCase();
}

function isJsonMediaType(type: string): boolean {
  return /^application\/([a-z-\.]+\+)?json/i.test(type);
}

function isFormMediaType(type: string): boolean {
  const lower = type.toLowerCase();
  return lower.startsWith("multipart/form-data") ||
    lower.startsWith("application/x-www-form-urlencoded");
}

function isZod(schema: unknown): schema is Schema {
  return typeof (schema as Schema | undefined)?.safeParseAsync === "function";
}

/**
 * Whether a request without `Content-Type` carries a non-empty body: by its `Content-Length`, or,
 * for a body sent without one (chunked), by reading it through Hono, which keeps it for a later
 * read. Never through `Request.clone()`: a clone copies the request's `signal`, and Deno then
 * prints its "request.signal aborts on successful responses" warning.
 */
async function hasBody(c: Context): Promise<boolean> {
  const raw = c.req.raw;
  if (raw.body === null) return false;
  const length = raw.headers.get("content-length");
  if (length !== null && !raw.headers.has("transfer-encoding")) return Number(length) > 0;
  return (await readBytes(c)).byteLength > 0;
}

/**
 * The message of a refused request: the schema's own words. A check that has none would show the
 * validator's text ("Invalid input: ...", "Too small: ..."); that is replaced by the field's name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validationMessage } from "./api_router.ts";
 * assert.equal(validationMessage({ message: "user_id is required", path: ["user_id"] }), "user_id is required");
 * assert.equal(validationMessage({ message: "Too small: expected array", path: ["scopes"] }), "scopes is invalid");
 * ```
 */
export function validationMessage(
  issue: { readonly message: string; readonly path: readonly PropertyKey[] } | undefined,
): string {
  if (issue === undefined) return "request is invalid";
  if (!/^(Invalid|Too (big|small)|Unrecognized|Expected)\b/.test(issue.message)) {
    return issue.message;
  }
  const field = issue.path.filter((part) => typeof part !== "symbol").join(".");
  return field ? `${field} is invalid` : "request is invalid";
}
