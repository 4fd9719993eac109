/**
 * OAuth clients (service accounts): create, list, remove, rotate the secret, authenticate, and
 * sign their client_credentials tokens. The CLI and `/admin/clients` are two doors onto it.
 *
 * A secret is 256 random bits, shown once; only its SHA-256 is stored. A slow password hash
 * (argon2id) protects low-entropy secrets people choose; against a 256-bit random value a
 * brute-force search is hopeless at any hash speed, and a slow hash would only hand anyone who
 * can reach the token endpoint a way to burn CPU. The comparison is constant-time.
 *
 * @module
 */
import { base64url } from "jose";
import { equalConstantTime, sha256 } from "../crypto/digests.ts";
import { ApiError } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import {
  type AccessClaims,
  SERVICE_ACCOUNT_ROLE,
  type SignedToken,
  type TokenSubject,
} from "../tokens/access_token.ts";
import type { PublicClient } from "../wire.ts";
import type { ClientRecord, ClientStore } from "./client_store.ts";
import { defaultGrant, GRANT_TYPES, isGrantType, PUBLIC_GRANT_TYPES } from "./grant_types.ts";
import { redirectUrisProblem } from "./redirect_uris.ts";

export type { PublicClient } from "../wire.ts";

export { SERVICE_ACCOUNT_ROLE } from "../tokens/access_token.ts";

/** RFC 6749 section 3.3 scope-token, at most 128 characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
/** Client ids: a conservative alphabet that needs no escaping in logs, URLs or Basic auth. */
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;
const MAX_SCOPES = 64;
const MAX_SECRET_LENGTH = 512;
const DUMMY_HASH = sha256("no such client");

/** A client and its secret, returned once by `add` and `rotateSecret`. */
export interface ClientWithSecret {
  readonly client: PublicClient;
  /** Empty for a public client (`client.public`): it has none. */
  readonly secret: string;
}

/** What `add` registers besides the id. */
export interface NewClientOptions {
  readonly scopes?: readonly string[];
  readonly grantTypes?: readonly string[];
  /** authorization_code: where `/authorize` may answer (at least one). */
  readonly redirectUris?: readonly string[];
  /** Where RP-initiated logout may send the browser. */
  readonly postLogoutRedirectUris?: readonly string[];
  /** No secret; PKCE on every authorization (RFC 7636, RFC 9700 section 2.1.1). */
  readonly public?: boolean;
}

/** Dependencies of {@link createClientService}. */
export interface ClientServiceDeps {
  readonly store: ClientStore;
  readonly now: () => number;
  readonly signAccessToken: (subject: TokenSubject, nowMs: number) => Promise<SignedToken>;
  readonly onEvent?: EmitEvent;
}

/**
 * Why a scope list is refused, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scopesProblem } from "./client_service.ts";
 * assert.equal(scopesProblem(["orders:read"]), undefined);
 * assert.ok(scopesProblem(['bad"scope']));
 * ```
 */
export function scopesProblem(scopes: readonly string[]): string | undefined {
  if (scopes.length > MAX_SCOPES) return `at most ${MAX_SCOPES} scopes`;
  const bad = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
  if (bad !== undefined) {
    return `scope "${
      bad.slice(0, 64)
    }" must be 1 to 128 printable ASCII characters, no space, " or \\`;
  }
  return undefined;
}

/**
 * The scopes a client_credentials request gets: all of the client's when it asks for none, else
 * exactly those it asked for if it may have each; `undefined` when it asked for one it may not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grantedScopes } from "./client_service.ts";
 * assert.deepEqual(grantedScopes(["a", "b"], "b"), ["b"]);
 * assert.deepEqual(grantedScopes(["a", "b"], undefined), ["a", "b"]);
 * assert.equal(grantedScopes(["a"], "a c"), undefined);
 * ```
 */
export function grantedScopes(
  allowed: readonly string[],
  requested: string | undefined,
): string[] | undefined {
  if (requested === undefined) return [...allowed];
  const asked = [...new Set(requested.split(" ").filter((s) => s !== ""))];
  return asked.every((scope) => allowed.includes(scope)) ? asked : undefined;
}

/** The public view of a stored client. */
export function publicClient(client: ClientRecord): PublicClient {
  return {
    client_id: client.clientId,
    scopes: [...client.scopes],
    grant_types: [...client.grantTypes],
    redirect_uris: [...client.redirectUris ?? []],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris ?? []],
    public: client.public === true,
    created_at: new Date(client.createdAt).toISOString(),
    updated_at: new Date(client.updatedAt).toISOString(),
  };
}

/** Creates the client service. */
export function createClientService(deps: ClientServiceDeps) {
  const { store, now } = deps;
  const emit: EmitEvent = (event) => deps.onEvent?.(event);

  async function find(clientId: string): Promise<ClientRecord> {
    const client = await store.getClient(clientId);
    if (!client) throw new ApiError("not_found", `no client "${clientId.slice(0, 128)}"`);
    return client.value;
  }

  return {
    /** Registers a client; its secret is in the answer and nowhere else. */
    async add(clientId: string, options: NewClientOptions = {}): Promise<ClientWithSecret> {
      const scopes = [...new Set(options.scopes ?? [])];
      const isPublic = options.public === true;
      const grantTypes = [...new Set(options.grantTypes ?? [defaultGrant(isPublic)])];
      const redirectUris = [...new Set(options.redirectUris ?? [])];
      const postLogoutRedirectUris = [...new Set(options.postLogoutRedirectUris ?? [])];
      const problem = !CLIENT_ID.test(clientId)
        ? "client_id must be 1 to 128 of A-Z a-z 0-9 . _ ~ -"
        : scopesProblem(scopes) ?? grantTypesProblem(grantTypes) ??
          browserProblem(grantTypes, redirectUris, postLogoutRedirectUris, isPublic);
      if (problem) throw new ApiError("validation_failed", problem);
      const { secret, hash } = isPublic ? { secret: "", hash: "" } : newSecret();
      const at = now();
      const client: ClientRecord = {
        clientId,
        secretHash: hash,
        scopes,
        grantTypes,
        createdAt: at,
        updatedAt: at,
        generation: newGeneration(),
        ...(redirectUris.length > 0 ? { redirectUris } : {}),
        ...(postLogoutRedirectUris.length > 0 ? { postLogoutRedirectUris } : {}),
        ...(isPublic ? { public: true } : {}),
      };
      if (!(await store.createClient(client))) {
        throw new ApiError("conflict", `client "${clientId}" already exists`);
      }
      return { client: publicClient(client), secret };
    },

    async list(): Promise<PublicClient[]> {
      return (await store.listClients()).map(publicClient);
    },

    async get(clientId: string): Promise<PublicClient> {
      return publicClient(await find(clientId));
    },

    /**
     * Removes a client; tokens it holds live until `exp` for local verifiers, but introspect
     * inactive at once, and stay so if the id is registered again (a new generation). The
     * sessions users started through it (password grant) end with it: refresh, `/me` and
     * introspection refuse them from now on.
     */
    async remove(clientId: string): Promise<void> {
      if (!(await store.deleteClient(clientId))) {
        throw new ApiError("not_found", `no client "${clientId.slice(0, 128)}"`);
      }
      emit({ type: "client_changed", client_id: clientId });
    },

    /**
     * Replaces the secret; the old one stops working at once, and every token issued before
     * introspects inactive from now on (a new generation), as do the sessions started through
     * the client.
     */
    async rotateSecret(clientId: string): Promise<ClientWithSecret> {
      const entry = await store.getClient(clientId);
      if (!entry) throw new ApiError("not_found", `no client "${clientId.slice(0, 128)}"`);
      if (entry.value.public) {
        throw new ApiError("validation_failed", "a public client has no secret to rotate");
      }
      const { secret, hash } = newSecret();
      const client: ClientRecord = {
        ...entry.value,
        secretHash: hash,
        updatedAt: now(),
        generation: newGeneration(),
      };
      if (!(await store.updateClient(client, entry.versionstamp))) {
        throw new ApiError("conflict", "client changed meanwhile; try again");
      }
      emit({ type: "client_changed", client_id: clientId });
      return { client: publicClient(client), secret };
    },

    /** The client if `secret` is its secret; compares in constant time, known client or not. */
    async authenticate(clientId: string, secret: string): Promise<ClientRecord | undefined> {
      const entry = CLIENT_ID.test(clientId) ? await store.getClient(clientId) : undefined;
      // A public client has no secret: whatever is presented as one is wrong.
      const secretless = entry?.value.public === true;
      const expected = entry && !secretless ? base64url.decode(entry.value.secretHash) : DUMMY_HASH;
      const presented = sha256(secret.slice(0, MAX_SECRET_LENGTH));
      const same = equalConstantTime(presented, expected);
      return entry && !secretless && same && secret.length <= MAX_SECRET_LENGTH
        ? entry.value
        : undefined;
    },

    /** A registered public client (no secret to prove), else `undefined`. */
    async findPublic(clientId: string): Promise<ClientRecord | undefined> {
      if (!CLIENT_ID.test(clientId)) return undefined;
      const client = (await store.getClient(clientId))?.value;
      return client?.public === true ? client : undefined;
    },

    /** A registered client by id, public or not (`/authorize` reads its redirect URIs). */
    async lookup(clientId: string): Promise<ClientRecord | undefined> {
      if (!CLIENT_ID.test(clientId)) return undefined;
      return (await store.getClient(clientId))?.value;
    },

    /** Whether a client is registered. */
    async exists(clientId: string): Promise<boolean> {
      return CLIENT_ID.test(clientId) && (await store.getClient(clientId)) !== undefined;
    },

    /**
     * Whether a service-account token was issued to the client as it is now: the client still
     * exists, in the generation the token carries (not removed and re-added, no secret rotated
     * since), and still may have every scope the token holds. One read.
     */
    async isTokenCurrent(claims: AccessClaims): Promise<boolean> {
      const clientId = claims.client_id;
      if (clientId === undefined || clientId !== claims.sub || !CLIENT_ID.test(clientId)) {
        return false;
      }
      const client = (await store.getClient(clientId))?.value;
      return client !== undefined && client.generation === claims.client_gen &&
        (claims.scope ?? "").split(" ").every((s) => s === "" || client.scopes.includes(s));
    },

    /** Signs a service-account token: `sub` and `client_id` name the client; no session. */
    async issueToken(client: ClientRecord, scopes: readonly string[]): Promise<SignedToken> {
      const scope = scopes.join(" ");
      const signed = await deps.signAccessToken({
        sub: client.clientId,
        role: SERVICE_ACCOUNT_ROLE,
        client_id: client.clientId,
        scope,
        ...(client.generation !== undefined ? { client_gen: client.generation } : {}),
      }, now());
      emit({ type: "client_token", client_id: client.clientId, scope });
      return signed;
    },
  };
}

/** The client service's interface. */
export type ClientService = ReturnType<typeof createClientService>;

function grantTypesProblem(grantTypes: readonly string[]): string | undefined {
  if (grantTypes.length === 0) return "at least one grant type is required";
  const bad = grantTypes.find((g) => !isGrantType(g));
  return bad === undefined
    ? undefined
    : `grant type "${bad.slice(0, 64)}" must be one of ${GRANT_TYPES.join(", ")}`;
}

/** Why a client's browser sign-in settings are refused, or `undefined`. */
function browserProblem(
  grantTypes: readonly string[],
  redirectUris: readonly string[],
  postLogoutRedirectUris: readonly string[],
  isPublic: boolean,
): string | undefined {
  const code = grantTypes.includes("authorization_code");
  if (code && redirectUris.length === 0) {
    return "the authorization_code grant needs at least one redirect URI";
  }
  if (!code && (redirectUris.length > 0 || postLogoutRedirectUris.length > 0)) {
    return "redirect URIs are for clients with the authorization_code grant";
  }
  if (isPublic) {
    const bad = grantTypes.find((g) => !(PUBLIC_GRANT_TYPES as readonly string[]).includes(g));
    if (bad !== undefined) {
      return `a public client (no secret) may have only ${
        PUBLIC_GRANT_TYPES.join(", ")
      }, not ${bad}`;
    }
  }
  return redirectUrisProblem(redirectUris) ?? redirectUrisProblem(postLogoutRedirectUris);
}

function newSecret(): { secret: string; hash: string } {
  const secret = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  return { secret, hash: base64url.encode(sha256(secret)) };
}

/** 96 random bits: no two registrations or rotations of a client share one. */
function newGeneration(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(12)));
}
