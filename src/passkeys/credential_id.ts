/**
 * What a WebAuthn credential id is on the wire: the base64url (RFC 4648 section 5, no padding) of
 * at most 1,023 bytes (WebAuthn L2 section 5.1: `rawId` is at most 1023 bytes). It names a store
 * key, so anything else (1,024 'é' are 2,048 bytes, over Deno KV's key limit) is refused before
 * it gets there: the routes' schemas, the login page's form and the service all ask this.
 *
 * @module
 */

/** Most bytes in a credential id (WebAuthn L2 section 5.1). */
export const MAX_CREDENTIAL_ID_BYTES = 1023;
/** Most characters of its base64url: 1,023 bytes are 341 groups of 3, 4 characters each. */
export const MAX_CREDENTIAL_ID_LENGTH = Math.ceil(MAX_CREDENTIAL_ID_BYTES / 3) * 4;
/** Unpadded base64url: groups of 4, then 2 or 3 characters (1 is no whole byte). */
export const CREDENTIAL_ID_PATTERN = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/;

/**
 * Whether `id` is a credential id as this server takes one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCredentialId } from "./credential_id.ts";
 * assert(isCredentialId("3q2-7w"));
 * assert(!isCredentialId("3q2+7w==") && !isCredentialId("") && !isCredentialId("é".repeat(1024)));
 * ```
 */
export function isCredentialId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_CREDENTIAL_ID_LENGTH && CREDENTIAL_ID_PATTERN.test(id);
}
