/**
 * A bounded cache of verified access tokens, so a client that sends the same token for its
 * whole lifetime pays for one signature check, not one per request.
 *
 * Keyed by the exact token string (nothing but the same bytes hits), never used past the
 * token's `exp`, and checked against the live key set on every hit, so a retired key's tokens
 * stop passing at once. Revocation is not its business: `requireAuth` still asks `isActive`.
 *
 * @module
 */
import type { AccessClaims } from "./access_token.ts";

interface Entry {
  readonly claims: AccessClaims;
  readonly kid: string;
  readonly expiresAtMs: number;
}

/**
 * A least-recently-inserted bounded map from token to verified claims.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VerifiedTokenCache } from "./verified_token_cache.ts";
 * const cache = new VerifiedTokenCache(2);
 * const claims = { sub: "ada", role: "user", iat: 0, exp: 60, iss: "me", jti: "j", sid: "s" };
 * cache.set("t1", claims, "kid1");
 * assert(cache.get("t1", 59_000)?.claims.sub === "ada");
 * assert(cache.get("t1", 60_000) === undefined); // at exp: gone
 * ```
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries = 10_000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError("VerifiedTokenCache size must be a positive integer");
    }
    this.#maxEntries = maxEntries;
  }

  /** The cached verification of exactly `token`, if it has not expired at `nowMs`. */
  get(token: string, nowMs: number): { claims: AccessClaims; kid: string } | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.expiresAtMs) {
      this.#entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, claims: AccessClaims, kid: string): void {
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { claims, kid, expiresAtMs: claims.exp * 1000 });
  }

  get size(): number {
    return this.#entries.size;
  }
}
