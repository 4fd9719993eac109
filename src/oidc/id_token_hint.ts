/**
 * Reading an `id_token_hint` (OpenID Connect RP-Initiated Logout 1.0 section 2): an ID token this
 * server signed, for some client. Its signature and issuer must hold; its expiry need not (the
 * spec: "The OP need not be the audience ... an expired ID Token is acceptable", as a relying
 * party often logs out after the token's short life). Its `alg` must be the own algorithm of the
 * key its `kid` names among the keys that signed ID tokens (`KeyRing.idTokenVerification`: the
 * RS256 ID-token keys, and the access-token keys, which signed the ID tokens of 2.21.0 and earlier
 * and still do under RS256); an HS256 secret never signed one.
 *
 * @module
 */
import { compactVerify, decodeProtectedHeader } from "jose";
import type { KeyRing } from "../crypto/keys.ts";

/** What a valid hint tells: the client (`aud`), the user and the browser session. */
export interface IdTokenHint {
  readonly clientId: string;
  readonly sub: string;
  readonly sid: string | undefined;
}

/** The hint's claims when this server signed it for `issuer`, else `undefined`. */
export async function readIdTokenHint(
  token: string,
  ring: KeyRing,
  issuer: string,
): Promise<IdTokenHint | undefined> {
  if (token.length > 8192) return undefined;
  try {
    const header = decodeProtectedHeader(token);
    const keys = ring.idTokenVerification;
    const key = typeof header.kid === "string" ? keys?.get(header.kid) : undefined;
    // Only an asymmetric key of its own algorithm: an HS256 secret never signed an ID token.
    if (!key || key.alg === "HS256" || key.alg !== header.alg) return undefined;
    const { payload } = await compactVerify(token, key.key, { algorithms: [key.alg] });
    const claims = JSON.parse(new TextDecoder().decode(payload));
    const aud = Array.isArray(claims.aud) && claims.aud.length === 1 ? claims.aud[0] : claims.aud;
    if (claims.iss !== issuer || typeof aud !== "string" || typeof claims.sub !== "string") {
      return undefined;
    }
    return {
      clientId: aud,
      sub: claims.sub,
      sid: typeof claims.sid === "string" ? claims.sid : undefined,
    };
  } catch {
    return undefined;
  }
}
