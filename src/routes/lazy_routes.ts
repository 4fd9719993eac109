/**
 * Route groups mounted without loading them: each route of a group's table gets a stand-in on the
 * app at the same method and path (so routing, `405`/`404`, the metrics' route label and the order
 * of middleware are what they were), and the group's module (with zod and its schemas) is imported
 * by the first request that reaches one of them, or sooner by {@link LazyRoutes.load}. Start-up
 * compiled and evaluated every group before the port opened (about a third of the CPU time to the
 * first answer); now it loads only what the first requests need.
 *
 * A loaded group registers on a router of its own, whose `routes` are never routed: the app's
 * stand-in for a method and path runs that router's handlers for the same method and path, in
 * order, as Hono's `compose` would have (each handler's error goes to the app's error handler at
 * its own level). The group's definitions are the document's (`openApiDefinitions`).
 *
 * @module
 */
import type { Context, ErrorHandler, MiddlewareHandler, Next } from "hono";
import type { AppContext, AppEnv, AppRouter } from "../app_types.ts";
import type { MeAnswers } from "../http/me_fast_path.ts";
import { ApiRouter, type Definition } from "../http/api_router.ts";
import type { RouteGroup } from "./route_table.ts";

/** What a group's module registers with (`GET /me` also needs the fast path's answers). */
export interface GroupDeps {
  readonly ctx: AppContext;
  readonly meAnswers: MeAnswers;
  /** The app's error handler (`app.onError`'s): a group's errors are answered by it too. */
  readonly onError: ErrorHandler<AppEnv>;
}

/** The mounted groups. */
export interface LazyRoutes {
  /** Loads the groups marked `warm` (the routes a login needs); idempotent. */
  load(): Promise<void>;
  /** Every group's OpenAPI definitions, in the table's order (loads them all). */
  openApiDefinitions(): Promise<Definition[]>;
}

/**
 * Mounts `groups` on `app`: stand-ins now, each group's module on first use. A group whose load
 * fails is tried again by the next request (that request answers 500 through the error handler).
 */
export function mountLazyRoutes(
  app: AppRouter,
  groups: readonly RouteGroup[],
  deps: GroupDeps,
): LazyRoutes {
  const loaded = new Map<RouteGroup, Promise<ApiRouter<AppEnv>>>();
  const load = (group: RouteGroup) => {
    let router = loaded.get(group);
    if (router === undefined) {
      router = group.load().then((register) => {
        const own = new ApiRouter<AppEnv>();
        register(own, deps.ctx, deps.meAnswers);
        return own;
      });
      router.catch(() => loaded.delete(group));
      loaded.set(group, router);
    }
    return router;
  };
  for (const group of groups) {
    for (const [method, path] of group.routes) {
      let handlers: MiddlewareHandler[] | undefined;
      const run = async (c: Context<AppEnv>, next: Next) => {
        handlers ??= (await load(group)).routes
          .filter((route) => route.method === method && route.path === path)
          .map((route) => route.handler as MiddlewareHandler);
        await compose(handlers, deps.onError, c, next);
      };
      // Hono's convention, which `tests/app/openapi_test.ts` reads: a handler takes (c), a
      // middleware (c, next). A stand-in for a method's route ends in its handler: one declared
      // parameter; one for `use` (method ALL) is middleware.
      const stand = method === "ALL"
        ? (c: Context<AppEnv>, next: Next) => run(c, next)
        : (c: Context<AppEnv>, ...rest: Next[]) => run(c, rest[0]!);
      app.on(method, path, stand);
    }
  }
  return {
    async load() {
      await Promise.all(groups.filter((group) => group.warm).map(load));
    },
    async openApiDefinitions() {
      const routers = await Promise.all(groups.map(load));
      return routers.flatMap((router) => router.openAPIRegistry.definitions);
    },
  };
}

/**
 * Runs `handlers` as Hono's `compose` runs a matched route's handlers (hono/dist/compose.js, not
 * exported): a handler's error is answered by the app's error handler at that handler's level, a
 * returned answer is kept unless the context is already finalized, and the last `next` is the
 * app's. The route index is left at the stand-in's: the route path is the same.
 */
async function compose(
  handlers: readonly MiddlewareHandler[],
  onError: ErrorHandler<AppEnv>,
  c: Context<AppEnv>,
  next: Next,
): Promise<void> {
  let index = -1;
  const dispatch = async (i: number): Promise<void> => {
    if (i <= index) throw new Error("next() called multiple times");
    index = i;
    const handler = handlers[i];
    if (handler === undefined) return await next();
    let answer: Response | void;
    let failed = false;
    try {
      answer = await handler(c, () => dispatch(i + 1));
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      c.error = err;
      answer = await onError(err, c);
      failed = true;
    }
    if (answer && (!c.finalized || failed)) c.res = answer;
  };
  await dispatch(0);
}
