/**
 * Password hashing with argon2id (`@node-rs/argon2`, a native addon: about 12 ms a verify here
 * and off the event loop, against about 55 ms on it for the WASM alternative).
 *
 * Hashes are PHC strings, so their parameters travel with them: a hash made with weaker
 * parameters than {@link OWASP_MINIMUM} verifies and then reports {@link PasswordHasher.needsRehash}.
 *
 * @module
 */
import { type Algorithm, hash as argon2Hash, verify as argon2Verify } from "@node-rs/argon2";
import { Semaphore } from "../semaphore.ts";

/** Argon2id cost parameters: memory in KiB, iterations, lanes. */
export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** OWASP's minimum for argon2id: m=19456 KiB (19 MiB), t=2, p=1. */
export const OWASP_MINIMUM: Argon2Params = Object.freeze({
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
});

/** Hashes and checks passwords; one instance per process. */
export interface PasswordHasher {
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
  /** How many hashes may run at once; each holds `memoryCost` KiB. Defaults to the CPU count. */
  readonly maxConcurrent?: number;
}

/**
 * Creates the argon2id hasher.
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
  // `Algorithm` is an ambient const enum, which isolated modules cannot read: 2 is Argon2id.
  const hashOptions = { algorithm: 2 as Algorithm, ...params };
  const hash = (password: string) => slots.run(() => argon2Hash(password, hashOptions));
  // Made now, not at the first unknown user: that request must cost what every other does.
  const dummy = hash(crypto.randomUUID());
  dummy.catch(() => {}); // a failure surfaces where it is awaited, in verifyDummy
  const verify = async (phc: string, password: string) => {
    if (!phc.startsWith("$argon2id$")) return false;
    try {
      return await slots.run(() => argon2Verify(phc, password));
    } catch {
      return false; // a malformed stored hash never lets anyone in
    }
  };
  return {
    hash,
    verify,
    async verifyDummy(password) {
      await verify(await dummy, password);
      return false;
    },
    needsRehash(phc) {
      const stored = parsePhcParams(phc);
      return stored === undefined || stored.memoryCost < params.memoryCost ||
        stored.timeCost < params.timeCost || stored.parallelism < params.parallelism;
    },
  };
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
