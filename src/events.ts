/**
 * The one stream of domain events: the services emit, and the log, the metrics and the session
 * gate subscribe (wired in `services.ts`). Services never call back into those directly.
 *
 * @module
 */
import type { ErrorCode } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { createLogThrottle } from "./log_throttle.ts";
import type { KeptSession } from "./users/user_store.ts";

/**
 * The login limits, by purpose: per client address, per account, per device token, and per
 * signed-in session (`me_session`: the codes a session presents at `/me/mfa/*`, keyed by its
 * `sid`, so that wrong passwords from elsewhere cannot lock the user's own session out).
 */
export type LoginLimit =
  | "login_client"
  | "login_oauth_client"
  | "login_account"
  | "login_device"
  | "me_session";

/**
 * Who refused: the shared store (a lock this instance had not seen: the start of a lockout),
 * this instance's memory of that, or the subject's whole budget being in flight.
 */
export type LimitSource = "store" | "memory" | "in_flight";

/** What became of a device token: issued at a login, accepted, or not counted (and why). */
export type DeviceTokenOutcome =
  | "issued"
  | "accepted"
  | "invalid"
  | "expired"
  | "other_user"
  | "password_changed"
  | "factors_changed";

/** What happened. Field names are the log's. */
export type DomainEvent =
  | { readonly type: "session_started"; readonly sid: string; readonly sub: string }
  | {
    readonly type: "refreshed";
    readonly sid: string;
    readonly sub: string;
    readonly grace: boolean;
  }
  | { readonly type: "refresh_reused"; readonly sid: string; readonly sub: string }
  /** A refresh refused for another reason than reuse (the code it is answered with). */
  | { readonly type: "refresh_refused"; readonly outcome: ErrorCode }
  | {
    readonly type: "session_revoked";
    readonly sid: string;
    readonly sub: string;
    readonly reason: string;
  }
  /**
   * Any change to a user's record (caches forget what they knew). `uid` and `epoch` are the
   * user's after it (`epoch` is `Infinity` when the user was removed): sessions of an older
   * epoch, or of another uid, are over.
   */
  | {
    readonly type: "user_changed";
    readonly user_id: string;
    readonly uid: string;
    readonly epoch: number;
    /** The session a self-service password change kept across the epoch bump. */
    readonly kept?: KeptSession | undefined;
  }
  | {
    readonly type: "login";
    readonly user_id: string;
    readonly role: string;
    readonly client: string;
  }
  | { readonly type: "login_failed"; readonly user_id: string; readonly client: string }
  | {
    readonly type: "login_rate_limited";
    readonly user_id: string;
    readonly client: string;
    readonly limit: LoginLimit;
    readonly source: LimitSource;
  }
  /** A device token presented or issued at a login (never the token itself). */
  | {
    readonly type: "device_token";
    readonly user_id: string;
    readonly client: string;
    readonly outcome: DeviceTokenOutcome;
  }
  | { readonly type: "login_role_not_allowed"; readonly user_id: string }
  /**
   * A user's stored password hash is malformed or asks for more than the hasher verifies
   * (`ARGON2_LIMITS`): a store integrity problem. Never carries the hash.
   */
  | { readonly type: "password_hash_unusable"; readonly user_id: string }
  /** A limit of this instance refused a request (the login limits have their own event). */
  | { readonly type: "rate_limited"; readonly limit: RefreshLimit }
  /**
   * An OAuth client was removed or its secret rotated: the sessions issued to it have ended
   * (the session gate forgets what it cached for them).
   */
  | { readonly type: "client_changed"; readonly client_id: string }
  /** A second factor became active (never its secret). */
  | { readonly type: "mfa_enrolled"; readonly user_id: string; readonly method: "totp" }
  /** Every factor of a user was removed: by the user, an admin or the CLI. */
  | { readonly type: "mfa_reset"; readonly user_id: string; readonly by: "user" | "admin" | "cli" }
  | { readonly type: "mfa_recovery_codes_renewed"; readonly user_id: string }
  /**
   * A login's second step (never the code or the `mfa_token`): issued after the password,
   * passed (with the method), failed (a wrong code), exhausted (the wrong code that ended it).
   */
  | {
    readonly type: "mfa_challenge";
    readonly user_id: string;
    readonly client: string;
    readonly outcome: "issued" | "passed" | "failed" | "exhausted";
    readonly method?: "totp" | "recovery_code" | "passkey";
  }
  | { readonly type: "passkey_registered"; readonly user_id: string }
  | { readonly type: "passkey_removed"; readonly user_id: string }
  /** A sign-in with a passkey (never the credential or the challenge). */
  | {
    readonly type: "passkey_sign_in";
    readonly user_id: string;
    readonly outcome: "passed" | "failed";
  }
  /** A service account (OAuth client_credentials) was issued a token. */
  | { readonly type: "client_token"; readonly client_id: string; readonly scope: string }
  /**
   * The store made a request fail with 503: `answer` is its code (`unavailable`, `busy`,
   * `not_ready`), `operation` the store call, `cause` the store's own words, passwords in a URL
   * masked (`store_failure.ts`). Logged at error level, one line per cause per second.
   */
  | {
    readonly type: "store_failed";
    readonly answer: ErrorCode;
    readonly operation?: string | undefined;
    readonly cause: string;
  };

/** The limits of this instance's memory: refreshes per address or per OAuth client. */
export type RefreshLimit =
  | "refresh_client"
  | "refresh_oauth_client"
  | "oauth_endpoint"
  | "sign_in_page";

/** Where services send events. */
export type EmitEvent = (event: DomainEvent) => void;

/** At most one `store_failed` line per cause in this long. */
export const STORE_FAILURE_LOG_INTERVAL_MS = 1000;

/** One subscriber. */
export type EventSubscriber = (event: DomainEvent) => void;

/**
 * Creates an event stream; subscribers run in order, synchronously, on each emit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEventStream, type DomainEvent } from "./events.ts";
 * const events = createEventStream();
 * const seen: DomainEvent[] = [];
 * events.subscribe((e) => seen.push(e));
 * events.emit({ type: "user_changed", user_id: "ada", uid: "u1", epoch: 0 });
 * assert(seen.length === 1);
 * ```
 */
export function createEventStream() {
  const subscribers: EventSubscriber[] = [];
  return {
    emit: ((event) => {
      for (const subscriber of subscribers) subscriber(event);
    }) as EmitEvent,
    subscribe(subscriber: EventSubscriber): void {
      subscribers.push(subscriber);
    },
  };
}

/** The event stream's interface. */
export type EventStream = ReturnType<typeof createEventStream>;

/**
 * The log subscriber: which events are logged, at which level, under which name. `now` paces
 * the store failures' lines (one per cause per second, with how many were kept quiet).
 */
export function logEvents(logger: Logger, now: () => number = Date.now): EventSubscriber {
  const storeFailures = createLogThrottle(now, STORE_FAILURE_LOG_INTERVAL_MS);
  return (event) => {
    switch (event.type) {
      case "session_started":
      case "refreshed":
      case "login":
      case "mfa_enrolled":
      case "mfa_recovery_codes_renewed":
      case "passkey_registered":
      case "passkey_removed":
      case "passkey_sign_in":
      case "client_token": {
        const { type, ...fields } = event;
        return logger.info(type, fields);
      }
      case "refresh_reused":
      case "session_revoked":
      case "mfa_reset":
      case "login_failed": {
        const { type, ...fields } = event;
        return logger.warn(type, fields);
      }
      case "password_hash_unusable":
        return logger.error("password_hash_unusable", {
          user_id: event.user_id,
          problem: "stored password hash is malformed or outside the accepted argon2id " +
            "parameters; the user cannot log in until the password is reset",
        });
      case "login_rate_limited":
        // A lock of an account or a device is worth a line when it starts (the store refused);
        // refusals from memory and a client over its limit are counted, not logged, so a flood
        // cannot flood the log.
        if (event.limit !== "login_client" && event.source === "store") {
          logger.warn("login_locked", {
            user_id: event.user_id,
            client: event.client,
            limit: event.limit,
          });
        }
        return;
      case "mfa_challenge": {
        const { type: _, ...fields } = event;
        if (event.outcome === "failed" || event.outcome === "exhausted") {
          return logger.warn("mfa_challenge", fields);
        }
        return logger.info("mfa_challenge", fields);
      }
      case "store_failed": {
        const { type, ...fields } = event;
        const quiet = storeFailures.admit(`${event.answer} ${event.operation} ${event.cause}`);
        if (quiet !== undefined) {
          logger.error(type, quiet > 0 ? { ...fields, suppressed: quiet } : fields);
        }
        return;
      }
      case "device_token":
        if (event.outcome !== "issued" && event.outcome !== "accepted") {
          const { type: _, ...fields } = event;
          logger.warn("device_token_rejected", fields);
        }
        return;
      default:
        return;
    }
  };
}
