/**
 * Spending a refresh token, apart from HTTP: the per-client refresh limit, the rotation, and the
 * refusal counted as an event. `POST /refresh` and the OAuth refresh_token grant are two doors
 * onto it.
 *
 * @module
 */
import { limitSubject } from "../client_address.ts";
import type { Rate } from "../duration.ts";
import { toApiError, tooManyAttempts } from "../errors.ts";
import type { EmitEvent, RefreshLimit } from "../events.ts";
import type { MemoryRateLimiter } from "../limits/memory_rate_limiter.ts";
import type { SessionClient } from "./session_store.ts";
import type { SessionService, TokenPair } from "./sessions.ts";

/** Dependencies of {@link createRefreshService}. */
export interface RefreshDeps {
  readonly sessions: Pick<SessionService, "refresh">;
  /** This instance's own (memory) limiter the per-client refresh limit counts in. */
  readonly limiter: MemoryRateLimiter;
  readonly perClient: Rate;
  /** The budget of one authenticated OAuth client, whatever address it calls from. */
  readonly perOAuthClient?: Rate;
  readonly onEvent?: EmitEvent;
}

/** One refresh. */
export interface RefreshRequest {
  readonly refreshToken: string;
  /** The client address the per-client limit counts against. */
  readonly client: string;
  /**
   * The OAuth client that authenticated (refresh_token grant); none at `/refresh`. Its own
   * budget replaces the address's, and the session must be its own, in its generation.
   */
  readonly oauthClient?: SessionClient | undefined;
  /** The end user's address, named by a client trusted to forward it: counted as well. */
  readonly endUserAddress?: string | undefined;
}

/**
 * Creates the refresh service. `refresh` throws `ApiError` (`too_many_attempts` and the session
 * service's refusals), or a store error the API maps to 503.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryRateLimiter } from "../limits/memory_rate_limiter.ts";
 * import { createRefreshService } from "./refresh_service.ts";
 * const pair = { token: "t", token_type: "Bearer" as const, expires_in: 60, refresh_token: "r" };
 * const service = createRefreshService({
 *   sessions: { refresh: () => Promise.resolve(pair) },
 *   limiter: createMemoryRateLimiter(Date.now),
 *   perClient: { max: 1, windowSeconds: 60 },
 * });
 * assert.equal(await service.refresh({ refreshToken: "r", client: "192.0.2.1" }), pair);
 * await assert.rejects(service.refresh({ refreshToken: "r", client: "192.0.2.1" }));
 * ```
 */
export function createRefreshService(deps: RefreshDeps) {
  const emit: EmitEvent = (event) => deps.onEvent?.(event);

  /** Counts one refresh under the limits of who sends it; throws when one refuses it. */
  function count({ client, oauthClient, endUserAddress }: RefreshRequest): void {
    const clientId = oauthClient?.public === true ? undefined : oauthClient?.clientId;
    const limits: [RefreshLimit, string, Rate][] = clientId === undefined
      ? [["refresh_client", limitSubject(client), deps.perClient]]
      : [["refresh_oauth_client", clientId, deps.perOAuthClient ?? deps.perClient]];
    if (clientId !== undefined && endUserAddress !== undefined) {
      limits.push(["refresh_client", limitSubject(endUserAddress), deps.perClient]);
    }
    for (const [name, subject, rate] of limits) {
      const limit = deps.limiter.hit(name, subject, rate);
      if (limit.limited) {
        emit({ type: "rate_limited", limit: name });
        throw tooManyAttempts(limit.retryAfter);
      }
    }
  }

  async function refresh(request: RefreshRequest): Promise<TokenPair> {
    const { refreshToken, oauthClient } = request;
    count(request);
    try {
      return await deps.sessions.refresh(refreshToken, oauthClient);
    } catch (err) {
      // Successes and reuse are counted from the session service's own events; the others here.
      const answer = toApiError(err);
      if (answer && answer.code !== "refresh_token_reused") {
        emit({ type: "refresh_refused", outcome: answer.code });
      }
      throw err;
    }
  }

  return { refresh };
}

/** The refresh service's interface. */
export type RefreshService = ReturnType<typeof createRefreshService>;
