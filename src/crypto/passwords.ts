/**
 * Password hashing with argon2id on one of two backends that share the PHC format
 * (`argon2_backend.ts`): Web Crypto, built into Deno 2.9+, or the `@node-rs/argon2` addon where
 * it loads. Both run off the event loop.
 *
 * Hashes are PHC strings, so their parameters travel with them: a hash made with weaker
 * parameters than {@link OWASP_MINIMUM} verifies and then reports {@link PasswordHasher.needsRehash}.
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
  const hash = (password: string) => slots.run(() => backend.hash(password, params));
  // Made now, not at the first unknown user: that request must cost what every other does.
  const dummy = hash(crypto.randomUUID());
  dummy.catch(() => {}); // a failure surfaces where it is awaited, in verifyDummy
  const verify = async (phc: string, password: string) => {
    // Both backends refuse the same strings: malformed, other variants, or out-of-bounds costs.
    if (parseArgon2idPhc(phc) === undefined) return false;
    try {
      return await slots.run(() => backend.verify(phc, password));
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
    needsRehash: (phc) => phcNeedsRehash(phc, params),
  };
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
