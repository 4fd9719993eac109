/**
 * Signing in with a password: the one place its limits, refund, dummy verify, role choice and
 * session start live. `POST /login` and the OAuth password grant are two doors onto it.
 *
 * Limits: every attempt counts against the client, every failure against the account; past
 * either, 429 even for the right password.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { PasswordHasher } from "../crypto/passwords.ts";
import { AuthError, tooManyAttempts } from "../errors.ts";
import { limitSubject } from "../client_address.ts";
import type { CountedAttempt, RateLimiter } from "../limits/rate_limiter.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import type { SessionService, TokenPair } from "../tokens/sessions.ts";
import type { UserService } from "./user_service.ts";

/** Dependencies of {@link createLoginService}. */
export interface LoginDeps {
  readonly config: Pick<Config, "loginLimitPerAccount" | "loginLimitPerClient">;
  readonly hasher: PasswordHasher;
  readonly users: UserService;
  readonly sessions: SessionService;
  readonly limiter: RateLimiter;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** One sign-in attempt. */
export interface LoginRequest {
  readonly userId: string;
  readonly password: string;
  /** One of the user's roles; the user's first role when absent. */
  readonly role?: string | undefined;
  /** The client address, for the per-client limit and the logs. */
  readonly client: string;
}

/** Creates the login service (composed once in `createServices`). */
export function createLoginService(deps: LoginDeps) {
  const { config, hasher, users, sessions, limiter, logger, metrics } = deps;

  /** Checks the credentials and starts a session; throws `AuthError` otherwise. */
  async function login({ userId, password, role, client }: LoginRequest): Promise<TokenPair> {
    // Every attempt counts against the client, and against the account before the password is
    // checked (given back when it succeeds): concurrent guesses cannot all get in before one is
    // counted, so at most LOGIN_LIMIT_PER_ACCOUNT checks of one account are ever in flight.
    // Both counters move in one KV commit.
    const [perClient, perAccount] = await limiter.hitAll([
      { bucket: "login_client", subject: limitSubject(client), rate: config.loginLimitPerClient },
      { bucket: "login_account", subject: userId, rate: config.loginLimitPerAccount },
    ]) as [CountedAttempt, CountedAttempt];
    if (perClient.limited || perAccount.limited) {
      // Not checked, so not counted against the account: refusals must not extend its lock.
      await limiter.refund("login_account", userId, config.loginLimitPerAccount, perAccount);
      const limit = perClient.limited ? "login_client" : "login_account";
      if (limit === "login_account") {
        // Same cost as a real check, so a locked account cannot be told apart by timing.
        await hasher.verifyDummy(password);
        logger.warn("login_locked", { user_id: userId, client });
      }
      metrics.rateLimited.inc({ limit });
      metrics.logins.inc({ outcome: "rate_limited" });
      throw tooManyAttempts((perClient.limited ? perClient : perAccount).retryAfter);
    }

    let user;
    try {
      user = await users.authenticate(userId, password);
    } catch (err) {
      if (err instanceof AuthError && err.code === "invalid_credentials") {
        logger.warn("login_failed", { user_id: userId, client });
        metrics.logins.inc({ outcome: "invalid_credentials" });
      }
      throw err;
    }
    await limiter.refund("login_account", userId, config.loginLimitPerAccount, perAccount);
    const granted = role ?? user.roles[0];
    if (granted === undefined || !user.roles.includes(granted)) {
      metrics.logins.inc({ outcome: "role_not_allowed" });
      throw new AuthError("role_not_allowed", `role "${role ?? ""}" is not granted to this user`);
    }
    const pair = await sessions.start(user.id, granted, user.versionstamp);
    logger.info("login", { user_id: user.id, role: granted, client });
    metrics.logins.inc({ outcome: "success" });
    return pair;
  }

  return { login };
}

/** The login service's interface. */
export type LoginService = ReturnType<typeof createLoginService>;
