/**
 * Argon2id PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), the one format both
 * password backends read and write. Base64 is the PHC flavour: standard alphabet, no padding.
 *
 * @module
 */

/** Argon2id cost parameters: memory in KiB, iterations, lanes. */
export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** A parsed argon2id v1.3 PHC string. */
export interface Argon2idPhc {
  readonly params: Argon2Params;
  readonly salt: Uint8Array<ArrayBuffer>;
  readonly hash: Uint8Array<ArrayBuffer>;
}

/**
 * Bounds on what a stored hash may ask for, so a corrupt or hostile record cannot hold a login
 * for minutes or make it allocate a gigabyte. What this server writes is m=19456, t=2, p=1; the
 * bounds leave room for raising that 13x in memory, 8x in passes, or for the strongest common
 * presets (argon2-cffi and RFC 9106's second choice, m=65536 with t=3, p=4), and stop there:
 * one verify at the bounds costs 256 MiB and about 110x a normal one (seconds, not minutes).
 * RFC 9106's first choice (m=2 GiB) is outside on purpose: no login server should hold that
 * per attempt.
 */
export const ARGON2_LIMITS = {
  memoryCost: { min: 8, max: 262_144 }, // 256 MiB
  timeCost: { min: 1, max: 16 },
  parallelism: { min: 1, max: 8 },
  saltBytes: { min: 8, max: 64 },
  hashBytes: { min: 16, max: 64 },
} as const;

const PHC =
  /^\$argon2id\$v=19\$m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * Parses an argon2id v1.3 PHC string; `undefined` for anything malformed or out of bounds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgon2idPhc } from "./argon2_phc.ts";
 * const phc = parseArgon2idPhc(
 *   "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
 * );
 * assert(phc?.params.memoryCost === 19456 && phc.salt.length === 16 && phc.hash.length === 32);
 * assert(parseArgon2idPhc("$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA") === undefined);
 * ```
 */
export function parseArgon2idPhc(phc: string): Argon2idPhc | undefined {
  const match = PHC.exec(phc);
  if (!match) return undefined;
  const params = {
    memoryCost: Number(match[1]),
    timeCost: Number(match[2]),
    parallelism: Number(match[3]),
  };
  const salt = decodePhcBase64(match[4]!);
  const hash = decodePhcBase64(match[5]!);
  if (salt === undefined || hash === undefined) return undefined;
  const within = (value: number, range: { min: number; max: number }) =>
    value >= range.min && value <= range.max;
  if (
    !within(params.memoryCost, ARGON2_LIMITS.memoryCost) ||
    !within(params.timeCost, ARGON2_LIMITS.timeCost) ||
    !within(params.parallelism, ARGON2_LIMITS.parallelism) ||
    params.memoryCost < 8 * params.parallelism || // Argon2's own rule: m >= 8p
    !within(salt.length, ARGON2_LIMITS.saltBytes) || !within(hash.length, ARGON2_LIMITS.hashBytes)
  ) {
    return undefined;
  }
  return { params, salt, hash };
}

/**
 * Writes an argon2id v1.3 PHC string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatArgon2idPhc, parseArgon2idPhc } from "./argon2_phc.ts";
 * const params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
 * const phc = formatArgon2idPhc(params, new Uint8Array(16).fill(1), new Uint8Array(32).fill(2));
 * assert(phc.startsWith("$argon2id$v=19$m=19456,t=2,p=1$AQEBAQEBAQEBAQEBAQEBAQ$"));
 * assert(parseArgon2idPhc(phc)?.hash[0] === 2);
 * ```
 */
export function formatArgon2idPhc(
  params: Argon2Params,
  salt: Uint8Array,
  hash: Uint8Array,
): string {
  const { memoryCost: m, timeCost: t, parallelism: p } = params;
  return `$argon2id$v=19$m=${m},t=${t},p=${p}$${encodePhcBase64(salt)}$${encodePhcBase64(hash)}`;
}

function encodePhcBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

/** Canonical unpadded base64 only: a length of 1 mod 4 or stray low bits are refused. */
function decodePhcBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (text.length % 4 === 1) return undefined;
  let binary: string;
  try {
    binary = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  } catch {
    return undefined;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return encodePhcBase64(bytes) === text ? bytes : undefined;
}
