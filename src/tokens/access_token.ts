/**
 * Access tokens: signing (the server) and verification (the server and every other service).
 * No HTTP here; `middleware/require_auth.ts` wraps {@link verifyAccessToken}.
 *
 * @module
 */
import {
  base64url,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { ApiError } from "../errors.ts";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "./algorithms.ts";
import type { KeyRing } from "../crypto/keys.ts";
import {
  type AccessTokenClaims,
  readAccessTokenClaims,
  REQUIRED_ACCESS_TOKEN_CLAIMS,
} from "../oidc/claims.ts";

/**
 * The verified claims of an access token (`CLAIMS` in `oidc/claims.ts`); `sid`, the session id,
 * is present in every user token this server issues (service-account tokens have none, and carry
 * `client_id`, `scope` and `client_gen` instead).
 */
export type AccessClaims = AccessTokenClaims;

/** Whom a token is for: a user's session, or a service account (no session, with scopes). */
export interface TokenSubject {
  readonly sub: string;
  readonly role: string;
  readonly sid?: string;
  readonly client_id?: string;
  readonly scope?: string;
  readonly client_gen?: string;
  /** RFC 8176 authentication methods (user tokens). */
  readonly amr?: readonly string[];
  /**
   * Epoch seconds the token must not outlive (not a claim): a session's absolute end
   * (`SESSION_MAX_AGE`). `exp` is the earlier of this and `iat + TOKEN_TTL`.
   */
  readonly notAfter?: number;
}

/**
 * The `role` claim of service-account tokens. `@` is outside the user role alphabet, so no
 * `roles: [...]` check written for users ever accepts a service account by accident.
 */
export const SERVICE_ACCOUNT_ROLE = "@client";

/**
 * Whether a token speaks for a service account (client_credentials) rather than a user: it names
 * a client and has no session, or has the service-account role.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isServiceAccountToken } from "./access_token.ts";
 * assert(isServiceAccountToken({ role: "@client", client_id: "svc" }));
 * assert(!isServiceAccountToken({ role: "user", sid: "s" }));
 * ```
 */
export function isServiceAccountToken(
  claims: Pick<AccessClaims, "role" | "client_id" | "sid">,
): boolean {
  return claims.role === SERVICE_ACCOUNT_ROLE ||
    (claims.client_id !== undefined && claims.sid === undefined);
}

/** What the signer needs; `keys` is read per call so a reload (SIGHUP) takes effect. */
export interface SignerOptions {
  readonly keys: () => KeyRing;
  readonly issuer: string;
  readonly audience: string | undefined;
  /** Lifetime in seconds; `exp - iat` of every token. */
  readonly ttl: number;
}

/** A freshly signed access token. */
export interface SignedToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly claims: AccessClaims;
}

/**
 * Signs access tokens with the active key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hmacKeyRing } from "../crypto/keys.ts";
 * import { createAccessTokenSigner } from "./access_token.ts";
 * const ring = await hmacKeyRing("0123456789abcdefghijklmnopqrstuvwxyz", []);
 * const sign = createAccessTokenSigner({ keys: () => ring, issuer: "me", audience: undefined, ttl: 1800 });
 * const { claims } = await sign({ sub: "ada", role: "user", sid: "s1" }, Date.now());
 * assert(claims.exp - claims.iat === 1800);
 * ```
 */
export function createAccessTokenSigner(options: SignerOptions) {
  if (!Number.isInteger(options.ttl) || options.ttl < 1) throw new TypeError("ttl must be >= 1");
  return async function signAccessToken(
    subject: TokenSubject,
    nowMs: number,
  ): Promise<SignedToken> {
    const { signing } = options.keys();
    const iat = Math.floor(nowMs / 1000);
    const exp = Math.max(iat, Math.min(iat + options.ttl, subject.notAfter ?? Infinity));
    const claims: AccessClaims = {
      sub: subject.sub,
      role: subject.role,
      iat,
      exp,
      iss: options.issuer,
      jti: crypto.randomUUID(),
      ...(subject.sid !== undefined ? { sid: subject.sid } : {}),
      ...(options.audience !== undefined ? { aud: options.audience } : {}),
      ...(subject.client_id !== undefined ? { client_id: subject.client_id } : {}),
      ...(subject.scope !== undefined ? { scope: subject.scope } : {}),
      ...(subject.client_gen !== undefined ? { client_gen: subject.client_gen } : {}),
      ...(subject.amr !== undefined ? { amr: [...subject.amr] } : {}),
    };
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: signing.alg, typ: "JWT", kid: signing.kid })
      .sign(signing.key);
    return { token, expiresIn: exp - iat, claims };
  };
}

/** Resolves a `kid` and the header's `alg` to a key; `undefined` refuses the token. */
export type KeyResolver = (
  kid: string,
  alg: string,
  header: Record<string, unknown>,
  token: string,
) => Promise<CryptoKey | undefined> | CryptoKey | undefined;

/** How {@link verifyAccessToken} checks a token. */
export interface VerifyOptions {
  readonly resolveKey: KeyResolver;
  /** The only algorithms accepted, whatever the token's header says. */
  readonly algorithms: readonly SigningAlgorithm[];
  readonly issuer: string;
  readonly audience?: string | undefined;
  /** Current time in epoch milliseconds. */
  readonly now: number;
}

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192;

/** Header members that point at keys elsewhere; a token that carries one is refused. */
const FORBIDDEN_HEADERS = ["jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "b64", "crit"];

/**
 * Verifies an access token: signature with a known key for its `kid`, an allowed algorithm that
 * matches that key, `typ: JWT`, `exp` (required), `iat`, `iss`, `aud` when configured, and the
 * claim types. Throws `ApiError("invalid_token")` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hmacKeyRing } from "../crypto/keys.ts";
 * import { createAccessTokenSigner, keyRingResolver, verifyAccessToken } from "./access_token.ts";
 * const ring = await hmacKeyRing("0123456789abcdefghijklmnopqrstuvwxyz", []);
 * const sign = createAccessTokenSigner({ keys: () => ring, issuer: "me", audience: undefined, ttl: 60 });
 * const { token } = await sign({ sub: "ada", role: "user", sid: "s1" }, Date.now());
 * const claims = await verifyAccessToken(token, {
 *   resolveKey: keyRingResolver(() => ring), algorithms: ["HS256"], issuer: "me", now: Date.now(),
 * });
 * assert(claims.sub === "ada");
 * ```
 */
export async function verifyAccessToken(
  token: string,
  options: VerifyOptions,
): Promise<AccessClaims> {
  if (
    token.length > MAX_TOKEN_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token) ||
    !token.split(".").every(isCanonicalBase64Url)
  ) {
    throw invalid("malformed token");
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    throw invalid("malformed token");
  }
  if (FORBIDDEN_HEADERS.some((name) => name in header)) {
    throw invalid("token header is not allowed");
  }
  const { kid, alg } = header;
  if (typeof kid !== "string" || kid === "" || kid.length > 256) {
    throw invalid("token has no valid kid");
  }
  if (typeof alg !== "string" || !(options.algorithms as readonly string[]).includes(alg)) {
    throw invalid(algorithmRefusal(alg, options.algorithms));
  }
  const key = await options.resolveKey(kid, alg, header, token);
  if (!key) throw invalid("token key is unknown");

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [alg],
      issuer: options.issuer,
      ...(options.audience !== undefined ? { audience: options.audience } : {}),
      typ: "JWT",
      requiredClaims: [...REQUIRED_ACCESS_TOKEN_CLAIMS],
      currentDate: new Date(options.now),
    }));
  } catch (err) {
    throw invalid(describeJoseError(err));
  }
  return checkClaimTypes(payload);
}

/**
 * A {@link KeyResolver} over a local key ring: the `kid` must name a key and the header's
 * `alg` must be that key's own algorithm.
 */
export function keyRingResolver(keys: () => KeyRing): KeyResolver {
  return (kid, alg) => {
    const known = keys().verification.get(kid);
    return known && known.alg === alg ? known.key : undefined;
  };
}

/**
 * Only one spelling of each byte string is accepted, so two different token strings never
 * carry the same signature (anything that compares token strings stays sound).
 */
function isCanonicalBase64Url(segment: string): boolean {
  try {
    return base64url.encode(base64url.decode(segment)) === segment;
  } catch {
    return false;
  }
}

/** The claim types of `oidc/claims.ts`, the one definition of what an access token carries. */
function checkClaimTypes(payload: JWTPayload): AccessClaims {
  const read = readAccessTokenClaims(payload);
  if ("wrong" in read) throw invalid(`token claim ${read.wrong} is missing or of the wrong type`);
  return read.claims;
}

/** jose's errors told apart by their stable `code` (panva/jose `util/errors.ts`), never by class. */
function describeJoseError(err: unknown): string {
  switch (joseErrorCode(err)) {
    case errors.JWTExpired.code:
      return "token expired";
    case errors.JWTClaimValidationFailed.code: {
      const claim = (err as { claim?: unknown }).claim;
      return typeof claim === "string" ? `token claim ${claim} is invalid` : "invalid token";
    }
    case errors.JWSSignatureVerificationFailed.code:
      return "token signature is invalid";
    default:
      return "invalid token";
  }
}

/**
 * The `code` of a jose error (`ERR_JWT_EXPIRED`, `ERR_JWKS_NO_MATCHING_KEY`, ...), else
 * `undefined`. A code holds across copies of jose a class check would tell apart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errors } from "jose";
 * import { joseErrorCode } from "./access_token.ts";
 * assert.equal(joseErrorCode(new errors.JWTExpired("expired", {})), "ERR_JWT_EXPIRED");
 * assert.equal(joseErrorCode(new Error("other")), undefined);
 * ```
 */
export function joseErrorCode(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("ERR_") ? code : undefined;
}

function invalid(message: string): ApiError {
  return new ApiError("invalid_token", message);
}

/**
 * Why a token's `alg` is refused. A name the server could have signed with is named, with the
 * ones accepted here; for an HS256 token at a verifier of public-key algorithms (a JWKS), also
 * the fix, since that is what a new resource service meets with the default `JWT_ALG`. Any other
 * value (attacker-chosen header text) is never echoed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { algorithmRefusal } from "./access_token.ts";
 * assert.equal(algorithmRefusal("none", ["HS256"]), "token algorithm is not allowed");
 * assert.equal(algorithmRefusal("EdDSA", ["HS256"]), "token algorithm EdDSA is not accepted here (only HS256)");
 * assert.match(algorithmRefusal("HS256", ["EdDSA", "ES256", "RS256"]), /SECRET_KEY.*asymmetric JWT_ALG/);
 * ```
 */
export function algorithmRefusal(alg: unknown, accepted: readonly SigningAlgorithm[]): string {
  if (!(SIGNING_ALGORITHMS as readonly unknown[]).includes(alg)) {
    return "token algorithm is not allowed";
  }
  const refused = `token algorithm ${alg} is not accepted here (only ${accepted.join(", ")})`;
  if (alg !== "HS256" || accepted.includes("HS256")) return refused;
  return `${refused}: an HS256 token verifies only with the secret that signed it, which no ` +
    "JWKS holds; give this service the auth server's SECRET_KEY (key: importHmacKey(secret)), " +
    "or have the auth server sign with an asymmetric JWT_ALG (EdDSA, ES256 or RS256)";
}
