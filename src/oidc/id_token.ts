/**
 * OpenID Connect ID tokens (Core 1.0 section 2 and 3.1.3.6): `iss`, `sub`, `aud` (the client),
 * `exp`, `iat`, `auth_time`, `nonce`, `sid` (the browser session), `amr` (RFC 8176), `azp` and
 * `at_hash`, signed with RS256, the algorithm OpenID Connect Discovery 1.0 section 3 requires every
 * provider to support and the one relying parties expect when they register none
 * (`id_token_signed_response_alg` defaults to RS256): under `JWT_ALG=RS256` with the access-token
 * key, under `ES256` and `EdDSA` with an RS256 key of its own kept in the same stored key set
 * (`keys/key_set.ts`, `use: "id_token"`), rotated with the access-token key. Both public halves
 * are at `jwks_uri`; access tokens never verify against the ID-token key. There is no per-client
 * algorithm registration, so ID tokens are RS256 for every client, and the discovery document
 * lists exactly that.
 *
 * Under `JWT_ALG=HS256` there is no such key: the only secret is `SECRET_KEY`, and an ID token a
 * relying party must verify with our secret cannot be verified by it at all (Core 10.1 would have
 * it use its own `client_secret`, which we store only as a hash). So the server refuses the
 * `openid` scope under HS256 ({@link idTokenKey} is `undefined`) and its OpenID configuration
 * says so; the code flow without `openid` still works. Set `JWT_ALG` to RS256, ES256 or EdDSA for
 * OpenID Connect (ID tokens are RS256 under each).
 *
 * @module
 */
import { base64url, SignJWT } from "jose";
import { sha256, sha512 } from "../crypto/digests.ts";
import type { KeyRing, SigningKey } from "../crypto/keys.ts";
import type { IdTokenPayload } from "./claims.ts";

/** The claims an ID token is made of. */
export interface IdTokenClaims {
  readonly issuer: string;
  readonly subject: string;
  readonly clientId: string;
  readonly nonce?: string | undefined;
  /** Epoch ms the user entered credentials. */
  readonly authTime: number;
  readonly sid: string;
  readonly amr: readonly string[];
  /** The access token issued beside it (for `at_hash`). */
  readonly accessToken: string;
  /** Lifetime in seconds (the access token's). */
  readonly ttl: number;
  readonly now: number;
}

/**
 * The key ID tokens are signed with: the ring's RS256 ID-token key (under `JWT_ALG=RS256` its
 * access-token key), none under HS256.
 */
export function idTokenKey(ring: KeyRing): SigningKey | undefined {
  return ring.idTokenSigning;
}

/**
 * The ID token's `sub` for a signed-in user (an authorization code's, a browser session's): the
 * one place it is computed, so the code exchange that issues ID tokens and `/authorize`, which
 * compares an `id_token_hint` with the browser's user, cannot drift apart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { idTokenSubject } from "./id_token.ts";
 * assert.equal(idTokenSubject({ userId: "ada", userUid: "u-1" }), "ada");
 * ```
 */
export function idTokenSubject(
  signedIn: { readonly userId: string; readonly userUid: string },
): string {
  return signedIn.userId;
}

/**
 * `at_hash` (Core 3.1.3.6): the left half of the access token's hash under the hash of the ID
 * token's `alg` (SHA-256 for RS256 and ES256; SHA-512 for EdDSA over Ed25519, as OpenID's
 * errata and openid-client have it), base64url.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accessTokenHash } from "./id_token.ts";
 * assert.equal(accessTokenHash("token", "RS256").length, 22);
 * assert.equal(accessTokenHash("token", "EdDSA").length, 43);
 * ```
 */
export function accessTokenHash(accessToken: string, alg: string): string {
  const digest = alg === "EdDSA" ? sha512(accessToken) : sha256(accessToken);
  return base64url.encode(digest.subarray(0, digest.length / 2));
}

/** Signs an ID token with `key`: the claims `CLAIMS` (`oidc/claims.ts`) puts in ID tokens. */
export function signIdToken(key: SigningKey, claims: IdTokenClaims): Promise<string> {
  const iat = Math.floor(claims.now / 1000);
  const payload: IdTokenPayload = {
    iss: claims.issuer,
    sub: claims.subject,
    aud: claims.clientId,
    exp: iat + claims.ttl,
    iat,
    sid: claims.sid,
    amr: [...claims.amr],
    auth_time: Math.floor(claims.authTime / 1000),
    ...(claims.nonce !== undefined ? { nonce: claims.nonce } : {}),
    azp: claims.clientId,
    at_hash: accessTokenHash(claims.accessToken, key.alg),
  };
  return new SignJWT({ ...payload })
    .setProtectedHeader({ alg: key.alg, typ: "JWT", kid: key.kid })
    .sign(key.key);
}
