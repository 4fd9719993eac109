/**
 * Argon2id through the runtime's Web Crypto (Deno 2.9+): no permission, no native code, off the
 * event loop. The portable baseline: about 3x the native addon's time per hash here.
 *
 * @module
 */
import type { Argon2Backend } from "./argon2_backend.ts";
import { type Argon2Params, formatArgon2idPhc, parseArgon2idPhc } from "./argon2_phc.ts";
import { equalConstantTime } from "./digests.ts";

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const encoder = new TextEncoder();

/**
 * Raw argon2id v1.3 output. Deno's lib.dom types do not yet know the `raw-secret` format or the
 * Argon2 parameters (WICG "Modern Algorithms in the Web Cryptography API"), hence the two casts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveArgon2id } from "./argon2_webcrypto.ts";
 * const params = { memoryCost: 64, timeCost: 1, parallelism: 1 };
 * const out = await deriveArgon2id(new TextEncoder().encode("pw"), new Uint8Array(16), params, 32);
 * assert(out.length === 32);
 * ```
 */
export async function deriveArgon2id(
  password: Uint8Array<ArrayBuffer>,
  salt: Uint8Array<ArrayBuffer>,
  params: Argon2Params,
  outputBytes: number,
  extra: { secretValue?: Uint8Array<ArrayBuffer>; associatedData?: Uint8Array<ArrayBuffer> } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey(
    "raw-secret" as "raw", // cast: the format is newer than lib.dom's KeyFormat
    password,
    "Argon2id",
    false,
    ["deriveBits"],
  );
  const algorithm = {
    name: "Argon2id",
    nonce: salt,
    memory: params.memoryCost,
    passes: params.timeCost,
    parallelism: params.parallelism,
    version: 0x13,
    ...extra,
  };
  // cast: lib.dom has no Argon2Params dictionary yet; the object above is exactly that shape
  const bits = await crypto.subtle.deriveBits(algorithm as Algorithm, key, outputBytes * 8);
  return new Uint8Array(bits);
}

/**
 * The Web Crypto backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webCryptoArgon2 } from "./argon2_webcrypto.ts";
 * const params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
 * const phc = await webCryptoArgon2.hash("correct horse", params);
 * assert(await webCryptoArgon2.verify(phc, "correct horse"));
 * assert(!(await webCryptoArgon2.verify(phc, "wrong horse")));
 * ```
 */
export const webCryptoArgon2: Argon2Backend = Object.freeze({
  name: "webcrypto" as const,
  async hash(password: string, params: Argon2Params): Promise<string> {
    const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    const hash = await deriveArgon2id(encoder.encode(password), salt, params, HASH_BYTES);
    return formatArgon2idPhc(params, salt, hash);
  },
  async verify(phc: string, password: string): Promise<boolean> {
    const parsed = parseArgon2idPhc(phc);
    if (parsed === undefined) return false;
    const derived = await deriveArgon2id(
      encoder.encode(password),
      parsed.salt,
      parsed.params,
      parsed.hash.length,
    );
    return equalConstantTime(derived, parsed.hash);
  },
});
