/**
 * The claims this server issues, defined once: in which token or answer each one appears, and
 * the type of its value. Derived from {@link CLAIMS}: the access token's claim type
 * (`AccessTokenClaims`) and the verifier's type checks (`tokens/access_token.ts`), `/me`'s
 * `ClaimsSchema` (`wire.ts`), `claims_supported` of the RFC 8414 and OpenID Connect Discovery
 * documents (`routes/well_known.ts`), and the names the ID token and `/userinfo` may carry.
 *
 * No dependency: the published verifier (`middleware/require_auth.ts`) loads it.
 *
 * @module
 */

/** A claim value's type, as the verifier checks it. */
export type ClaimType = keyof ClaimValues;

/** The TypeScript type of each {@link ClaimType}. */
export interface ClaimValues {
  /** A non-empty string. */
  text: string;
  /** Any string. */
  string: string;
  /** A finite number (epoch seconds, for times). */
  number: number;
  /** An array of at most {@link MAX_CLAIM_ITEMS} strings. */
  strings: string[];
  /** RFC 7519 `aud`: a string or an array of strings. */
  audience: string | string[];
}

/** The most items an array claim may hold in a token the verifier accepts. */
export const MAX_CLAIM_ITEMS = 16;

/** One claim: its type and where the server puts it. */
export interface ClaimDefinition {
  readonly type: ClaimType;
  /**
   * In access tokens: `required` (the verifier refuses a token without it), `defaulted` (read
   * as `""` when absent: tokens of older versions), `optional`; absent: never in one.
   */
  readonly access?: "required" | "defaulted" | "optional";
  /** In ID tokens (OpenID Connect Core 2): always, or `optional` (when there is a value). */
  readonly idToken?: true | "optional";
  /** In the `/userinfo` answer (Core 5.3.2). */
  readonly userinfo?: true;
  readonly description: string;
}

/**
 * Every claim, in the order the documents list them and `/me` shows them: the access token's
 * first, in the order its payload has always had (the README shows it).
 */
export const CLAIMS = {
  sub: {
    type: "text",
    access: "required",
    idToken: true,
    userinfo: true,
    description: "access tokens: the user id, or a service account's client id; ID tokens and " +
      "/userinfo: the user's stable OpenID subject, never reassigned (oidc/subject.ts)",
  },
  role: {
    type: "text",
    access: "required",
    description: "the role the token speaks for (@client: a service account)",
  },
  iat: { type: "number", access: "required", idToken: true, description: "issued, epoch seconds" },
  exp: { type: "number", access: "required", idToken: true, description: "expiry, epoch seconds" },
  iss: { type: "text", access: "required", idToken: true, description: "the issuer (ISSUER)" },
  jti: { type: "string", access: "defaulted", description: "the token's unique id" },
  sid: {
    type: "string",
    access: "optional",
    idToken: true,
    description: "the session (access tokens: the refresh session; ID tokens: the browser's)",
  },
  aud: {
    type: "audience",
    access: "optional",
    idToken: true,
    description: "AUDIENCE (access tokens, when set); the client (ID tokens)",
  },
  client_id: {
    type: "string",
    access: "optional",
    description: "service-account tokens: the client, which is also sub",
  },
  scope: {
    type: "string",
    access: "optional",
    description: "service-account tokens: the granted scopes, space-separated (RFC 6749 3.3)",
  },
  client_gen: {
    type: "string",
    access: "optional",
    description: "service-account tokens: the client's generation at issue",
  },
  amr: {
    type: "strings",
    access: "optional",
    idToken: true,
    description: 'RFC 8176 authentication methods: ["pwd"], ["pwd", "otp"], ["hwk", "user"]',
  },
  auth_time: { type: "number", idToken: true, description: "when the user signed in" },
  nonce: { type: "string", idToken: "optional", description: "the authorization request's nonce" },
  azp: { type: "string", idToken: true, description: "the client the ID token was issued to" },
  at_hash: { type: "string", idToken: true, description: "the access token's hash (Core 3.1.3.6)" },
  preferred_username: {
    type: "string",
    idToken: true,
    userinfo: true,
    description: "the user id (a name: reused once its user is removed; sub is not)",
  },
  roles: { type: "strings", userinfo: true, description: "the user's roles now" },
} as const satisfies Readonly<Record<string, ClaimDefinition>>;

type Claims = typeof CLAIMS;
/** The names of the claims whose definition matches `P`. */
type NamesWith<P> = { [K in keyof Claims]: Claims[K] extends P ? K : never }[keyof Claims];
type ValueOf<K extends keyof Claims> = ClaimValues[Claims[K]["type"]];

/** The claims of an access token, as the verifier returns them. */
export type AccessTokenClaims =
  & { readonly [K in NamesWith<{ access: "required" | "defaulted" }>]: ValueOf<K> }
  & { readonly [K in NamesWith<{ access: "optional" }>]?: ValueOf<K> };

/** The claims of an ID token (`oidc/id_token.ts` signs exactly these). */
export type IdTokenPayload =
  & { readonly [K in NamesWith<{ idToken: true }>]: ValueOf<K> }
  & { readonly [K in NamesWith<{ idToken: "optional" }>]?: ValueOf<K> };

/** The `/userinfo` answer. */
export type UserinfoClaims = { readonly [K in NamesWith<{ userinfo: true }>]: ValueOf<K> };

/** The name of a claim access tokens may carry. */
export type AccessTokenClaimName = NamesWith<{ access: string }>;

/** The name of a claim access tokens may leave out. */
export type OptionalAccessTokenClaimName = NamesWith<{ access: "optional" }>;

/** The name of a claim of the `/userinfo` answer. */
export type UserinfoClaimName = NamesWith<{ userinfo: true }>;

const NAMES = Object.keys(CLAIMS) as (keyof Claims)[];
const define = (name: keyof Claims): ClaimDefinition => CLAIMS[name];

/** The claims access tokens may carry (RFC 8414 metadata's `claims_supported`). */
export const ACCESS_TOKEN_CLAIMS = NAMES.filter((n) =>
  define(n).access !== undefined
) as AccessTokenClaimName[];

/** The claims every access token carries: a token without one is refused. */
export const REQUIRED_ACCESS_TOKEN_CLAIMS: readonly AccessTokenClaimName[] = ACCESS_TOKEN_CLAIMS
  .filter((n) => define(n).access === "required");

/** The claims an access token may leave out. */
export const OPTIONAL_ACCESS_TOKEN_CLAIMS = ACCESS_TOKEN_CLAIMS.filter((n) =>
  define(n).access === "optional"
) as OptionalAccessTokenClaimName[];

/** The claims of ID tokens. */
export const ID_TOKEN_CLAIMS: readonly string[] = NAMES.filter((n) =>
  define(n).idToken !== undefined
);

/** The claims of the `/userinfo` answer. */
export const USERINFO_CLAIMS = NAMES.filter((n) => define(n).userinfo) as UserinfoClaimName[];

/** OpenID Connect Discovery's `claims_supported`: the ID token's and `/userinfo`'s. */
export const OPENID_CLAIMS: readonly string[] = NAMES.filter((n) =>
  define(n).idToken !== undefined || define(n).userinfo
);

/**
 * Whether `value` is of claim type `type`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isClaimValue } from "./claims.ts";
 * assert(isClaimValue("text", "ada"));
 * assert(!isClaimValue("text", ""));
 * assert(isClaimValue("audience", ["a", "b"]));
 * assert(!isClaimValue("number", Infinity));
 * ```
 */
export function isClaimValue(type: ClaimType, value: unknown): boolean {
  switch (type) {
    case "text":
      return typeof value === "string" && value !== "";
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "strings":
      return isStrings(value) && value.length <= MAX_CLAIM_ITEMS;
    case "audience":
      return typeof value === "string" || isStrings(value);
  }
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/**
 * The access token claims of a verified JWT payload, type-checked against {@link CLAIMS}; the
 * name of the first claim that is missing or of the wrong type otherwise. Arrays are copied, and
 * claims no access token carries are dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readAccessTokenClaims } from "./claims.ts";
 * const ok = readAccessTokenClaims({ sub: "ada", role: "user", iat: 1, exp: 2, iss: "me", x: 1 });
 * assert.deepEqual(ok, { claims: { iss: "me", sub: "ada", exp: 2, iat: 1, role: "user", jti: "" } });
 * assert.deepEqual(readAccessTokenClaims({ sub: "ada", iat: 1, exp: 2, iss: "me" }), { wrong: "role" });
 * ```
 */
export function readAccessTokenClaims(
  payload: Readonly<Record<string, unknown>>,
): { claims: AccessTokenClaims } | { wrong: AccessTokenClaimName } {
  const claims: Record<string, unknown> = {};
  for (const name of ACCESS_TOKEN_CLAIMS) {
    const { type, access } = define(name);
    const value = payload[name];
    if (value === undefined) {
      if (access === "required") return { wrong: name };
      if (access === "defaulted") claims[name] = "";
      continue;
    }
    if (!isClaimValue(type, value)) return { wrong: name };
    claims[name] = Array.isArray(value) ? [...value] : value;
  }
  return { claims: claims as AccessTokenClaims };
}
