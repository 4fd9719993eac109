/**
 * Password hashing with argon2id on one of two backends that share the PHC format
 * (`argon2_backend.ts`): Web Crypto, built into Deno 2.9+, or the `@node-rs/argon2` addon where
 * it loads. Both run off the event loop.
 *
 * Hashes are PHC strings, so their parameters travel with them: a hash made with weaker
 * parameters than {@link OWASP_MINIMUM} verifies and then reports {@link PasswordHasher.needsRehash}.
 *
 * Timing parity across a parameter change: an unknown user costs one verify of a dummy made with
 * this hasher's parameters. A stored hash made with other parameters is verified at its own
 * (cheaper or dearer) cost, so that verify holds its slot at least as long as one of the last
 * 16 verifies at the current parameters took, drawn at random, sleeping out the difference: the
 * same median and about the same spread as a current verify. A wrong password then costs the
 * same whether the account is unknown, current or not yet upgraded. Residual risk: a stored hash
 * dearer than the current parameters (imported, or the parameters were lowered) still takes
 * longer than an unknown user, and is never upgraded (`needsRehash` only upgrades weaker
 * hashes); the samples follow load changes a few verifies late; and a sleep holds no CPU, so a
 * prober who also loads the machine could tell a padded verify from a real one.
 *
 * @module
 */
import { Semaphore } from "../semaphore.ts";
import type { Argon2Backend, Argon2BackendName } from "./argon2_backend.ts";
import { type Argon2Params, parseArgon2idPhc } from "./argon2_phc.ts";
import { webCryptoArgon2 } from "./argon2_webcrypto.ts";

export type { Argon2Params } from "./argon2_phc.ts";

/** OWASP's minimum for argon2id: m=19456 KiB (19 MiB), t=2, p=1. */
export const OWASP_MINIMUM: Argon2Params = Object.freeze({
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
});

/** Hashes and checks passwords; one instance per process. */
export interface PasswordHasher {
  /** The backend doing the work. */
  readonly backend: Argon2BackendName;
  hash(password: string): Promise<string>;
  /** True when `password` matches `phc`; false for a mismatch or a malformed hash. */
  verify(phc: string, password: string): Promise<boolean>;
  /** Spends the time of a real verify and returns false: for unknown users. */
  verifyDummy(password: string): Promise<false>;
  /**
   * True when `phc` is an argon2id v1.3 string within the bounds `verify` accepts
   * (`ARGON2_LIMITS`); `verify` of any other string is false at once, without hashing.
   */
  accepts(phc: string): boolean;
  /** True when `phc` was made with weaker parameters than this hasher's. */
  needsRehash(phc: string): boolean;
}

/** Options for {@link createPasswordHasher}. */
export interface HasherOptions {
  readonly params?: Argon2Params;
  /** Defaults to Web Crypto, which is always there; `selectArgon2Backend` picks per config. */
  readonly backend?: Argon2Backend;
  /** How many hashes may run at once; each holds `memoryCost` KiB. Defaults to the CPU count. */
  readonly maxConcurrent?: number;
}

/**
 * Creates the argon2id hasher on `options.backend` (Web Crypto unless given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPasswordHasher } from "./passwords.ts";
 * const hasher = createPasswordHasher();
 * const phc = await hasher.hash("correct horse battery");
 * assert(await hasher.verify(phc, "correct horse battery"));
 * assert(!(await hasher.verify(phc, "wrong")));
 * ```
 */
export function createPasswordHasher(options: HasherOptions = {}): PasswordHasher {
  const params = options.params ?? OWASP_MINIMUM;
  if (
    params.memoryCost < OWASP_MINIMUM.memoryCost || params.timeCost < OWASP_MINIMUM.timeCost ||
    params.parallelism < 1
  ) {
    throw new TypeError("Argon2id parameters must be at least OWASP's m=19456, t=2, p=1");
  }
  // Bounds memory (each hash holds 19 MiB) and keeps hashing from starving the event loop: more
  // hashes at once than cores only queue inside the thread pool, with more memory and latency.
  const slots = new Semaphore(options.maxConcurrent ?? Math.max(1, navigator.hardwareConcurrency));
  const backend = options.backend ?? webCryptoArgon2;
  const currentCost = new RecentSamples(16);
  /** Runs `work` at the current parameters, recording how long it took. */
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      currentCost.add(performance.now() - started);
    }
  };
  const hash = (password: string) => slots.run(() => timed(() => backend.hash(password, params)));
  // Made now, not at the first unknown user: that request must cost what every other does.
  const dummy = hash(crypto.randomUUID());
  dummy.catch(() => {}); // a failure surfaces where it is awaited, in verifyDummy
  const verify = async (phc: string, password: string) => {
    // Both backends refuse the same strings: malformed, other variants, or out-of-bounds costs.
    const stored = parseArgon2idPhc(phc);
    if (stored === undefined) return false;
    try {
      if (sameParams(stored.params, params)) {
        return await slots.run(() => timed(() => backend.verify(phc, password)));
      }
      // Other parameters: as long as a recent current verify, or longer (see the module doc).
      return await slots.run(() =>
        atLeast(currentCost.pick(), () => backend.verify(phc, password))
      );
    } catch {
      return false; // a malformed stored hash never lets anyone in
    }
  };
  return {
    backend: backend.name,
    hash,
    verify,
    async verifyDummy(password) {
      await verify(await dummy, password);
      return false;
    },
    accepts: (phc) => parseArgon2idPhc(phc) !== undefined,
    needsRehash: (phc) => phcNeedsRehash(phc, params),
  };
}

function sameParams(a: Argon2Params, b: Argon2Params): boolean {
  return a.memoryCost === b.memoryCost && a.timeCost === b.timeCost &&
    a.parallelism === b.parallelism;
}

/** Runs `work`, then waits out whatever is left of `ms` (a slower `work` is not cut short). */
async function atLeast<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  const left = ms - (performance.now() - started);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  return result;
}

/** The last `size` samples; `pick` draws one at random (0 before the first). */
class RecentSamples {
  readonly #samples: number[] = [];
  readonly #size: number;
  #next = 0;

  constructor(size: number) {
    this.#size = size;
  }

  add(sample: number): void {
    this.#samples[this.#next] = sample;
    this.#next = (this.#next + 1) % this.#size;
  }

  pick(): number {
    return this.#samples[Math.floor(Math.random() * this.#samples.length)] ?? 0;
  }
}

/**
 * True when `phc` was made with weaker parameters than `params` (or is not argon2id PHC).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OWASP_MINIMUM, phcNeedsRehash } from "./passwords.ts";
 * assert(!phcNeedsRehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", OWASP_MINIMUM));
 * assert(phcNeedsRehash("$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQ$aGFzaA", OWASP_MINIMUM));
 * ```
 */
export function phcNeedsRehash(phc: string, params: Argon2Params): boolean {
  const stored = parsePhcParams(phc);
  return stored === undefined || stored.memoryCost < params.memoryCost ||
    stored.timeCost < params.timeCost || stored.parallelism < params.parallelism;
}

/**
 * Reads m, t and p from an argon2id PHC string; `undefined` for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePhcParams } from "./passwords.ts";
 * const p = parsePhcParams("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA");
 * assert(p?.memoryCost === 19456 && p.timeCost === 2 && p.parallelism === 1);
 * ```
 */
export function parsePhcParams(phc: string): Argon2Params | undefined {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (!match) return undefined;
  return {
    memoryCost: Number(match[1]),
    timeCost: Number(match[2]),
    parallelism: Number(match[3]),
  };
}
