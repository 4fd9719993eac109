/**
 * What a password backend does: make and check argon2id PHC strings. Two implementations share
 * the format, so a hash made by one verifies with the other: `argon2_webcrypto.ts` (built into
 * Deno 2.9+, always there) and `argon2_native.ts` (`@node-rs/argon2`, faster, where it loads).
 *
 * @module
 */
import type { Argon2Params } from "./argon2_phc.ts";

/** What `PASSWORD_HASHER` may say; the first is the default. */
export const PASSWORD_HASHER_CHOICES = ["auto", "webcrypto", "native"] as const;
export type PasswordHasherChoice = (typeof PASSWORD_HASHER_CHOICES)[number];

/** The backends `PASSWORD_HASHER` can name, besides `auto`. */
export type Argon2BackendName = "webcrypto" | "native";

/** One argon2id implementation. */
export interface Argon2Backend {
  readonly name: Argon2BackendName;
  /** A PHC string for `password` under a fresh random 16-byte salt and a 32-byte output. */
  hash(password: string, params: Argon2Params): Promise<string>;
  /** True when `password` matches `phc`; false for a mismatch or a malformed hash. */
  verify(phc: string, password: string): Promise<boolean>;
}

/** How a backend is described in the start-up line. */
export const BACKEND_LABELS: Readonly<Record<Argon2BackendName, string>> = {
  webcrypto: "Web Crypto",
  native: "native @node-rs/argon2",
};
