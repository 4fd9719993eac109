/**
 * Prometheus metrics (prom-client, one registry per app so tests do not share counters).
 * Labels are closed sets (outcomes, route patterns), never user input.
 *
 * @module
 */
import type * as PromClient from "prom-client";
import type { EventSubscriber } from "./events.ts";
// The package's index also loads its push gateway (node:http, node:tls, node:zlib) and cluster
// support, which this server never uses: about 30 ms of start-up. These three files are all it
// needs; the types are the package's own.
import RegistryModule from "prom-client/lib/registry.js";
import CounterModule from "prom-client/lib/counter.js";
import HistogramModule from "prom-client/lib/histogram.js";

const Registry = RegistryModule as unknown as typeof PromClient.Registry;
const Counter = CounterModule as unknown as typeof PromClient.Counter;
const Histogram = HistogramModule as unknown as typeof PromClient.Histogram;

/** Creates the registry and the server's metrics. */
export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    logins: new Counter({
      name: "auth_logins_total",
      help: "Login attempts by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    refreshes: new Counter({
      name: "auth_refreshes_total",
      help: "Refresh token rotations by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    reuseDetections: new Counter({
      name: "auth_refresh_reuse_detected_total",
      help: "Spent refresh tokens presented again (each revokes its session)",
      registers,
    }),
    revocations: new Counter({
      name: "auth_session_revocations_total",
      help: "Sessions revoked, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: "auth_rate_limited_total",
      help:
        "Requests refused by a rate limit, by limit and by who refused (store: a lock starts; memory: refused at no shared cost; in_flight: the budget is all in flight)",
      labelNames: ["limit", "source"] as const,
      registers,
    }),
    lockouts: new Counter({
      name: "auth_login_lockouts_total",
      help: "Login limits found exhausted in the shared store (a lockout starting), by limit",
      labelNames: ["limit"] as const,
      registers,
    }),
    deviceTokens: new Counter({
      name: "auth_device_tokens_total",
      help: "Device tokens issued, accepted or not counted at login, by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    requestDuration: new Histogram({
      name: "auth_http_request_duration_seconds",
      help: "HTTP request latency by route pattern, method and status",
      labelNames: ["route", "method", "status"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
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
      default:
        return;
    }
  };
}
