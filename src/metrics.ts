/**
 * The server's Prometheus metrics (one registry per app, so tests do not share counters), on the
 * small exporter in `prometheus.ts`. Labels are closed sets (outcomes, route patterns), never
 * user input.
 *
 * @module
 */
import type { EventSubscriber } from "./events.ts";
import { Counter, Histogram, Registry } from "./prometheus.ts";

/** Creates the registry and the server's metrics. */
export function createMetrics() {
  const registry = new Registry();
  return {
    registry,
    logins: new Counter(registry, "auth_logins_total", "Login attempts by outcome", ["outcome"]),
    refreshes: new Counter(
      registry,
      "auth_refreshes_total",
      "Refresh token rotations by outcome",
      ["outcome"],
    ),
    reuseDetections: new Counter(
      registry,
      "auth_refresh_reuse_detected_total",
      "Spent refresh tokens presented again (each revokes its session)",
    ),
    revocations: new Counter(
      registry,
      "auth_session_revocations_total",
      "Sessions revoked, by reason",
      ["reason"],
    ),
    rateLimited: new Counter(
      registry,
      "auth_rate_limited_total",
      "Requests refused by a rate limit, by limit and by who refused (store: a lock starts; memory: refused at no shared cost; in_flight: the budget is all in flight)",
      ["limit", "source"],
    ),
    lockouts: new Counter(
      registry,
      "auth_login_lockouts_total",
      "Login limits found exhausted in the shared store (a lockout starting), by limit",
      ["limit"],
    ),
    deviceTokens: new Counter(
      registry,
      "auth_device_tokens_total",
      "Device tokens issued, accepted or not counted at login, by outcome",
      ["outcome"],
    ),
    mfaEnrolments: new Counter(
      registry,
      "auth_mfa_enrolments_total",
      "Second factors made active, by method",
      ["method"],
    ),
    mfaChallenges: new Counter(
      registry,
      "auth_mfa_challenges_total",
      "Second steps of logins: issued, passed (by method), failed, exhausted (the fifth wrong code)",
      ["outcome", "method"],
    ),
    mfaResets: new Counter(
      registry,
      "auth_mfa_resets_total",
      "Removals of every second factor of a user, by who asked (user, admin, cli)",
      ["by"],
    ),
    passkeySignIns: new Counter(
      registry,
      "auth_passkey_sign_ins_total",
      "Sign-ins with a passkey, by outcome",
      ["outcome"],
    ),
    passkeyRegistrations: new Counter(
      registry,
      "auth_passkey_registrations_total",
      "Passkeys registered",
    ),
    requestDuration: new Histogram(
      registry,
      "auth_http_request_duration_seconds",
      "HTTP request latency by route pattern, method and status",
      ["route", "method", "status"],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
  };
}

/** The server's metrics. */
export type Metrics = ReturnType<typeof createMetrics>;

/** The metrics subscriber of the event stream. */
export function countEvents(metrics: Metrics): EventSubscriber {
  return (event) => {
    switch (event.type) {
      case "refreshed":
        return metrics.refreshes.inc({ outcome: event.grace ? "grace" : "success" });
      case "refresh_reused":
        metrics.reuseDetections.inc();
        metrics.refreshes.inc({ outcome: "reused" });
        return metrics.revocations.inc({ reason: "refresh reuse" });
      case "refresh_refused":
        return metrics.refreshes.inc({ outcome: event.outcome });
      case "session_revoked":
        return metrics.revocations.inc({ reason: event.reason });
      case "login":
        return metrics.logins.inc({ outcome: "success" });
      case "login_failed":
        return metrics.logins.inc({ outcome: "invalid_credentials" });
      case "login_role_not_allowed":
        return metrics.logins.inc({ outcome: "role_not_allowed" });
      case "login_rate_limited":
        metrics.rateLimited.inc({ limit: event.limit, source: event.source });
        if (event.source === "store") metrics.lockouts.inc({ limit: event.limit });
        return metrics.logins.inc({ outcome: "rate_limited" });
      case "rate_limited":
        return metrics.rateLimited.inc({ limit: event.limit, source: "memory" });
      case "device_token":
        return metrics.deviceTokens.inc({ outcome: event.outcome });
      case "mfa_enrolled":
        return metrics.mfaEnrolments.inc({ method: event.method });
      case "mfa_challenge":
        return metrics.mfaChallenges.inc({
          outcome: event.outcome,
          method: event.method ?? "none",
        });
      case "mfa_reset":
        return metrics.mfaResets.inc({ by: event.by });
      case "passkey_sign_in":
        return metrics.passkeySignIns.inc({ outcome: event.outcome });
      case "passkey_registered":
        return metrics.passkeyRegistrations.inc();
      default:
        return;
    }
  };
}
