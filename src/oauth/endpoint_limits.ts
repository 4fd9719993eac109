/**
 * The limits of the OAuth endpoints that have none of their own: `/oauth/revoke` (open to
 * public callers), `/oauth/introspect` and the client_credentials grant, each a store read or
 * more, and the authorization_code grant's refusals to public callers (a wrong, spent or foreign
 * code costs the client's read and the code's; a confidential client's are not counted, see
 * `countRefusal`). Counted like `/refresh`, in this instance's memory: per caller
 * address (`REFRESH_LIMIT_PER_CLIENT`) when no client authenticates (a public client's id proves
 * nothing), per authenticated client (`REFRESH_LIMIT_PER_OAUTH_CLIENT`) when one does. A failed
 * client authentication at any OAuth endpoint counts against the address, and an address or a
 * claimed client already over its limit is refused before the client is read.
 *
 * @module
 */
import { limitSubject } from "../client_address.ts";
import type { Rate } from "../duration.ts";
import { tooManyAttempts } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import type { MemoryRateLimiter } from "../limits/memory_rate_limiter.ts";
import type { LimitState } from "../limits/rate_limiter.ts";

/** Dependencies of {@link createOAuthEndpointLimits}. */
export interface OAuthEndpointLimitDeps {
  readonly limiter: MemoryRateLimiter;
  /** Per caller address, for public callers and failed authentications. */
  readonly perAddress: Rate;
  /** Per authenticated client. */
  readonly perClient: Rate;
  readonly onEvent?: EmitEvent;
}

/**
 * Creates the limits. Each method throws `ApiError` `too_many_attempts` (429 with `Retry-After`,
 * RFC 6749's shape at the OAuth door) when a limit refuses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryRateLimiter } from "../limits/memory_rate_limiter.ts";
 * import { createOAuthEndpointLimits } from "./endpoint_limits.ts";
 * const limits = createOAuthEndpointLimits({
 *   limiter: createMemoryRateLimiter(() => 0),
 *   perAddress: { max: 1, windowSeconds: 60 },
 *   perClient: { max: 5, windowSeconds: 60 },
 * });
 * limits.count("192.0.2.1", undefined);
 * assert.throws(() => limits.refuseEarly("192.0.2.1", undefined));
 * limits.refuseEarly("192.0.2.2", "svc");
 * ```
 */
export function createOAuthEndpointLimits(deps: OAuthEndpointLimitDeps) {
  const { limiter, perAddress, perClient } = deps;
  const emit: EmitEvent = (event) => deps.onEvent?.(event);
  const refuse = (state: LimitState) => {
    emit({ type: "rate_limited", limit: "oauth_endpoint" });
    return tooManyAttempts(state.retryAfter);
  };
  /** The one rule: the authenticated client's budget, or else the address's. */
  const hit = (address: string, clientId: string | undefined) =>
    clientId === undefined
      ? limiter.hit("oauth_address", limitSubject(address), perAddress)
      : limiter.hit("oauth_client", clientId, perClient);

  return {
    /** Before any store read: the address, or the client it claims, is already over its limit. */
    refuseEarly(address: string, claimedClient: string | undefined): void {
      const byAddress = limiter.peek("oauth_address", limitSubject(address), perAddress);
      if (byAddress.limited) throw refuse(byAddress);
      if (claimedClient === undefined) return;
      const byClient = limiter.peek("oauth_client", claimedClient, perClient);
      if (byClient.limited) throw refuse(byClient);
    },
    /** A failed client authentication: counted against the address. */
    countFailure(address: string): void {
      limiter.hit("oauth_address", limitSubject(address), perAddress);
    },
    /** One request of a limited endpoint, by the authenticated client or else the address. */
    count(address: string, clientId: string | undefined): void {
      const state = hit(address, clientId);
      if (state.limited) throw refuse(state);
    },
    /**
     * One refused request of a grant limited by its refusals (the authorization_code grant). A
     * caller no secret proves (a public client, or none) spends from its address's budget; over
     * it, `refuseEarly` refuses it from the next request on, so other addresses' refusals never
     * cost a public client's users their exchanges. An authenticated confidential client's
     * refusals are not counted: it forwards whatever `?code=` reaches its callback, so on its
     * own budget they would let anyone who can reach that callback lock the client out of every
     * OAuth endpoint, and its secret already says who can make it read.
     */
    countRefusal(address: string, clientId: string | undefined): void {
      if (clientId === undefined) limiter.hit("oauth_address", limitSubject(address), perAddress);
    },
  };
}

/** The OAuth endpoint limits' interface. */
export type OAuthEndpointLimits = ReturnType<typeof createOAuthEndpointLimits>;
