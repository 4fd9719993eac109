/**
 * The grant types of `POST /oauth/token`, defined once. Everything that names them derives from
 * {@link GRANTS}: the token endpoint's dispatch (`routes/oauth/grants.ts`, whose handler table the
 * compiler holds to these names), the `grant_type` enum and form fields of `/openapi.json`,
 * `grant_types_supported` in the RFC 8414 and OpenID Connect Discovery documents, the client
 * service's validation (the CLI's `--grant` and `/admin/clients`' `grant_types`) and the CLI's
 * help. No dependency: the CLI and the client service load it without Hono.
 *
 * @module
 */

/** What the server says and checks about one grant type. */
export interface GrantDefinition {
  /**
   * The form parameters of `/oauth/token` this grant reads (besides `grant_type` and the client
   * authentication parameters), each with its meaning for this grant: `/openapi.json` documents
   * exactly these, and the handler's form reads no other (its type allows only these names).
   */
  readonly fields: Readonly<Record<string, string>>;
  /** Whether a public client (no secret, PKCE) may be registered with it. */
  readonly publicClients: boolean;
  /** A client registered without `--grant` gets it: `confidential`, `public`, or neither. */
  readonly defaultFor?: "confidential" | "public";
  /**
   * What the OAuth endpoint limits (`oauth/endpoint_limits.ts`) count of a grant with no limit of
   * its own (the password and refresh_token grants have `/login`'s and `/refresh`'s): `true`
   * every request, `"refusals"` each request it refuses (a grant whose successes another limit
   * already bounds: a code is issued only at a sign-in, under the login limits), `false` nothing.
   */
  readonly endpointLimited: boolean | "refusals";
}

/** The grant types, in the order the metadata lists them. */
export const GRANTS = {
  authorization_code: {
    fields: {
      code: "the code from /authorize",
      redirect_uri: "the redirect_uri of the authorization request",
      code_verifier: "PKCE (RFC 7636): the verifier of the request's S256 challenge",
    },
    publicClients: true,
    defaultFor: "public",
    endpointLimited: "refusals",
  },
  password: {
    fields: {
      username: "the user id",
      password: "the user's password",
      scope: "one of the user's roles (default the first)",
      device_token: "a device token an earlier sign-in of this user answered (as at /login)",
    },
    publicClients: false,
    endpointLimited: false,
  },
  refresh_token: {
    fields: { refresh_token: "the refresh token to rotate" },
    publicClients: true,
    endpointLimited: false,
  },
  client_credentials: {
    fields: {
      scope: "space-separated scopes within the client's (default all of them)",
    },
    publicClients: false,
    defaultFor: "confidential",
    endpointLimited: true,
  },
} as const satisfies Readonly<Record<string, GrantDefinition>>;

/** One of the names of {@link GRANTS}. */
export type GrantType = keyof typeof GRANTS;

/** The form parameters grant `G` reads. */
export type GrantField<G extends GrantType> = keyof (typeof GRANTS)[G]["fields"] & string;

/** Every grant type, in {@link GRANTS}' order. */
export const GRANT_TYPES = Object.keys(GRANTS) as [GrantType, ...GrantType[]];

/**
 * Whether `name` is a grant type this server has (own names only: never `toString`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isGrantType } from "./grant_types.ts";
 * assert(isGrantType("client_credentials"));
 * assert(!isGrantType("implicit"));
 * assert(!isGrantType("constructor"));
 * ```
 */
export function isGrantType(name: string): name is GrantType {
  return Object.hasOwn(GRANTS, name);
}

/** The grant types a public client may have. */
export const PUBLIC_GRANT_TYPES: readonly GrantType[] = GRANT_TYPES.filter((g) =>
  GRANTS[g].publicClients
);

/**
 * The grant a client registered without any gets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultGrant } from "./grant_types.ts";
 * assert.equal(defaultGrant(false), "client_credentials");
 * assert.equal(defaultGrant(true), "authorization_code");
 * ```
 */
export function defaultGrant(isPublic: boolean): GrantType {
  const kind = isPublic ? "public" : "confidential";
  const found = GRANT_TYPES.find((g) => (GRANTS[g] as GrantDefinition).defaultFor === kind);
  if (found === undefined) throw new TypeError(`GRANTS names no default for ${kind} clients`);
  return found;
}

/**
 * What the OAuth endpoint limits count of a `grant_type` value: every request (`true`), its
 * refusals, or nothing (`false`, an unknown name too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { endpointLimitOf } from "./grant_types.ts";
 * assert.equal(endpointLimitOf("client_credentials"), true);
 * assert.equal(endpointLimitOf("authorization_code"), "refusals");
 * assert.equal(endpointLimitOf("implicit"), false);
 * ```
 */
export function endpointLimitOf(name: string | undefined): boolean | "refusals" {
  return name !== undefined && isGrantType(name)
    ? (GRANTS[name] as GrantDefinition).endpointLimited
    : false;
}

/**
 * The documented form fields of `/oauth/token` besides `grant_type`: each field any grant reads,
 * with what it means for each grant that reads it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokenFormFields } from "./grant_types.ts";
 * assert.match(tokenFormFields().scope!, /^password: .*; client_credentials: /);
 * ```
 */
export function tokenFormFields(): Record<string, string> {
  const fields: Record<string, string[]> = {};
  for (const grant of GRANT_TYPES) {
    for (const [name, meaning] of Object.entries(GRANTS[grant].fields)) {
      (fields[name] ??= []).push(`${grant}: ${meaning}`);
    }
  }
  return Object.fromEntries(
    Object.entries(fields).map(([name, lines]) => [name, lines.join("; ")]),
  );
}

/**
 * A list of names as a sentence: `a, b or c`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneOf } from "./grant_types.ts";
 * assert.equal(oneOf(["a", "b", "c"]), "a, b or c");
 * ```
 */
export function oneOf(names: readonly string[]): string {
  return names.length < 2
    ? names.join("")
    : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}
