/**
 * `GET` and `POST /userinfo` (OpenID Connect Core 5.3): the signed-in user's claims for a Bearer
 * access token of a user session: `sub` (the ID token's: the user's stable subject,
 * `oidc/subject.ts`, not the access token's user id), `preferred_username` (the user id) and
 * `roles`. The token is checked as `/me` checks it (signature, issuer, audience, expiry, a live
 * session, the user's roles now); a service-account token has no user: 403
 * `subject_not_allowed`. Only the `Authorization` header carries the token (Core 5.3.1 allows a
 * form body too; RFC 6750 2.2 says such a form parameter SHOULD NOT be used). A `POST` body is
 * limited all the same (413 over 16 KiB), before the token is checked.
 *
 * @module
 */
import type { Context } from "hono";
import type { AppContext, AppEnv, AppRouter } from "../app_types.ts";
import { ApiError } from "../errors.ts";
import { limitBody } from "../middleware/json_body.ts";
import type { UserinfoClaims } from "../oidc/claims.ts";
import { oidcSubject } from "../oidc/subject.ts";

const REVOKED = "session has been revoked";

/** Registers `/userinfo`. */
export function userinfoRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, requireUser } = ctx;
  const answer = async (c: Context<AppEnv>) => {
    // `requireUser` admits user tokens only (a service account's is 403 subject_not_allowed).
    const claims = c.get("auth");
    // The uid of the user the session is bound to, from the gate's check: never the uid of
    // whoever holds the user id now (a user removed and created again is another person).
    const userUid = await services.gate.userUid(claims);
    if (userUid === undefined) {
      // Revoked between requireUser's check and this one.
      throw new ApiError("invalid_token", REVOKED, {
        "WWW-Authenticate": `Bearer error="invalid_token", error_description="${REVOKED}"`,
      });
    }
    const roles = await services.gate.roles(claims);
    // Typed by `CLAIMS` (`oidc/claims.ts`): a userinfo claim added there is a compile error here.
    const body: UserinfoClaims = {
      sub: oidcSubject(userUid),
      preferred_username: claims.sub,
      roles: [...roles],
    };
    return c.json(body, 200);
  };
  app.get("/userinfo", requireUser, answer);
  // The body is never read, but it is limited as every route's is: 413 over 16 KiB.
  app.post("/userinfo", limitBody(), requireUser, answer);
}
