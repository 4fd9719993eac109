/**
 * The `/login` orchestration, apart from HTTP (the route only parses and answers; the OAuth
 * password grant calls the same): the login limits, the refund on success, the dummy verify of
 * a locked account, the role choice and the session start.
 *
 * @module
 */
import { limitSubject } from "../client_address.ts";
import type { PasswordHasher } from "../crypto/passwords.ts";
import type { Rate } from "../duration.ts";
import { ApiError, tooManyAttempts } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import type { CountedAttempt, RateLimiter } from "../limits/rate_limiter.ts";
import type { CheckedUser, SessionService, TokenPair } from "../tokens/sessions.ts";
import type { UserService } from "./user_service.ts";

/** Dependencies of {@link createLoginService}. */
export interface LoginDeps {
  readonly users: Pick<UserService, "authenticate">;
  readonly sessions: Pick<SessionService, "start">;
  /** The shared (KV) limiter the login limits count in. */
  readonly limiter: RateLimiter;
  readonly hasher: Pick<PasswordHasher, "verifyDummy">;
  readonly limits: { readonly perClient: Rate; readonly perAccount: Rate };
  readonly onEvent?: EmitEvent;
}

/** A password to check for a user, from a client. */
export interface PasswordCheck {
  readonly userId: string;
  readonly password: string;
  /** The client address the per-client limit counts against. */
  readonly client: string;
}

/** One login attempt. */
export interface LoginRequest {
  readonly userId: string;
  readonly password: string;
  /** The role to sign in as; default the user's first. */
  readonly role?: string | undefined;
  /** The client address the per-client limit counts against. */
  readonly client: string;
}

/**
 * Creates the login service. `login` throws `ApiError` (`too_many_attempts`,
 * `invalid_credentials`, `role_not_allowed`), or a store error the API maps to 503.
 */
export function createLoginService(deps: LoginDeps) {
  const emit: EmitEvent = (event) => deps.onEvent?.(event);
  const { limiter, limits } = deps;

  async function login({ userId, password, role, client }: LoginRequest): Promise<TokenPair> {
    const user = await checkPassword({ userId, password, client });
    const granted = role ?? user.roles[0];
    if (granted === undefined || !user.roles.includes(granted)) {
      emit({ type: "login_role_not_allowed", user_id: userId });
      throw new ApiError("role_not_allowed", `role "${role ?? ""}" is not granted to this user`);
    }
    const pair = await deps.sessions.start(user, granted);
    emit({ type: "login", user_id: user.id, role: granted, client });
    return pair;
  }

  /**
   * Checks a user's password under the login limits (the same counters, refunds and events as
   * `login`): `POST /me/password` checks the current password through it. Returns the user as
   * read for the check; throws `too_many_attempts` or `invalid_credentials`.
   */
  async function checkPassword(
    { userId, password, client }: PasswordCheck,
  ): Promise<CheckedUser> {
    // Every attempt counts against the client, and against the account before the password is
    // checked (given back when it succeeds): concurrent guesses cannot all get in before one is
    // counted, so at most LOGIN_LIMIT_PER_ACCOUNT checks of one account are ever in flight.
    // Both counters move in one KV commit.
    const [perClient, perAccount] = await limiter.hitAll([
      { bucket: "login_client", subject: limitSubject(client), rate: limits.perClient },
      { bucket: "login_account", subject: userId, rate: limits.perAccount },
    ]) as [CountedAttempt, CountedAttempt];
    if (perClient.limited || perAccount.limited) {
      // Not checked, so not counted against the account: refusals must not extend its lock.
      await limiter.refund("login_account", userId, limits.perAccount, perAccount);
      const limit = perClient.limited ? "login_client" : "login_account";
      if (limit === "login_account") {
        // Same cost as a real check, so a locked account cannot be told apart by timing.
        await deps.hasher.verifyDummy(password);
      }
      emit({ type: "login_rate_limited", user_id: userId, client, limit });
      throw tooManyAttempts((perClient.limited ? perClient : perAccount).retryAfter);
    }

    let user;
    try {
      user = await deps.users.authenticate(userId, password);
    } catch (err) {
      if (err instanceof ApiError && err.code === "invalid_credentials") {
        emit({ type: "login_failed", user_id: userId, client });
      }
      throw err;
    }
    await limiter.refund("login_account", userId, limits.perAccount, perAccount);
    return user;
  }

  return { login, checkPassword };
}

/** The login service's interface. */
export type LoginService = ReturnType<typeof createLoginService>;
