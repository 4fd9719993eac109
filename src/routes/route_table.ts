/**
 * The route groups `app.ts` mounts through `lazy_routes.ts`: each group's module, and its routes
 * as Hono registers them (method and Hono path, in order), known without importing the module.
 * `tests/app/route_table_test.ts` checks each table against what its module registers.
 *
 * @module
 */
import type { AppContext, AppRouter } from "../app_types.ts";
import type { MeAnswers } from "../http/me_fast_path.ts";

/** How a group's module registers its routes. */
export type RegisterGroup = (app: AppRouter, ctx: AppContext, meAnswers: MeAnswers) => void;

/** One group: its routes (method, Hono path) and how to import it. */
export interface RouteGroup {
  readonly name: string;
  /**
   * Loaded once the first answer is out, with the hasher (server.ts): the routes of a login,
   * its tokens' use and their verification (JWKS), and the metrics scrape, all through
   * `warm_routes.ts`. The others load on their first request, which waits for the module (and
   * zod, if no warm group loaded it yet).
   */
  readonly warm: boolean;
  readonly routes: readonly (readonly [method: string, path: string])[];
  readonly load: () => Promise<RegisterGroup>;
}

let warm: Promise<typeof import("./warm_routes.ts")> | undefined;
/** `warm_routes.ts`, imported once: each `import()` call of a module not yet loaded costs its own. */
function warmRoutes() {
  warm ??= import("./warm_routes.ts");
  warm.catch(() => warm = undefined); // a failed load is tried again by the next request
  return warm;
}

/** Every group, in the order the routes were registered (the document lists them so). */
export const ROUTE_GROUPS: readonly RouteGroup[] = [
  {
    name: "login",
    warm: true,
    routes: [["POST", "/login"]],
    load: async () => (await warmRoutes()).loginRoutes,
  },
  {
    name: "mfa",
    warm: false,
    routes: [
      ["POST", "/login/mfa"],
      ["GET", "/me/mfa"],
      ["POST", "/me/mfa/totp"],
      ["POST", "/me/mfa/totp/confirm"],
      ["DELETE", "/me/mfa/totp"],
      ["POST", "/me/mfa/recovery-codes"],
    ],
    load: async () => (await import("./mfa.ts")).mfaRoutes,
  },
  {
    name: "passkeys",
    warm: false,
    routes: [
      ["GET", "/passkeys"],
      ["GET", "/passkeys/page.js"],
      ["GET", "/me/passkeys"],
      ["DELETE", "/me/passkeys/:id"],
      ["POST", "/me/passkeys/registration/options"],
      ["POST", "/me/passkeys/registration"],
      ["POST", "/passkeys/authentication/options"],
      ["POST", "/passkeys/authentication"],
    ],
    load: async () => (await import("./passkeys.ts")).passkeyRoutes,
  },
  {
    name: "refresh",
    warm: true,
    routes: [["POST", "/refresh"]],
    load: async () => (await warmRoutes()).refreshRoutes,
  },
  {
    name: "me and logout",
    warm: true,
    routes: [["GET", "/me"], ["POST", "/logout"]],
    load: async () => (await warmRoutes()).meAndLogoutRoutes,
  },
  {
    name: "sessions",
    warm: true,
    routes: [["GET", "/sessions"], ["DELETE", "/sessions/:sid"], ["POST", "/me/password"]],
    load: async () => (await warmRoutes()).sessionRoutes,
  },
  {
    name: "well-known",
    warm: true,
    routes: [
      ["GET", "/.well-known/jwks.json"],
      ["GET", "/.well-known/oauth-authorization-server"],
      ["GET", "/.well-known/openid-configuration"],
    ],
    load: async () => (await warmRoutes()).wellKnownRoutes,
  },
  {
    // Served by health.ts without zod (the probes come first); only their documentation here.
    name: "health documentation",
    warm: false,
    routes: [],
    load: async () => (await import("./health_docs.ts")).documentHealthRoutes,
  },
  {
    name: "metrics",
    warm: true,
    routes: [["GET", "/metrics"]],
    load: async () => (await warmRoutes()).metricsRoutes,
  },
  {
    name: "admin users",
    warm: false,
    routes: [
      ["GET", "/admin/users"],
      ["POST", "/admin/users"],
      ["GET", "/admin/users/:id"],
      ["PATCH", "/admin/users/:id"],
      ["DELETE", "/admin/users/:id"],
    ],
    load: async () => (await import("./admin.ts")).adminRoutes,
  },
  {
    name: "admin mfa",
    warm: false,
    routes: [["DELETE", "/admin/users/:id/mfa"]],
    load: async () => (await import("./admin_mfa.ts")).adminMfaRoutes,
  },
  {
    name: "admin clients",
    warm: false,
    routes: [
      ["GET", "/admin/clients"],
      ["POST", "/admin/clients"],
      ["POST", "/admin/clients/:id/secret"],
      ["DELETE", "/admin/clients/:id"],
    ],
    load: async () => (await import("./admin_clients.ts")).adminClientRoutes,
  },
  {
    name: "admin keys",
    warm: false,
    routes: [
      ["GET", "/admin/keys"],
      ["POST", "/admin/keys"],
      ["DELETE", "/admin/keys/:kid"],
      ["POST", "/admin/keys/reencrypt"],
    ],
    load: async () => (await import("./admin_keys.ts")).adminKeyRoutes,
  },
  {
    name: "oauth",
    warm: false,
    routes: [["POST", "/oauth/token"], ["POST", "/oauth/revoke"], ["POST", "/oauth/introspect"]],
    load: async () => (await import("./oauth.ts")).oauthRoutes,
  },
  {
    name: "authorize",
    warm: false,
    routes: [["GET", "/authorize"], ["ALL", "/authorize"], ["POST", "/authorize"]],
    load: async () => (await import("./authorize.ts")).authorizeRoutes,
  },
  {
    name: "login page",
    warm: false,
    routes: [
      ["ALL", "/authorize/login"],
      ["POST", "/authorize/login"],
      ["ALL", "/authorize/mfa"],
      ["POST", "/authorize/mfa"],
      ["ALL", "/authorize/passkey"],
      ["POST", "/authorize/passkey"],
      ["ALL", "/authorize/continue"],
      ["POST", "/authorize/continue"],
      ["GET", "/authorize/passkey.js"],
    ],
    load: async () => (await import("./login_page.ts")).loginPageRoutes,
  },
  {
    name: "userinfo",
    warm: false,
    routes: [["GET", "/userinfo"], ["POST", "/userinfo"]],
    load: async () => (await import("./userinfo.ts")).userinfoRoutes,
  },
  {
    name: "end-session",
    warm: false,
    routes: [["GET", "/end-session"], ["ALL", "/end-session"], ["POST", "/end-session"]],
    load: async () => (await import("./end_session.ts")).endSessionRoutes,
  },
  {
    name: "browser documentation",
    warm: false,
    routes: [],
    load: async () => (await import("./browser_openapi.ts")).documentBrowserRoutes,
  },
];
