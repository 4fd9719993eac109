/**
 * The second step of a login: `POST /login` (and the OAuth password grant) with the right
 * password for a user with an active factor answers an `mfa_token` instead of tokens; `POST
 * /login/mfa` with that token and a code finishes the login.
 *
 * An `mfa_token` is 256 random bits; the store keeps only its SHA-256 (the challenge's id), with
 * what the login had decided (user, role, OAuth client, the user's versionstamp, the failure
 * budget the password spent from). It lives {@link MFA_TOKEN_TTL_MS}, passes once, and dies at
 * the {@link MAX_CHALLENGE_FAILURES}th wrong code. Each code presented first spends an attempt
 * from the client's login limit and from the account's (or the device's) budget, as a password
 * does, and a success gives the budget back: guessing codes costs what guessing passwords costs.
 *
 * A success is one commit that deletes the challenge and spends the code (the TOTP step, or the
 * recovery code): of two presenters of one token or one code, one passes.
 *
 * @module
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { base64url } from "jose";
import { sha256Base64url } from "../crypto/digests.ts";
import { ApiError, ContendedError } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import type { SessionClient } from "../tokens/session_store.ts";
import type { CheckedUser } from "../tokens/sessions.ts";
import type { UserRecord, UserStore } from "../users/user_store.ts";
import { userUid } from "../users/user_store.ts";
import type { LoginAnswer } from "../wire.ts";
import type { PasskeyService } from "../passkeys/passkey_service.ts";
import type { MfaMethod, MfaService, PresentedCode } from "./mfa_service.ts";
import { invalidCode } from "./mfa_service.ts";
import type { ChallengeBudget, MfaChallenge, MfaRecord, MfaStore } from "./mfa_store.ts";

/** How long an `mfa_token` lives. */
export const MFA_TOKEN_TTL_MS = 5 * 60_000;
/** Wrong codes that end an `mfa_token`. */
export const MAX_CHALLENGE_FAILURES = 5;
/** RFC 8176 `amr` values: a password alone, a password and a one-time code. */
export const AMR_PASSWORD = ["pwd"] as const;
export const AMR_PASSWORD_OTP = ["pwd", "otp"] as const;

const MFA_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const MAX_ATTEMPTS = 8;

/**
 * The identity of a user's active second factor (`undefined`: none), which device tokens are
 * bound to: the TOTP enrolment's confirmation time. Enrolling, replacing or removing the factor
 * changes it, so every device token issued before stops counting (`users/device_tokens.ts`).
 */
export function activeFactorStamp(record: MfaRecord | undefined): string | undefined {
  return record?.totp ? `totp/${record.totp.confirmedAt}` : undefined;
}

/** What a sign-in proved: its `amr` (RFC 8176) and the second factor it passed, if any. */
export interface SignInProof {
  readonly amr: readonly string[];
  /**
   * The {@link activeFactorStamp} the sign-in was judged under: the factor it passed, or
   * `undefined` when the user had none then. Its device token is bound to it.
   */
  readonly factors: string | undefined;
}

/** The 403 `mfa_required` answer's fields (besides `error` and `code`). */
export interface MfaRequired {
  readonly mfa_token: string;
  readonly methods: MfaMethod[];
}

/**
 * A budget a code spends from: a login's (its {@link ChallengeBudget}), or a signed-in session's
 * own (`me_session`, keyed by the access token's `sid`) for the codes checked at `/me/mfa/*`.
 */
export interface CodeBudget {
  readonly bucket: ChallengeBudget["bucket"] | "me_session";
  readonly subject: string;
}

/** What the login service lends the second step: its limits and its way to finish a login. */
export interface LoginSteps {
  /** Spends one attempt from the client's limit and `budget` (throws 429 when refused). */
  spendAttempt(userId: string, client: string, budget: CodeBudget): Promise<void>;
  /** Gives an attempt back to `budget` (a success is no failure). */
  giveBack(budget: CodeBudget): Promise<void>;
  /** Starts the session and issues the device token, as a password-only login does. */
  finish(
    user: CheckedUser,
    role: string,
    client: string,
    oauthClient: SessionClient | undefined,
    proof: SignInProof,
  ): Promise<LoginAnswer>;
}

/** Dependencies of {@link createMfaLogin}. */
export interface MfaLoginDeps {
  readonly mfa: MfaService;
  readonly store: MfaStore;
  readonly userStore: Pick<UserStore, "getUser">;
  /** The login service's steps (a getter: the login service is built after this). */
  readonly steps: () => LoginSteps;
  readonly now: () => number;
  readonly onEvent?: EmitEvent;
  /** Passkeys, accepted as the second factor of a password (the login page offers them). */
  readonly passkeys?: Pick<PasskeyService, "authenticate">;
}

/** A passkey presented as the second factor (the login page's script sends it). */
export interface PresentedPasskey {
  readonly passkey: { readonly challengeId: string; readonly response: AuthenticationResponseJSON };
}

/** What a second step presents: a TOTP code, a recovery code, or a passkey. */
export type PresentedFactor = PresentedCode | PresentedPasskey;

/** One `POST /login/mfa` (or the login page's second form). */
export type SecondStep = PresentedFactor & {
  readonly mfaToken: string;
  /** The client address the per-client limit counts against. */
  readonly client: string;
  /**
   * The browser the login page's step is bound to (a hash of its CSRF cookie); `undefined` for
   * the JSON API. A challenge passes only where it was issued: a login page's step never at
   * `POST /login/mfa`, a JSON `mfa_token` never on the page, nor a step in another browser.
   */
  readonly browser?: string | undefined;
};

/** A second step that passed: the user as read now, and what the password step decided. */
export interface PassedStep extends SignInProof {
  readonly user: CheckedUser;
  readonly role: string;
  readonly oauthClient: SessionClient | undefined;
  /** RFC 8176: `["pwd", "otp"]`, or `["pwd", ...]` with what a passkey proved. */
  readonly amr: readonly string[];
}

/** Creates the second step of logins. */
export function createMfaLogin(deps: MfaLoginDeps) {
  const emit: EmitEvent = (event) => deps.onEvent?.(event);
  const { store, mfa } = deps;

  /**
   * After a right password: an `mfa_token` when the user has an active factor, else
   * `undefined` (a pending enrolment changes nothing; the sign-in's proof then has no factor).
   * `browser` binds it to the login page of one browser (see {@link SecondStep}).
   */
  async function challenge(
    user: CheckedUser,
    role: string,
    oauthClient: SessionClient | undefined,
    budget: ChallengeBudget,
    client: string,
    browser?: string,
  ): Promise<MfaRequired | undefined> {
    const methods = mfa.methodsOf((await mfa.read(user))?.value);
    if (!methods) return undefined;
    const token = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
    const now = deps.now();
    const record: MfaChallenge = {
      userId: user.id,
      userUid: userUid(user),
      userVersionstamp: user.versionstamp,
      role,
      ...(oauthClient !== undefined ? { oauthClient } : {}),
      ...(browser !== undefined ? { browser } : {}),
      budget,
      failures: 0,
      expiresAt: now + MFA_TOKEN_TTL_MS,
    };
    await store.createChallenge(challengeId(token), record, now);
    emit({ type: "mfa_challenge", user_id: user.id, client, outcome: "issued" });
    return { mfa_token: token, methods };
  }

  /** `POST /login/mfa`: the login's tokens, or 401 `invalid_code` / `invalid_mfa_token`. */
  async function complete(request: SecondStep): Promise<LoginAnswer> {
    const passed = await pass(request);
    return await deps.steps().finish(
      passed.user,
      passed.role,
      request.client,
      passed.oauthClient,
      passed,
    );
  }

  /**
   * The rules of every second step (`POST /login/mfa` and the login page's): the challenge
   * live and presented where it was issued, an attempt spent from the limits, the factor
   * checked and spent with the challenge in one commit; the user unchanged since the password.
   * What passed, for the caller to finish (tokens, or a browser session); else 401
   * `invalid_code` / `invalid_passkey` / `invalid_mfa_token`, or 429.
   */
  async function pass(request: SecondStep): Promise<PassedStep> {
    if (!MFA_TOKEN_PATTERN.test(request.mfaToken)) throw invalidMfaToken();
    const id = challengeId(request.mfaToken);
    const first = await liveChallenge(id, request.browser);
    const { budget, userId } = first.value;
    const steps = deps.steps();
    await steps.spendAttempt(userId, request.client, budget);
    // A passkey's assertion answers its own one-use challenge: checked once, outside the retries.
    const passkey = "passkey" in request
      ? await passkeyOf(request.passkey, first.value.userUid)
      : undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = attempt === 0 ? first : await liveChallenge(id, request.browser);
      const pending = entry.value;
      const factors = await store.getFactors(pending.userUid);
      if (!factors?.value.totp) throw invalidMfaToken(); // every factor was removed meanwhile
      const spent = passkey !== undefined
        ? (passkey instanceof ApiError
          ? undefined
          : { factors: undefined, method: "passkey" as const })
        : await mfa.spend(pending.userUid, factors.value, request as PresentedCode);
      if (!spent) {
        const failures = pending.failures + 1;
        const next = failures >= MAX_CHALLENGE_FAILURES ? undefined : { ...pending, failures };
        if (!(await store.failChallenge(id, next, entry.versionstamp, deps.now()))) continue;
        emit({
          type: "mfa_challenge",
          user_id: userId,
          client: request.client,
          outcome: next ? "failed" : "exhausted",
        });
        throw passkey instanceof ApiError ? passkey : invalidCode();
      }
      const committed = spent.factors === undefined
        // A passkey spends nothing of the factors: the challenge alone is deleted, if unchanged.
        ? await store.failChallenge(id, undefined, entry.versionstamp, deps.now())
        : await store.completeChallenge({
          challengeId: id,
          challengeVersionstamp: entry.versionstamp,
          userUid: pending.userUid,
          factors: spent.factors,
          factorsVersionstamp: factors.versionstamp,
        });
      if (!committed) continue; // a concurrent presenter changed either: read both again
      await steps.giveBack(budget);
      emit({
        type: "mfa_challenge",
        user_id: userId,
        client: request.client,
        outcome: "passed",
        method: spent.method,
      });
      const user = await deps.userStore.getUser(userId);
      // Any change to the user since the password was checked (a new password, disabled, roles,
      // removed and created again) ends the login here: sign in again.
      if (!user || user.versionstamp !== pending.userVersionstamp) throw invalidMfaToken();
      return {
        user: { ...user.value, versionstamp: user.versionstamp },
        role: pending.role,
        oauthClient: pending.oauthClient,
        amr: passkey === undefined || passkey instanceof ApiError
          ? AMR_PASSWORD_OTP
          : ["pwd", ...passkey.amr],
        // The factor this step passed: the device token it earns counts under it alone.
        factors: activeFactorStamp(factors.value),
      };
    }
    throw new ContendedError("second step is contended");
  }

  /**
   * A passkey's sign-in, when it is the challenge's user's; else the refusal to answer with
   * (after the challenge counted it as a wrong factor).
   */
  async function passkeyOf(
    presented: PresentedPasskey["passkey"],
    uid: string,
  ): Promise<{ amr: readonly string[] } | ApiError> {
    if (!deps.passkeys) return passkeyRefused();
    try {
      const signIn = await deps.passkeys.authenticate(presented.challengeId, presented.response);
      return signIn.userUid === uid ? signIn : passkeyRefused();
    } catch (err) {
      if (err instanceof ApiError && err.code === "invalid_passkey") return err;
      throw err;
    }
  }

  /** The challenge of an id, unexpired and presented where it was issued; else 401. */
  async function liveChallenge(id: string, browser: string | undefined) {
    const entry = await store.getChallenge(id);
    if (!entry || entry.value.expiresAt <= deps.now()) throw invalidMfaToken();
    if (entry.value.browser !== browser) throw invalidMfaToken();
    return entry;
  }

  /** The stamp of the user's active second factor now (see {@link activeFactorStamp}). */
  async function factorStamp(user: UserRecord): Promise<string | undefined> {
    return activeFactorStamp((await mfa.read(user))?.value);
  }

  return { challenge, complete, pass, factorStamp };
}

/** The second step's interface. */
export type MfaLogin = ReturnType<typeof createMfaLogin>;

/** The store id of an `mfa_token`: its SHA-256 (the token itself is never stored). */
function challengeId(token: string): string {
  return sha256Base64url(`mfa-token/${token}`);
}

function passkeyRefused(): ApiError {
  return new ApiError("invalid_passkey", "this passkey is not one of this user's");
}

function invalidMfaToken(): ApiError {
  return new ApiError(
    "invalid_mfa_token",
    "mfa_token is invalid, expired or spent; sign in with the password again",
  );
}
