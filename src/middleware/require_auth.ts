/**
 * `requireAuth`: the Hono middleware that verifies this server's access tokens, for the server
 * itself and for every other service of the system.
 *
 * ```ts
 * import { Hono } from "hono";
 * import { requireAuth } from "./require_auth.ts";
 * const app = new Hono();
 * const issuer = "http://localhost:10000";
 * const auth = { issuer, jwksUrl: `${issuer}/.well-known/jwks.json` };
 * // Users only (the default): a service account's token, whose `sub` is a client id, is refused.
 * app.use("/orders/*", requireAuth(auth));
 * app.get("/orders/mine", (c) => c.json({ owner: c.get("auth").sub }));
 * // Service accounts (client_credentials) holding a scope.
 * app.use("/reports/*", requireAuth({ ...auth, subjects: "clients", scopes: ["stats"] }));
 * ```
 *
 * It pins the algorithms, requires `exp`, checks `iss` (and `aud` when given), accepts only a
 * `kid` that names a known key whose own algorithm is the token's and that signs access tokens
 * (never the server's RS256 ID-token key, which its JWKS marks `token_use: "id_token"`), and
 * answers 401/403 with
 * RFC 6750 `WWW-Authenticate` headers. It answers by itself, so it works in any Hono app
 * whatever that app's error handler does.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type FetchImplementation,
} from "jose";
import { ASYMMETRIC_ALGORITHMS, type SigningAlgorithm } from "../tokens/algorithms.ts";
import type { ErrorCode } from "../errors.ts";
import { ApiError } from "../errors.ts";
import type { KeyRing, VerificationKey } from "../crypto/keys.ts";
import {
  type AccessClaims,
  isServiceAccountToken,
  joseErrorCode,
  type KeyResolver,
  keyRingResolver,
  verifyAccessToken,
} from "../tokens/access_token.ts";
import { VerifiedTokenCache } from "../tokens/verified_token_cache.ts";
import { isMultiFactor } from "../tokens/amr.ts";
import {
  createIntrospectionCheck,
  type IntrospectionOptions,
  IntrospectionUnavailable,
} from "./introspection.ts";

export type { AccessClaims } from "../tokens/access_token.ts";
export { importHmacKey } from "../crypto/keys.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The verified access token claims, set by `requireAuth`. */
    auth: AccessClaims;
  }
}

/** Options of {@link requireAuth}. Give exactly one of `key`, `keyRing` or `jwksUrl`. */
export interface RequireAuthOptions {
  /** Expected `iss`. */
  readonly issuer: string;
  /** Expected `aud`, when tokens carry one. */
  readonly audience?: string | undefined;
  /** Known keys, by `kid` (e.g. from `importHmacKey(secret)` for HS256). */
  readonly key?: VerificationKey | readonly VerificationKey[];
  /** A live key ring, read per request (the auth server itself, so SIGHUP reloads apply). */
  readonly keyRing?: () => KeyRing;
  /** A remote JWKS, cached and refetched on an unknown `kid` after a cooldown. */
  readonly jwksUrl?: string | URL;
  /** Accepted algorithms; default: the keys' own, or EdDSA, ES256, RS256 for a JWKS. */
  readonly algorithms?: readonly SigningAlgorithm[];
  /**
   * Whose tokens pass: `"users"` (people who signed in: the default), `"clients"` (service
   * accounts, client_credentials) or `"any"`. A service-account token has the role `@client`,
   * or a `client_id` and no `sid`; its `sub` is a client id, which may equal a user id. Others
   * get 403 `subject_not_allowed` with `error="insufficient_scope"` (RFC 6750 section 3.1): the
   * token is valid, it is the wrong kind of principal for this route, and no new token of the
   * same kind would help. The default is `"clients"` when `scopes` is given, as only
   * service-account tokens carry scopes.
   */
  readonly subjects?: "users" | "clients" | "any";
  /** When given, the token's `role` must be one of these (403 otherwise). */
  readonly roles?: readonly string[];
  /**
   * When given, the token's `scope` claim must hold every one of these (403
   * `insufficient_scope` otherwise): for service-account tokens (client_credentials).
   */
  readonly scopes?: readonly string[];
  /**
   * `true`: only tokens of a login with a second factor pass (their `amr`, RFC 8176, says so:
   * `["pwd", "otp"]`, a passkey); others get 403 `mfa_required` with
   * `error="insufficient_user_authentication"` (RFC 9470's step-up challenge): sign in again with
   * the second factor.
   */
  readonly mfa?: boolean;
  /**
   * Ask the auth server's introspection endpoint (RFC 7662) too, so revocations are seen before
   * `exp`; answers are cached briefly (see {@link IntrospectionOptions}). When it cannot answer:
   * 503 with `Retry-After`, never 401.
   */
  readonly introspection?: IntrospectionOptions;
  /** The realm in `WWW-Authenticate`. */
  readonly realm?: string;
  /** Remote JWKS tuning, in milliseconds. */
  readonly jwks?: {
    readonly cooldown?: number;
    readonly cacheMaxAge?: number;
    readonly timeout?: number;
    readonly fetch?: FetchImplementation;
  };
  /**
   * Extra check after the signature, e.g. "is this session revoked?"; false refuses (401). When
   * it throws, the error goes to the app's error handler: it cannot tell, so it does not refuse.
   */
  readonly isActive?: (claims: AccessClaims) => Promise<boolean> | boolean;
  /**
   * Cache verified tokens (exact string, until `exp`, only while their key is still known):
   * `true` for 10,000 entries, or a number. Off by default. `isActive` still runs every time.
   */
  readonly cache?: boolean | number;
  /** Current time in epoch milliseconds; injected by tests. */
  readonly now?: () => number;
}

/**
 * Builds the middleware. Bad options throw a `TypeError` here, not on the first request.
 */
export function requireAuth(options: RequireAuthOptions): MiddlewareHandler {
  const sources = [options.key, options.keyRing, options.jwksUrl].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw new TypeError("requireAuth needs exactly one of key, keyRing, jwksUrl");
  }
  if (!options.issuer) throw new TypeError("requireAuth needs an issuer");
  const { resolveKey, algorithms, isKnownKid } = keySource(options);
  if (algorithms().length === 0) throw new TypeError("requireAuth needs at least one algorithm");
  const realm = (options.realm ?? "auth").replace(/["\\]/g, "");
  const now = options.now ?? Date.now;
  const roles = options.roles ? new Set(options.roles) : undefined;
  const scopes = options.scopes ? [...options.scopes] : undefined;
  if (scopes?.some((s) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
    throw new TypeError("requireAuth scopes must be RFC 6749 scope tokens");
  }
  const subjects = options.subjects ?? (scopes ? "clients" : "users");
  if (!["users", "clients", "any"].includes(subjects)) {
    throw new TypeError('requireAuth subjects must be "users", "clients" or "any"');
  }
  if (subjects === "users" && scopes) {
    throw new TypeError('requireAuth scopes need subjects "clients" or "any": users have none');
  }
  const introspect = options.introspection
    ? createIntrospectionCheck(options.introspection)
    : undefined;
  const cache = options.cache
    ? new VerifiedTokenCache(options.cache === true ? undefined : options.cache)
    : undefined;

  async function verify(token: string): Promise<AccessClaims> {
    const at = now();
    const cached = cache?.get(token, at);
    if (cached && isKnownKid(cached.kid)) return cached.claims;
    const claims = await verifyAccessToken(token, {
      resolveKey,
      algorithms: algorithms(),
      issuer: options.issuer,
      audience: options.audience,
      now: at,
    });
    cache?.set(token, claims, String(decodeProtectedHeader(token).kid));
    return claims;
  }

  return async function requireAuthMiddleware(c, next) {
    const token = bearerToken(c.req.header("Authorization"));
    if (token === undefined) {
      return refuse(c, 401, "missing_token", "missing bearer token", `Bearer realm="${realm}"`);
    }
    let claims: AccessClaims;
    try {
      claims = await verify(token);
    } catch (err) {
      const message = err instanceof ApiError ? err.message : "invalid token";
      return refuse(c, 401, "invalid_token", message, challenge(realm, "invalid_token", message));
    }
    // A failure of the check itself (the store is down) is not a verdict on the token: it is
    // thrown to the app's error handler (503 there), so clients keep their good tokens.
    if (options.isActive && !(await options.isActive(claims))) {
      const message = "session has been revoked";
      return refuse(c, 401, "invalid_token", message, challenge(realm, "invalid_token", message));
    }
    if (introspect) {
      let active: boolean;
      try {
        active = await introspect(token, claims.exp, now());
      } catch (err) {
        if (!(err instanceof IntrospectionUnavailable)) throw err;
        // Same rule: an unreachable auth server is no verdict on the token; answered here, as
        // this middleware runs in other services' apps, whatever their error handler does.
        c.header("Retry-After", "1");
        c.header("Cache-Control", "no-store");
        const unavailable = new ApiError("not_ready", "token introspection is unavailable");
        return c.json(unavailable.toJSON(), 503);
      }
      if (!active) {
        const message = "token is not active";
        return refuse(c, 401, "invalid_token", message, challenge(realm, "invalid_token", message));
      }
    }
    if (subjects !== "any" && isServiceAccountToken(claims) !== (subjects === "clients")) {
      const message = subjects === "users"
        ? "a service-account token is not accepted here"
        : "only service-account tokens are accepted here";
      return refuse(
        c,
        403,
        "subject_not_allowed",
        message,
        challenge(realm, "insufficient_scope", message),
      );
    }
    if (roles && !roles.has(claims.role)) {
      const message = "token role is not allowed here";
      return refuse(
        c,
        403,
        "insufficient_role",
        message,
        challenge(realm, "insufficient_scope", message),
      );
    }
    if (scopes) {
      const granted = new Set(claims.scope?.split(" ") ?? []);
      const missing = scopes.filter((scope) => !granted.has(scope));
      if (missing.length > 0) {
        const message = `token lacks scope ${missing.join(" ")}`;
        return refuse(
          c,
          403,
          "insufficient_scope",
          message,
          `${challenge(realm, "insufficient_scope", message)}, scope="${scopes.join(" ")}"`,
        );
      }
    }
    if (options.mfa && !isMultiFactor(claims.amr)) {
      const message = "this route needs a sign-in with a second factor";
      return refuse(
        c,
        403,
        "mfa_required",
        message,
        challenge(realm, "insufficient_user_authentication", message),
      );
    }
    c.set("auth", claims);
    await next();
  };
}

function keySource(options: RequireAuthOptions): {
  resolveKey: KeyResolver;
  algorithms: () => readonly SigningAlgorithm[];
  /** Whether a cached token's key still verifies (false once retired or reloaded away). */
  isKnownKid: (kid: string) => boolean;
} {
  if (options.keyRing) {
    const ring = options.keyRing;
    const fixed = options.algorithms;
    return {
      resolveKey: keyRingResolver(ring),
      algorithms: () => fixed ?? [...new Set([...ring().verification.values()].map((k) => k.alg))],
      isKnownKid: (kid) => ring().verification.has(kid),
    };
  }
  if (options.key) {
    const list = Array.isArray(options.key) ? options.key : [options.key as VerificationKey];
    const known = new Map(list.map((k) => [k.kid, k]));
    const algorithms = options.algorithms ?? [...new Set(list.map((k) => k.alg))];
    return {
      resolveKey: (kid, alg) => {
        const entry = known.get(kid);
        return entry && entry.alg === alg ? entry.key : undefined;
      },
      algorithms: () => algorithms,
      isKnownKid: (kid) => known.has(kid),
    };
  }
  const url = new URL(String(options.jwksUrl));
  const jwks = createRemoteJWKSet(url, {
    cooldownDuration: options.jwks?.cooldown ?? 30_000,
    cacheMaxAge: options.jwks?.cacheMaxAge ?? 600_000,
    timeoutDuration: options.jwks?.timeout ?? 5_000,
    ...(options.jwks?.fetch ? { [customFetch]: options.jwks.fetch } : {}),
  });
  const algorithms: readonly SigningAlgorithm[] = options.algorithms ?? ASYMMETRIC_ALGORITHMS;
  if (algorithms.includes("HS256")) throw new TypeError("A JWKS never verifies HS256 tokens");
  // jose starts its cooldown only after a successful fetch; while the JWKS is unreachable, back
  // off here too, so a flood of tokens is not a flood of fetches.
  const failureBackoff = Math.min(options.jwks?.cooldown ?? 30_000, 5_000);
  const now = options.now ?? Date.now;
  let lastFailure = -Infinity;
  return {
    resolveKey: async (kid, alg) => {
      const cached = jwks.jwks()?.keys.some((k) => k.kid === kid) ?? false;
      if (!cached && now() - lastFailure < failureBackoff) return undefined;
      try {
        const key = await jwks({ kid, alg });
        // The server's ID-token key (under ES256 and EdDSA) signs no access token: refused when
        // any entry of that kid is marked so, or when the JWKS no longer names the kid at all.
        const entries = (jwks.jwks()?.keys ?? []).filter((k) => k.kid === kid);
        const idTokenKey = entries.some((k) =>
          (k as Record<string, unknown>)["token_use"] === "id_token"
        );
        return entries.length === 0 || idTokenKey ? undefined : key;
      } catch (err) {
        if (joseErrorCode(err) !== errors.JWKSNoMatchingKey.code) lastFailure = now();
        return undefined; // unknown kid (after a refetch), a fetch failure, or several matches
      }
    },
    algorithms: () => algorithms,
    isKnownKid: (kid) => jwks.jwks()?.keys.some((k) => k.kid === kid) ?? false,
  };
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 b64token syntax). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? "");
  return match?.[1];
}

function challenge(realm: string, error: string, description: string): string {
  return `Bearer realm="${realm}", error="${error}", error_description="${
    description.replace(/["\\]/g, "")
  }"`;
}

function refuse(c: Context, status: 401 | 403, code: ErrorCode, message: string, header: string) {
  c.header("WWW-Authenticate", header);
  c.header("Cache-Control", "no-store");
  return c.json({ error: message, code }, status);
}
