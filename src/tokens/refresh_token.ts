/**
 * The refresh-token format, as pure functions: no store, no clock, no service. The session
 * service (`sessions.ts`) decides what a token means for a session; this module only makes,
 * reads and proves tokens.
 *
 * A refresh token is 32 bytes, base64url (43 characters): a 16-byte family id, random and fixed
 * for the session, a 12-byte MAC and a 4-byte rotation counter (big-endian). The MAC is
 * HMAC-SHA-256, under a key derived from `SECRET_KEY` ({@link deriveChainKey}), of a label, the
 * family id and the counter; each rotation issues the next counter. So the server can hand the
 * same child out again to whoever presents the parent, without storing it; nobody can compute a
 * token without the key; and the server can prove that it issued any token of the family,
 * however old, without a record of it ({@link macVerifies}). The session's id is a hash of the
 * family id ({@link sidOf}: the `sid` access tokens carry does not reveal it).
 *
 * A token of a session started before this layout (random secret, children HMAC'd from their
 * parent: {@link legacyChildOf}) is proven by its hash alone.
 *
 * @module
 */
import { base64url } from "jose";
import { equalConstantTime, hmacSha256, sha256Base64url, sha256Hex } from "../crypto/digests.ts";

const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const FAMILY_BYTES = 16;
const MAC_BYTES = 12;
const MAC_LABEL = new TextEncoder().encode("refresh-token/v2");

/**
 * The key rotations derive child tokens with: HMAC-SHA-256 of a fixed label under
 * `SECRET_KEY`, so it never equals a signing key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveChainKey } from "./refresh_token.ts";
 * assert.equal(deriveChainKey("a".repeat(32)).length, 32);
 * assert.notDeepEqual(deriveChainKey("a".repeat(32)), deriveChainKey("b".repeat(32)));
 * ```
 */
export function deriveChainKey(secretKey: string): Uint8Array {
  return hmacSha256(secretKey, "refresh-token-chain/v1");
}

/** A fresh family id: random, one per session. */
export function newFamily(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(FAMILY_BYTES));
}

/**
 * A family's token number `counter` under `key`: family id, MAC, counter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { childOf, deriveChainKey, familyOf, macVerifies, newFamily, tokenAt } from "./refresh_token.ts";
 * const key = deriveChainKey("k".repeat(32));
 * const family = newFamily();
 * const first = tokenAt(key, family, 0);
 * assert.equal(first.length, 43);
 * assert.deepEqual(familyOf(first), family);
 * assert.equal(childOf(key, first), tokenAt(key, family, 1));
 * assert(macVerifies(key, first));
 * assert(!macVerifies(deriveChainKey("o".repeat(32)), first));
 * ```
 */
export function tokenAt(key: Uint8Array, family: Uint8Array, counter: number): string {
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, counter >>> 0);
  return base64url.encode(concat(concat(family, macOf(key, family, count)), count));
}

/** The child of a refresh token: same family, the next counter. */
export function childOf(key: Uint8Array, parent: string): string {
  const bytes = base64url.decode(parent);
  const counter = new DataView(bytes.buffer, bytes.byteOffset).getUint32(
    FAMILY_BYTES + MAC_BYTES,
  );
  return tokenAt(key, bytes.slice(0, FAMILY_BYTES), counter + 1);
}

/** The child a version before the MAC layout derived: HMAC(chain key, whole parent). */
export function legacyChildOf(key: Uint8Array, parent: string): string {
  const family = base64url.decode(parent).slice(0, FAMILY_BYTES);
  const secret = hmacSha256(key, parent).subarray(0, 32 - FAMILY_BYTES);
  return base64url.encode(concat(family, secret));
}

/**
 * Whether the token's MAC is the one `key` gives its family and counter: the server issued it
 * (a token of the layout before the MAC, or a forged one, fails). For a well-formed token only
 * ({@link familyOf} is not `undefined`).
 */
export function macVerifies(key: Uint8Array, token: string): boolean {
  const bytes = base64url.decode(token);
  const family = bytes.subarray(0, FAMILY_BYTES);
  const mac = bytes.subarray(FAMILY_BYTES, FAMILY_BYTES + MAC_BYTES);
  const counter = bytes.subarray(FAMILY_BYTES + MAC_BYTES);
  return equalConstantTime(mac, macOf(key, family, counter));
}

/** The family id of a well-formed refresh token; `undefined` for anything else. */
export function familyOf(refreshToken: string): Uint8Array | undefined {
  if (!REFRESH_TOKEN_PATTERN.test(refreshToken)) return undefined;
  return base64url.decode(refreshToken).slice(0, FAMILY_BYTES);
}

/**
 * The session id of a family: a hash, so the `sid` in access tokens does not reveal it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newFamily, sidOf } from "./refresh_token.ts";
 * assert.match(sidOf(newFamily()), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
 * ```
 */
export function sidOf(family: Uint8Array): string {
  const hex = sha256Hex("sid/v1", family);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20, 32)
  }`;
}

/**
 * The hash a session record keeps of a token: SHA-256, base64url. Synchronous: a 43-byte input
 * costs less than one async crypto op's trip.
 */
export function tokenHash(token: string): string {
  return sha256Base64url(token);
}

/** The MAC of a family's token number `counter`. */
function macOf(key: Uint8Array, family: Uint8Array, counter: Uint8Array): Uint8Array {
  return hmacSha256(key, MAC_LABEL, family, counter).subarray(0, MAC_BYTES);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
