/**
 * The shared login limits: GCRA cells in the store (`gcra.ts`), so every instance sharing the
 * store shares them, fronted by this process's memory so that a refusal costs nothing shared:
 *
 * - a subject the store has refused is remembered as "limited until" (its retry time), and
 *   refused from memory until then: no store read or write, no queue, no hash;
 * - a subject with as many attempts in flight as its limit allows (at most
 *   {@link MAX_IN_FLIGHT}) is refused too: those attempts alone spend its budget, so more could
 *   only wait in a queue.
 *
 * Both maps are bounded ({@link LimiterOptions.maxSubjects}).
 *
 * @module
 */
import type { Rate } from "../duration.ts";
import { ContendedError } from "../errors.ts";
import type { CounterStore, LimitCell } from "./counter_store.ts";

/** The outcome of counting an attempt (the in-memory `/refresh` limiter answers this). */
export interface LimitState {
  readonly limited: boolean;
  /** Whole seconds until the limit allows an attempt (for `Retry-After`). */
  readonly retryAfter: number;
}

/** One limit to spend an attempt from. */
export interface Limit<B extends string = string> {
  readonly bucket: B;
  readonly subject: string;
  readonly rate: Rate;
}

/** Why an attempt was refused, and by which limit. */
export interface Refusal<B extends string = string> {
  readonly bucket: B;
  /** Whole seconds (at least 1) until the limit allows an attempt (for `Retry-After`). */
  readonly retryAfter: number;
  /**
   * `store`: the shared cell refused it (a lock this instance had not seen yet: worth a log
   * line); `memory`: refused from this instance's memory of that; `in_flight`: the subject's
   * budget is all in flight.
   */
  readonly source: "store" | "memory" | "in_flight";
}

/** Most attempts of one subject this instance sends to the store at once. */
export const MAX_IN_FLIGHT = 64;

/** Options of {@link createRateLimiter}. */
export interface LimiterOptions {
  /** Most subjects remembered as limited (the oldest is forgotten first). Default 100,000. */
  readonly maxSubjects?: number;
}

/** The store's cell for a limit. */
export function limitCell(limit: Limit): LimitCell {
  const windowMs = limit.rate.windowSeconds * 1000;
  return {
    bucket: limit.bucket,
    subject: limit.subject,
    costMs: windowMs / limit.rate.max,
    windowMs,
  };
}

/**
 * Creates a limiter over the shared cells, with an injected clock (epoch ms). A cell too
 * contended to update throws `ContendedError` (the API answers 503 `busy`, retry in a second);
 * nothing was spent then, so there is nothing to give back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRateLimiter } from "./rate_limiter.ts";
 * import { KvCounterStore } from "../store/kv_counters.ts";
 * using kv = await Deno.openKv(":memory:");
 * const limiter = createRateLimiter(new KvCounterStore(kv), () => 0);
 * const limit = { bucket: "login_client", subject: "192.0.2.1", rate: { max: 1, windowSeconds: 60 } };
 * assert((await limiter.take([limit])) === undefined);
 * assert((await limiter.take([limit]))?.source === "store");
 * assert((await limiter.take([limit]))?.source === "memory");
 * ```
 */
export function createRateLimiter(
  store: CounterStore,
  now: () => number,
  options: LimiterOptions = {},
) {
  const maxSubjects = options.maxSubjects ?? 100_000;
  const limitedUntil = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const name = (limit: Limit) => `${limit.bucket}\u0000${limit.subject}`;
  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

  function refusedFromMemory<B extends string>(
    limits: readonly Limit<B>[],
    at: number,
  ): Refusal<B> | undefined {
    for (const limit of limits) {
      const key = name(limit);
      const until = limitedUntil.get(key);
      if (until !== undefined) {
        if (until > at) {
          return { bucket: limit.bucket, retryAfter: seconds(until - at), source: "memory" };
        }
        limitedUntil.delete(key);
      }
      if ((inFlight.get(key) ?? 0) >= Math.min(limit.rate.max, MAX_IN_FLIGHT)) {
        return { bucket: limit.bucket, retryAfter: 1, source: "in_flight" };
      }
    }
    return undefined;
  }

  function remember(key: string, until: number): void {
    limitedUntil.delete(key); // re-inserted last: the map's order is the eviction order
    if (limitedUntil.size >= maxSubjects) limitedUntil.delete(limitedUntil.keys().next().value!);
    limitedUntil.set(key, until);
  }

  function track(keys: readonly string[], delta: 1 | -1): void {
    for (const key of keys) {
      const count = (inFlight.get(key) ?? 0) + delta;
      if (count <= 0) inFlight.delete(key);
      else inFlight.set(key, count);
    }
  }

  return {
    /**
     * Spends one attempt from every limit, all or none: `undefined` when all allowed it, else
     * the refusal (nothing was spent then).
     */
    async take<B extends string>(limits: readonly Limit<B>[]): Promise<Refusal<B> | undefined> {
      const at = now();
      const refused = refusedFromMemory(limits, at);
      if (refused) return refused;
      const keys = limits.map(name);
      track(keys, 1);
      let waits: number[];
      try {
        waits = await store.take(limits.map(limitCell), at);
      } finally {
        track(keys, -1);
      }
      let first: Refusal<B> | undefined;
      waits.forEach((waitMs, i) => {
        if (waitMs <= 0) return;
        remember(keys[i]!, at + waitMs);
        first ??= { bucket: limits[i]!.bucket, retryAfter: seconds(waitMs), source: "store" };
      });
      return first;
    },
    /** Gives a spent attempt back (a login that succeeded is no failure). */
    async giveBack(limit: Limit): Promise<void> {
      try {
        await store.giveBack(limitCell(limit), now());
      } catch (err) {
        // An attempt not given back only makes the limit stricter: safe to drop.
        if (!(err instanceof ContendedError)) throw err;
      }
    },
    /**
     * Refuses a subject from this instance's memory for `retryAfterSeconds` (for refusals this
     * instance counts itself, without the store: see `login_service.ts`).
     */
    refuseFor(limit: Limit, retryAfterSeconds: number): void {
      remember(name(limit), now() + retryAfterSeconds * 1000);
    },
    /**
     * The refusal this instance's memory already knows for one of `limits`, with no store call:
     * for checks that should not even read the store for a subject that is refused anyway.
     */
    refusedFromMemory<B extends string>(limits: readonly Limit<B>[]): Refusal<B> | undefined {
      return refusedFromMemory(limits, now());
    },
  };
}

/** The limiter's interface. */
export type RateLimiter = ReturnType<typeof createRateLimiter>;
