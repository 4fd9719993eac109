/**
 * `GET` and `POST /userinfo` (OpenID Connect Core 5.3): the signed-in user's claims for a Bearer
 * access token of a user session (`sub`, `preferred_username`, `roles`). The token is checked as
 * `/me` checks it (signature, issuer, audience, expiry, a live session, the user's roles now); a
 * service-account token has no user: 403 `subject_not_allowed`. Only the `Authorization` header
 * carries the token (Core 5.3.1 allows a form body too; RFC 6750 2.2 says such a form
 * parameter SHOULD NOT be used).
 *
 * @module
 */
import type { Context } from "hono";
import type { AppContext, AppEnv, AppRouter } from "../app_types.ts";
import type { UserinfoClaims } from "../oidc/claims.ts";

/** Registers `/userinfo`. */
export function userinfoRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireUser } = ctx;
  const answer = async (c: Context<AppEnv>) => {
    // `requireUser` admits user tokens only (a service account's is 403 subject_not_allowed).
    const claims = c.get("auth");
    const roles = await services.gate.roles(claims);
    // Typed by `CLAIMS` (`oidc/claims.ts`): a userinfo claim added there is a compile error here.
    const body: UserinfoClaims = {
      sub: claims.sub,
      preferred_username: claims.sub,
      roles: [...roles],
    };
    return c.json(body, 200);
  };
  app.get("/userinfo", requireUser, answer);
  app.post("/userinfo", requireUser, answer);
}
