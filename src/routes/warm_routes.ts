/**
 * The route groups a login needs, in one module: `route_table.ts` imports them through it, so
 * that they cost one dynamic import (Deno prepares each `import()` of a new module graph apart:
 * six of them took about 15 ms more than one).
 *
 * @module
 */
export { loginRoutes } from "./login.ts";
export { refreshRoutes } from "./refresh.ts";
export { meAndLogoutRoutes } from "./me_logout.ts";
export { sessionRoutes } from "./sessions.ts";
export { wellKnownRoutes } from "./well_known.ts";
export { metricsRoutes } from "./metrics.ts";
