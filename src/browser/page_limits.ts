/**
 * The per-address limits of the sign-in pages that have none of their own: `GET /authorize`
 * (a client read, a browser-session read, a code write) and `/end-session` (a token check, a
 * client read, a browser-session read and delete). Each page has its own bucket, counted like the
 * OAuth endpoints' (`oauth/endpoint_limits.ts`): in this instance's memory, per caller address
 * (IPv6 by /64), at `REFRESH_LIMIT_PER_CLIENT`, the budget for work that guards the instance
 * rather than a secret. The login form's POST is not counted here: the login limits guard it.
 *
 * @module
 */
import { limitSubject } from "../client_address.ts";
import type { Rate } from "../duration.ts";
import type { EmitEvent } from "../events.ts";
import type { MemoryRateLimiter } from "../limits/memory_rate_limiter.ts";

/** A page with a limit of its own. */
export type LimitedPage = "authorize" | "end_session";

/** Dependencies of {@link createPageLimits}. */
export interface PageLimitDeps {
  readonly limiter: MemoryRateLimiter;
  /** Requests per caller address, per page. */
  readonly perAddress: Rate;
  readonly onEvent?: EmitEvent;
}

/**
 * Creates the limits. `count` answers `undefined` when the request may go on, else the seconds
 * to wait (the page answers 429 with `Retry-After`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryRateLimiter } from "../limits/memory_rate_limiter.ts";
 * import { createPageLimits } from "./page_limits.ts";
 * const limits = createPageLimits({
 *   limiter: createMemoryRateLimiter(() => 0),
 *   perAddress: { max: 1, windowSeconds: 60 },
 * });
 * assert.equal(limits.count("authorize", "192.0.2.1"), undefined);
 * assert.ok(limits.count("authorize", "192.0.2.1")! > 0);
 * assert.equal(limits.count("end_session", "192.0.2.1"), undefined, "a bucket per page");
 * assert.equal(limits.count("authorize", "192.0.2.2"), undefined);
 * ```
 */
export function createPageLimits(deps: PageLimitDeps) {
  return {
    /** One request of `page` from `address`: `undefined`, or the `Retry-After` seconds. */
    count(page: LimitedPage, address: string): number | undefined {
      const state = deps.limiter.hit(`page_${page}`, limitSubject(address), deps.perAddress);
      if (!state.limited) return undefined;
      deps.onEvent?.({ type: "rate_limited", limit: "sign_in_page" });
      return state.retryAfter;
    },
  };
}

/** The sign-in pages' limits' interface. */
export type PageLimits = ReturnType<typeof createPageLimits>;
