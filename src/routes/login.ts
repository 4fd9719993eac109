/**
 * `POST /login`: the tutorial's endpoint, now checking credentials. Limits: every attempt counts
 * against the client, every failure against the account; past either, 429 even for the right
 * password.
 *
 * @module
 */
import { createRoute } from "@hono/zod-openapi";
import { AuthError, tooManyAttempts } from "../errors.ts";
import type { AppContext, AppRouter } from "../app_types.ts";
import { limitSubject } from "../client_address.ts";
import type { CountedAttempt } from "../limits/rate_limiter.ts";
import { clientIp } from "../middleware/client_ip.ts";
import { errorResponse, jsonBody, LoginBody, TokenPair } from "./schemas.ts";

const route = createRoute({
  method: "post",
  path: "/login",
  summary: "Check credentials and issue an access token and a refresh token",
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: { content: { "application/json": { schema: TokenPair } }, description: "Signed in" },
    400: errorResponse("Malformed JSON, a missing or invalid field"),
    401: errorResponse("Unknown user, wrong password or disabled user: `invalid_credentials`"),
    403: errorResponse("The requested role is not one of the user's roles"),
    413: errorResponse("Body over 16 KiB"),
    415: errorResponse("Not application/json"),
    429: errorResponse("Too many attempts for this account or client; see Retry-After"),
  },
});

/** Registers `POST /login`. */
export function loginRoutes(app: AppRouter, ctx: AppContext): void {
  const { services, config, logger, metrics } = ctx;
  app.openapi(route, async (c) => {
    const { user_id: userId, password, role } = c.req.valid("json");
    const client = clientIp(c, config.trustProxy);

    // Every attempt counts against the client, and against the account before the password is
    // checked (given back when it succeeds): concurrent guesses cannot all get in before one is
    // counted, so at most LOGIN_LIMIT_PER_ACCOUNT checks of one account are ever in flight.
    // Both counters move in one KV commit.
    const [perClient, perAccount] = await services.limiter.hitAll([
      { bucket: "login_client", subject: limitSubject(client), rate: config.loginLimitPerClient },
      { bucket: "login_account", subject: userId, rate: config.loginLimitPerAccount },
    ]) as [CountedAttempt, CountedAttempt];
    if (perClient.limited || perAccount.limited) {
      // Not checked, so not counted against the account: refusals must not extend its lock.
      await services.limiter.refund(
        "login_account",
        userId,
        config.loginLimitPerAccount,
        perAccount,
      );
      const limit = perClient.limited ? "login_client" : "login_account";
      if (limit === "login_account") {
        // Same cost as a real check, so a locked account cannot be told apart by timing.
        await services.hasher.verifyDummy(password);
        logger.warn("login_locked", { user_id: userId, client });
      }
      metrics.rateLimited.inc({ limit });
      metrics.logins.inc({ outcome: "rate_limited" });
      throw tooManyAttempts((perClient.limited ? perClient : perAccount).retryAfter);
    }

    let user;
    try {
      user = await services.users.authenticate(userId, password);
    } catch (err) {
      if (err instanceof AuthError && err.code === "invalid_credentials") {
        logger.warn("login_failed", { user_id: userId, client });
        metrics.logins.inc({ outcome: "invalid_credentials" });
      }
      throw err;
    }
    await services.limiter.refund("login_account", userId, config.loginLimitPerAccount, perAccount);
    const granted = role ?? user.roles[0];
    if (granted === undefined || !user.roles.includes(granted)) {
      metrics.logins.inc({ outcome: "role_not_allowed" });
      throw new AuthError("role_not_allowed", `role "${role ?? ""}" is not granted to this user`);
    }
    const pair = await services.sessions.start(user.id, granted, user.versionstamp);
    logger.info("login", { user_id: user.id, role: granted, client });
    metrics.logins.inc({ outcome: "success" });
    return c.json(pair, 200);
  });
}
