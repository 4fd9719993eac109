/**
 * What a signed-in user proves at `/me` routes beyond the access token, and under which limits.
 * An access token alone is a bearer credential that may have been stolen (30 minutes of it):
 * whatever would outlive it (a new second factor) asks the user to prove presence now.
 *
 * - The password spends from the login limits (the client's, and the account's or the device's
 *   budget), as `POST /me/password` and `/login` do: `checkCredentials`.
 * - A TOTP code spends from the client's limit and the session's own budget (`me_session`, keyed
 *   by the token's `sid`), so a stolen token is no code oracle, yet wrong passwords sent from
 *   anywhere cannot lock the signed-in user's own session out of its code checks.
 *
 * @module
 */
import type { Context } from "hono";
import type { AppContext, AppEnv } from "../app_types.ts";
import { clientIp } from "../client_ip.ts";
import { ApiError } from "../errors.ts";
import type { CodeBudget } from "../mfa/mfa_login.ts";
import type { AccessClaims } from "../tokens/access_token.ts";
import type { UserRecord } from "../users/user_store.ts";

/** The proof of presence an enrolment starts with. */
export interface PresenceProof {
  readonly password: string;
  /** A current TOTP code: required when the user has TOTP active. */
  readonly code?: string | undefined;
  readonly device_token?: string | undefined;
}

/** The proofs of the `/me` routes, for one app. */
export function meProofs(ctx: AppContext) {
  const { services, config } = ctx;
  const client = (c: Context<AppEnv>) => clientIp(c, config.trustProxy);

  /**
   * Runs a code check for the signed-in user under the client's limit and the session's budget
   * (the account's for a token without `sid`); a success gives the attempt back.
   */
  async function underCodeLimits<T>(
    c: Context<AppEnv>,
    claims: AccessClaims,
    work: () => Promise<T>,
  ): Promise<T> {
    const budget: CodeBudget = claims.sid !== undefined
      ? { bucket: "me_session", subject: claims.sid }
      : { bucket: "login_account", subject: claims.sub };
    await services.login.steps.spendAttempt(claims.sub, client(c), budget);
    const answer = await work();
    await services.login.steps.giveBack(budget);
    return answer;
  }

  /** Checks the signed-in user's password under the login limits; 401 when it is wrong. */
  async function requirePassword(
    c: Context<AppEnv>,
    claims: AccessClaims,
    proof: Pick<PresenceProof, "password" | "device_token">,
  ): Promise<void> {
    await services.login.checkCredentials({
      userId: claims.sub,
      password: proof.password,
      client: client(c),
      deviceToken: proof.device_token,
    });
  }

  /**
   * Proof that the caller is the user now, before a factor is added: the password, and, when
   * TOTP is active, a current code as well. A factor added quietly outlives a password change
   * and a global logout, so a token and the password (one phished page) must not be enough to
   * add one beside an enrolled factor: that takes the factor itself, as removing it does.
   */
  async function requirePresence(
    c: Context<AppEnv>,
    claims: AccessClaims,
    user: UserRecord,
    proof: PresenceProof,
  ): Promise<void> {
    await requirePassword(c, claims, proof);
    if (!(await services.mfa.read(user))?.value.totp) return;
    if (proof.code === undefined) {
      throw new ApiError("invalid_code", "this user has TOTP: send a current code as well");
    }
    await underCodeLimits(c, claims, () => services.mfa.spendCode(user, proof.code!));
  }

  return { underCodeLimits, requirePassword, requirePresence };
}
