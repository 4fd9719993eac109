/**
 * The composition root of the services: the one place that wires the stores, the clock, the
 * keys and the hasher into the user, session, login, refresh and OAuth client services, the
 * limiters, the session gate and the event stream with its subscribers (log, metrics, gate).
 * The server, the CLI and the tests all build their services here; no HTTP (`app.ts` builds
 * that on top).
 *
 * @module
 */
import {
  type AuthorizationCodes,
  createAuthorizationCodes,
} from "./browser/authorization_codes.ts";
import { type BrowserSessions, createBrowserSessions } from "./browser/browser_sessions.ts";
import { createSignOut, type SignOut } from "./browser/sign_out.ts";
import { createPageLimits, type PageLimits } from "./browser/page_limits.ts";
import type { Config } from "./config/parse_config.ts";
import type { KeyRing } from "./crypto/keys.ts";
import { createKeyAdmin, type KeyAdmin } from "./keys/key_admin.ts";
import type { PasswordHasher } from "./crypto/passwords.ts";
import { createEventStream, type EventStream, logEvents } from "./events.ts";
import { createMemoryRateLimiter } from "./limits/memory_rate_limiter.ts";
import { createRateLimiter } from "./limits/rate_limiter.ts";
import type { Logger } from "./logger.ts";
import { countEvents, createMetrics, type Metrics } from "./metrics.ts";
import { type ClientService, createClientService } from "./oauth/client_service.ts";
import { createOAuthEndpointLimits, type OAuthEndpointLimits } from "./oauth/endpoint_limits.ts";
import type { Stores } from "./store/stores.ts";
import { createAccessTokenSigner } from "./tokens/access_token.ts";
import { createRefreshService, type RefreshService } from "./tokens/refresh_service.ts";
import { createSessionGate, type SessionGate } from "./tokens/session_gate.ts";
import { createSessionService, deriveChainKey, type SessionService } from "./tokens/sessions.ts";
import { createDeviceTokens } from "./users/device_tokens.ts";
import { createLoginService, type LoginService } from "./users/login_service.ts";
import { createMfaLogin, type MfaLogin } from "./mfa/mfa_login.ts";
import { createMfaService, type MfaService } from "./mfa/mfa_service.ts";
import { createSecretBox } from "./mfa/secret_box.ts";
import { createPasskeyService, type PasskeyService } from "./passkeys/passkey_service.ts";
import { createUserService, type UserService } from "./users/user_service.ts";

/** What the services are built from. */
export interface ServiceDeps {
  readonly config: Config;
  readonly stores: Stores;
  /** The live key ring (replaced on SIGHUP). */
  readonly keys: () => KeyRing;
  readonly hasher: PasswordHasher;
  readonly logger: Logger;
  /** Epoch milliseconds; tests pass a clock they move by hand. */
  readonly now?: () => number;
}

/** The services the HTTP routes, the CLI and the tests call. */
export interface Services {
  readonly stores: Stores;
  /** The live key ring. */
  readonly keys: () => KeyRing;
  readonly now: () => number;
  readonly users: UserService;
  readonly sessions: SessionService;
  /** Password sign-in: `POST /login` and the OAuth password grant. */
  readonly login: LoginService;
  /** Second factors: enrolment, recovery codes, removal. */
  readonly mfa: MfaService;
  /** The second step of logins (`POST /login/mfa`). */
  readonly mfaLogin: MfaLogin;
  /** Passkeys (WebAuthn): registration, sign-in without a password. */
  readonly passkeys: PasskeyService;
  /** Spending a refresh token: `POST /refresh` and the OAuth refresh_token grant. */
  readonly refresh: RefreshService;
  /** OAuth clients (service accounts). */
  readonly clients: ClientService;
  /** The limits of `/oauth/revoke`, `/oauth/introspect` and client_credentials. */
  readonly oauthLimits: OAuthEndpointLimits;
  /** Is an access token's session still live (the auth server's own `requireAuth` check). */
  readonly gate: SessionGate;
  readonly metrics: Metrics;
  /** The domain events; log, metrics and gate already subscribe. */
  readonly events: EventStream;
  /** Browser sign-in: single sign-on sessions, and the codes `/authorize` hands out. */
  readonly browserSessions: BrowserSessions;
  readonly codes: AuthorizationCodes;
  /** Logout of a sign-in: its browser session and the token sessions it issued, together. */
  readonly signOut: SignOut;
  /** The per-address limits of `/authorize` and `/end-session`. */
  readonly pageLimits: PageLimits;
  /** Signing keys in the store: list, rotate, retire, reencrypt (`deno task keys`, `/admin/keys`). */
  readonly keyAdmin: KeyAdmin;
}

/** Builds every service over `deps`. */
export function createServices(deps: ServiceDeps): Services {
  const { config, stores } = deps;
  const now = deps.now ?? Date.now;
  const metrics = createMetrics();
  const gate = createSessionGate({ store: stores.sessions, clients: stores.clients, now });
  const events = createEventStream();
  events.subscribe(logEvents(deps.logger, now));
  events.subscribe(countEvents(metrics));
  events.subscribe(gate.onEvent);

  const signAccessToken = createAccessTokenSigner({
    keys: deps.keys,
    issuer: config.issuer,
    audience: config.audience,
    ttl: config.tokenTtl,
  });
  const sessions = createSessionService({
    store: stores.sessions,
    signAccessToken,
    refreshTtl: config.refreshTtl,
    graceSeconds: config.refreshGraceSeconds,
    sessionMaxAge: config.sessionMaxAge,
    maxSessionsPerUser: config.maxSessionsPerUser,
    chainKey: deriveChainKey(config.secretKey),
    now,
    onEvent: events.emit,
  });
  const users = createUserService({
    store: stores.users,
    hasher: deps.hasher,
    now,
    sessions: {
      deleteUserSessions: (userUid) => stores.sessions.deleteUserSessions(userUid),
    },
    onEvent: events.emit,
  });
  const mfa = createMfaService({
    store: stores.mfa,
    box: createSecretBox(config.secretKey, config.previousSecretKeys),
    issuerLabel: issuerLabel(config.issuer),
    now,
    onEvent: events.emit,
    passkeys: stores.passkeys,
  });
  const passkeys = createPasskeyService({
    store: stores.passkeys,
    issuer: config.issuer,
    now,
    onEvent: events.emit,
  });
  const mfaLogin = createMfaLogin({
    mfa,
    passkeys,
    store: stores.mfa,
    userStore: stores.users,
    steps: () => login.steps,
    now,
    onEvent: events.emit,
  });
  const login = createLoginService({
    users,
    userStore: stores.users,
    sessions,
    limiter: createRateLimiter(stores.counters, now),
    devices: createDeviceTokens({
      secret: config.secretKey,
      ttlSeconds: config.deviceTokenTtl,
      now,
    }),
    limits: {
      perClient: config.loginLimitPerClient,
      perAccount: config.loginLimitPerAccount,
      perOAuthClient: config.loginLimitPerOAuthClient,
    },
    onEvent: events.emit,
    secondFactor: mfaLogin,
    now,
  });
  const refresh = createRefreshService({
    sessions,
    // This instance's own (memory): the per-client refresh limit.
    limiter: createMemoryRateLimiter(now),
    perClient: config.refreshLimitPerClient,
    perOAuthClient: config.refreshLimitPerOAuthClient,
    onEvent: events.emit,
  });
  const clients = createClientService({
    store: stores.clients,
    now,
    signAccessToken,
    onEvent: events.emit,
  });
  const oauthLimits = createOAuthEndpointLimits({
    limiter: createMemoryRateLimiter(now),
    perAddress: config.refreshLimitPerClient,
    perClient: config.refreshLimitPerOAuthClient,
    onEvent: events.emit,
  });
  const browserSessions = createBrowserSessions({
    store: stores.browserSessions,
    users: stores.users,
    maxAge: config.sessionMaxAge,
    now,
  });
  const codes = createAuthorizationCodes({
    store: stores.authorizationCodes,
    browserSessions: stores.browserSessions,
    users: stores.users,
    sessions,
    now,
  });
  const pageLimits = createPageLimits({
    limiter: createMemoryRateLimiter(now),
    perAddress: config.refreshLimitPerClient,
    onEvent: events.emit,
  });
  const signOut = createSignOut({
    browserSessions: stores.browserSessions,
    sessionStore: stores.sessions,
    sessions,
  });
  const keyAdmin = createKeyAdmin({
    store: stores.keys,
    config,
    now,
    note: (line) => deps.logger.info("keys_note", { message: line }),
  });
  return {
    stores,
    keys: deps.keys,
    now,
    users,
    sessions,
    login,
    mfa,
    mfaLogin,
    passkeys,
    refresh,
    clients,
    oauthLimits,
    gate,
    metrics,
    events,
    browserSessions,
    codes,
    signOut,
    pageLimits,
    keyAdmin,
  };
}

/** The name authenticator apps show: the issuer's host when it is a URL, else the issuer. */
function issuerLabel(issuer: string): string {
  try {
    return new URL(issuer).host || issuer;
  } catch {
    return issuer;
  }
}
