/**
 * The `/login` orchestration, apart from HTTP (the route only parses and answers; the OAuth
 * password grant calls the same): the login limits, device tokens, the role choice and the
 * session start.
 *
 * The limits follow OWASP's device cookies (see `device_tokens.ts`): every attempt spends from
 * the client's budget; an attempt presenting a valid device token for the user spends from that
 * device's budget, any other from the account's. A check in flight spends, and a success gives
 * it back, so failures are what is left. A refused attempt checks no password.
 *
 * A device's budget pays for second-factor codes too, so a device token counts only under the
 * second factor its own login passed (`device_tokens.ts`): tokens minted with the password alone
 * before TOTP was enrolled fall back to the account's budget, and the codes an attacker who knows
 * the password can try are bounded per account, not per token minted. Charging every code to
 * the account instead (simpler) would let that attacker lock the real user's devices out of the
 * second step, which device tokens exist to prevent.
 *
 * @module
 */
import { limitSubject } from "../client_address.ts";
import type { Rate } from "../duration.ts";
import { ApiError, tooManyAttempts } from "../errors.ts";
import type { DeviceTokenOutcome, EmitEvent, LoginLimit } from "../events.ts";
import { createMemoryRateLimiter } from "../limits/memory_rate_limiter.ts";
import type { Limit, RateLimiter, Refusal } from "../limits/rate_limiter.ts";
import type { SessionClient } from "../tokens/session_store.ts";
import type { SessionService } from "../tokens/sessions.ts";
import type { LoginAnswer } from "../wire.ts";
import type { LoginSteps, MfaLogin, MfaRequired, SignInProof } from "../mfa/mfa_login.ts";
import { AMR_PASSWORD } from "../mfa/mfa_login.ts";
import type { DeviceTokens } from "./device_tokens.ts";
import type { UserService } from "./user_service.ts";
import type { UserRecord, UserStore } from "./user_store.ts";

/** Dependencies of {@link createLoginService}. */
export interface LoginDeps {
  readonly users: Pick<UserService, "authenticate">;
  /** Reads the user's current password hash to check a device token's fingerprint. */
  readonly userStore: Pick<UserStore, "getUser">;
  readonly sessions: Pick<SessionService, "start">;
  /** The shared (KV) limiter the login limits count in. */
  readonly limiter: RateLimiter;
  readonly devices: DeviceTokens;
  /**
   * `perAccount` is also each device's own budget; `perOAuthClient` is the budget of one
   * authenticated OAuth client (password grant), whatever address it calls from.
   */
  readonly limits: {
    readonly perClient: Rate;
    readonly perAccount: Rate;
    readonly perOAuthClient?: Rate;
  };
  readonly onEvent?: EmitEvent;
  /**
   * The second step, for users with an active second factor, and the stamp of that factor a
   * device token must match (none: passwords alone).
   */
  readonly secondFactor?: Pick<MfaLogin, "challenge" | "factorStamp">;
  /** Epoch ms (for the refusals this instance counts itself); default `Date.now`. */
  readonly now?: () => number;
}

/** One password check under the login limits. */
export interface CredentialCheck {
  readonly userId: string;
  readonly password: string;
  /** The client address the per-client limit counts against. */
  readonly client: string;
  /** A device token from an earlier login of this user, if the client has one. */
  readonly deviceToken?: string | undefined;
  /**
   * The OAuth client that authenticated (password grant): its own budget replaces the budget
   * of the address it calls from (a web app's backend signs in all its users from one address).
   */
  readonly clientId?: string | undefined;
  /**
   * The end user's address, as named by a client trusted to forward one
   * (`TRUST_FORWARDING_CLIENTS`): counted under the per-address budget as well.
   */
  readonly endUserAddress?: string | undefined;
}

/** A password to check for a user, from a client. */
export interface PasswordCheck {
  readonly userId: string;
  readonly password: string;
  /** The client address the per-client limit counts against. */
  readonly client: string;
}

/** Who an attempt comes from, as the per-client limits see it. */
type ClientOfAttempt = Pick<CredentialCheck, "client" | "clientId" | "endUserAddress">;

/** One login attempt. */
export interface LoginRequest extends CredentialCheck {
  /** The role to sign in as; default the user's first. */
  readonly role?: string | undefined;
  /** The OAuth client that authenticated (password grant): the session is bound to it. */
  readonly oauthClient?: SessionClient | undefined;
}

/**
 * Creates the login service. Its methods throw `ApiError` (`too_many_attempts`,
 * `invalid_credentials`, `role_not_allowed`), or a store error the API maps to 503.
 */
export function createLoginService(deps: LoginDeps) {
  const emit: EmitEvent = (event) => deps.onEvent?.(event);
  const { limiter, limits, devices } = deps;
  /**
   * Refused attempts per client, counted in this instance's memory (a refusal writes nothing to
   * the store, so the store's per-client cell never sees them). A client refused more often
   * than its limit allows is refused from memory at once, up to the flood gate before routing:
   * a flood against a locked account stops costing a full request each.
   */
  const refusedAttempts = createMemoryRateLimiter(deps.now ?? Date.now);

  /** The per-client login limit of a client address. */
  function clientLimit(client: string): Limit<LoginLimit> {
    return { bucket: "login_client", subject: limitSubject(client), rate: limits.perClient };
  }

  /**
   * The per-client limits of an attempt: an authenticated OAuth client's own budget (plus the
   * end user's address when the client is trusted to name it), else the caller's address.
   */
  function clientLimits(check: ClientOfAttempt): Limit<LoginLimit>[] {
    if (check.clientId === undefined) return [clientLimit(check.client)];
    const own: Limit<LoginLimit> = {
      bucket: "login_oauth_client",
      subject: check.clientId,
      rate: limits.perOAuthClient ?? limits.perClient,
    };
    return check.endUserAddress === undefined ? [own] : [own, clientLimit(check.endUserAddress)];
  }

  /**
   * Checks a user's password under the login limits; the user when it matches. Every endpoint
   * that checks a password goes through here, passing the client's device token along, so one
   * budget protects them all.
   */
  async function checkCredentials(
    check: CredentialCheck,
  ): Promise<UserRecord & { readonly versionstamp: string }> {
    return (await checkWithBudget(check)).user;
  }

  /** {@link checkCredentials}, and the budget it spent from (a second step spends from it). */
  async function checkWithBudget(check: CredentialCheck) {
    const { userId, password, client, deviceToken } = check;
    const perClient = clientLimits(check);
    // A client already refused costs nothing more: not even the device token's check.
    refuseIf(limiter.refusedFromMemory(perClient), userId, check);
    const device = deviceToken === undefined
      ? undefined
      : await trustedDevice(deviceToken, userId, check);
    const budget: Limit<LoginLimit> = device === undefined
      ? { bucket: "login_account", subject: userId, rate: limits.perAccount }
      : { bucket: "login_device", subject: device, rate: limits.perAccount };
    // All spend in one commit; refused, nothing is spent and no password is checked.
    refuseIf(await limiter.take([...perClient, budget]), userId, check);
    let user;
    try {
      user = await deps.users.authenticate(userId, password);
    } catch (err) {
      if (err instanceof ApiError && err.code === "invalid_credentials") {
        emit({ type: "login_failed", user_id: userId, client });
      }
      throw err;
    }
    await limiter.giveBack(budget);
    return { user, budget };
  }

  /** The device id a token vouches for, when it is valid for this user; else `undefined`. */
  async function trustedDevice(token: string, userId: string, check: ClientOfAttempt) {
    const { client } = check;
    const seen = (outcome: DeviceTokenOutcome) =>
      emit({ type: "device_token", user_id: userId, client, outcome });
    const claim = devices.check(token, userId);
    if ("problem" in claim) return void seen(claim.problem);
    // Refused from memory before the store is read for its fingerprint.
    const deviceLimit: Limit<LoginLimit> = {
      bucket: "login_device",
      subject: claim.device,
      rate: limits.perAccount,
    };
    refuseIf(limiter.refusedFromMemory([deviceLimit]), userId, check);
    const user = await deps.userStore.getUser(userId);
    if (!user || !devices.fingerprintMatches(claim, user.value.passwordHash)) {
      return void seen("password_changed");
    }
    const factors = await deps.secondFactor?.factorStamp(user.value);
    if (!devices.factorsMatch(claim, factors)) return void seen("factors_changed");
    seen("accepted");
    return claim.device;
  }

  function refuseIf(
    refusal: Refusal<LoginLimit> | undefined,
    userId: string,
    check: ClientOfAttempt,
  ): void {
    if (refusal === undefined) return;
    const { client } = check;
    for (const perClient of clientLimits(check)) {
      const state = refusedAttempts.hit(perClient.bucket, perClient.subject, perClient.rate);
      if (state.limited) limiter.refuseFor(perClient, state.retryAfter);
    }
    emit({
      type: "login_rate_limited",
      user_id: userId,
      client,
      limit: refusal.bucket,
      source: refusal.source,
    });
    throw tooManyAttempts(refusal.retryAfter);
  }

  /**
   * Signs a user in: the credentials under the limits, then the role; then, for a user with an
   * active second factor, an `mfa_token` for `POST /login/mfa` (`{mfa}`), else the session and
   * a device token.
   */
  async function login(request: LoginRequest): Promise<LoginAnswer | { mfa: MfaRequired }> {
    const { user, budget } = await checkWithBudget(request);
    const { role, client } = request;
    const granted = role ?? user.roles[0];
    if (granted === undefined || !user.roles.includes(granted)) {
      emit({ type: "login_role_not_allowed", user_id: user.id });
      throw new ApiError("role_not_allowed", `role "${role ?? ""}" is not granted to this user`);
    }
    const second = await deps.secondFactor?.challenge(
      user,
      granted,
      request.oauthClient,
      { bucket: budget.bucket as "login_account" | "login_device", subject: budget.subject },
      client,
    );
    if (second) return { mfa: second };
    // No second step: the user had no active factor when `challenge` looked.
    const proof = { amr: AMR_PASSWORD, factors: undefined };
    return await finish(user, granted, client, request.oauthClient, proof);
  }

  /**
   * The end of every login: the session (with its `amr`, RFC 8176; bound to the OAuth client
   * that authenticated, if any) and a device token.
   */
  async function finish(
    user: UserRecord & { readonly versionstamp: string },
    granted: string,
    client: string,
    oauthClient: SessionClient | undefined,
    proof: SignInProof,
  ): Promise<LoginAnswer> {
    const pair = await deps.sessions.start(user, granted, oauthClient, proof.amr);
    const deviceToken = issueDeviceToken(user, client, proof.factors);
    emit({ type: "login", user_id: user.id, role: granted, client });
    return { ...pair, device_token: deviceToken };
  }

  /**
   * Browser sign-in (the login page): the same credential check under the same limits, but no
   * token session: the code flow starts that at the token endpoint. The budget it spent from is
   * what a second step spends from; the device token comes once every factor passed
   * ({@link issueDeviceToken}).
   */
  async function signIn(request: CredentialCheck) {
    const { user, budget } = await checkWithBudget(request);
    const spentFrom = {
      bucket: budget.bucket as "login_account" | "login_device",
      subject: budget.subject,
    };
    return { user, budget: spentFrom };
  }

  /**
   * A fresh device token for a user who just signed in (at every login, OWASP; the login page's
   * cookie), bound to the hash the user has now and to the factor stamp the sign-in was judged
   * under (`SignInProof.factors`).
   */
  function issueDeviceToken(user: UserRecord, client: string, factors: string | undefined): string {
    const deviceToken = devices.issue(user.id, user.passwordHash, factors);
    emit({ type: "device_token", user_id: user.id, client, outcome: "issued" });
    return deviceToken;
  }

  /**
   * Spends one attempt from a client's login limit (every passkey sign-in, which has no account
   * to count against before it verifies); 429 when refused.
   */
  async function spendClientAttempt(client: string): Promise<void> {
    refuseIf(await limiter.take([clientLimit(client)]), "", { client });
  }

  /**
   * The refusal this instance already knows for a client (over its limit), from memory alone:
   * the server answers such a `/login` before routing or reading its body (`flood_gate.ts`).
   */
  function refusedClient(client: string): Refusal<LoginLimit> | undefined {
    const refusal = limiter.refusedFromMemory([clientLimit(client)]);
    if (refusal) {
      emit({
        type: "login_rate_limited",
        user_id: "",
        client,
        limit: refusal.bucket,
        source: refusal.source,
      });
    }
    return refusal;
  }

  /** What the second step of a login (`mfa/mfa_login.ts`) borrows: these limits, `finish`. */
  const steps: LoginSteps = {
    async spendAttempt(userId, client, budget) {
      // `/login/mfa` is called by the client itself, never through an OAuth client's backend.
      const limit: Limit<LoginLimit> = { ...budget, rate: limits.perAccount };
      refuseIf(await limiter.take([clientLimit(client), limit]), userId, { client });
    },
    giveBack: (budget) => limiter.giveBack({ ...budget, rate: limits.perAccount }),
    finish,
  };

  return {
    login,
    checkCredentials,
    signIn,
    issueDeviceToken,
    spendClientAttempt,
    refusedClient,
    steps,
  };
}

/** The login service's interface. */
export type LoginService = ReturnType<typeof createLoginService>;
