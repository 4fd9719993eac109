/**
 * The one definition of a user's OpenID Connect subject: the `sub` of ID tokens and `/userinfo`,
 * and whatever compares one (an `id_token_hint`'s `sub` against the signed-in user).
 *
 * Relying parties key accounts on (`iss`, `sub`) (Core 5.7), so `sub` must never be reassigned
 * (Core 2). The user id is not that: a user removed and created again under the same name is
 * another person. The user's internal id (`UserRecord.uid`, a random UUID given at creation, kept
 * by every change and by `deno task store` moves, never given to another user) is. Access tokens
 * keep the user id as `sub` (the product contract: resource services key on it); ID tokens carry
 * the user id as `preferred_username` instead.
 *
 * @module
 */
import { sha256Base64url } from "../crypto/digests.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The OpenID subject of the user whose internal id is `userUid`: `userUid(user)`
 * (`users/user_store.ts`), or the `userUid` a session, browser session or authorization code
 * was bound to. A UUID is the subject as it is. A record written before uids existed has
 * `id:<user id>` instead (kept once written, and never given to a user created since); its
 * subject is that string's SHA-256, base64url: Core 2 wants at most 255 ASCII characters, and a
 * user id may be neither.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oidcSubject } from "./subject.ts";
 * const uid = "0b0f3c1e-9a4d-4e2b-8f51-3c2d7a9e6b10";
 * assert.equal(oidcSubject(uid), uid);
 * assert.equal(oidcSubject("id:ada").length, 43);
 * assert.equal(oidcSubject("id:ada"), oidcSubject("id:ada"));
 * assert.notEqual(oidcSubject("id:ada"), "ada");
 * ```
 */
export function oidcSubject(userUid: string): string {
  return UUID.test(userUid) ? userUid : sha256Base64url(userUid);
}
