/**
 * Reading an OAuth request: the form body (RFC 6749 section 3.2: form-encoded, no parameter
 * twice, an empty value counts as absent) and the client's credentials (section 2.3.1:
 * `client_secret_basic`, whose id and secret are form-encoded inside Basic, or
 * `client_secret_post`; never both).
 *
 * @module
 */
import type { Context } from "hono";
import type { ClientService } from "../../oauth/client_service.ts";
import { FORM_MEDIA_TYPE, isFormBody } from "../../http/form_body.ts";
import { readText } from "../../http/read_body.ts";
import { OAuthError } from "./oauth_error.ts";
import type { ClientRecord } from "../../oauth/client_store.ts";

/** A parsed form: `get` returns `undefined` for an absent or empty parameter. */
export interface OAuthForm {
  get(name: string): string | undefined;
}

/** How the client presented itself. */
export type ClientCredentials =
  | { readonly method: "client_secret_basic"; readonly clientId: string; readonly secret: string }
  | { readonly method: "client_secret_post"; readonly clientId: string; readonly secret: string }
  | { readonly method: "none"; readonly clientId: string | undefined };

/** Reads the form body; `invalid_request` for another media type or a repeated parameter. */
export async function readForm(c: Context): Promise<OAuthForm> {
  if (!isFormBody(c.req.header("Content-Type"))) {
    throw new OAuthError("invalid_request", `Content-Type must be ${FORM_MEDIA_TYPE}`);
  }
  return parseForm(await readText(c));
}

/**
 * Parses a form-encoded body.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseForm } from "./oauth_request.ts";
 * const form = parseForm("grant_type=password&scope=");
 * assert.equal(form.get("grant_type"), "password");
 * assert.equal(form.get("scope"), undefined);
 * assert.throws(() => parseForm("a=1&a=2"));
 * ```
 */
export function parseForm(body: string): OAuthForm {
  const params = new URLSearchParams(body);
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) {
      throw new OAuthError("invalid_request", `parameter ${name.slice(0, 64)} is repeated`);
    }
    seen.add(name);
  }
  return { get: (name) => params.get(name) || undefined };
}

/**
 * The client's credentials from the `Authorization` header or the form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientCredentials, parseForm } from "./oauth_request.ts";
 * // RFC 6749 section 2.3.1: form-encode, then Basic.
 * const header = "Basic " + btoa("svc%3Aone:s%2Bcret");
 * assert.deepEqual(clientCredentials(header, parseForm("")), {
 *   method: "client_secret_basic", clientId: "svc:one", secret: "s+cret",
 * });
 * ```
 */
export function clientCredentials(
  authorization: string | undefined,
  form: OAuthForm,
): ClientCredentials {
  const postedId = form.get("client_id");
  const postedSecret = form.get("client_secret");
  if (authorization !== undefined) {
    const basic = parseBasic(authorization);
    if (postedSecret !== undefined) {
      throw new OAuthError("invalid_request", "use one client authentication method, not two");
    }
    if (postedId !== undefined && postedId !== basic.clientId) {
      throw new OAuthError("invalid_request", "client_id differs from the Basic credentials");
    }
    return { method: "client_secret_basic", ...basic };
  }
  if (postedSecret !== undefined) {
    if (postedId === undefined) {
      throw new OAuthError("invalid_request", "client_secret without client_id");
    }
    return { method: "client_secret_post", clientId: postedId, secret: postedSecret };
  }
  return { method: "none", clientId: postedId };
}

/**
 * The registered client the credentials prove, or `undefined` for a public caller (no client,
 * or a `client_id` nobody registered). A registered public client needs no secret: its id names it. A registered client must prove its secret:
 * `invalid_client` otherwise, with `WWW-Authenticate: Basic` when it tried Basic (section 5.2).
 */
export async function authenticateClient(
  clients: ClientService,
  credentials: ClientCredentials,
): Promise<ClientRecord | undefined> {
  if (credentials.method === "none") {
    if (credentials.clientId === undefined) return undefined;
    // A registered public client is identified by its id alone (RFC 6749 section 2.1).
    const publicClient = await clients.findPublic(credentials.clientId);
    if (publicClient) return publicClient;
    if (await clients.exists(credentials.clientId)) {
      throw new OAuthError("invalid_client", "this client must authenticate");
    }
    return undefined;
  }
  const client = await clients.authenticate(credentials.clientId, credentials.secret);
  if (client) return client;
  throw new OAuthError(
    "invalid_client",
    "client authentication failed",
    credentials.method === "client_secret_basic" ? { "WWW-Authenticate": BASIC_CHALLENGE } : {},
  );
}

/** The challenge of a 401 to a client that used Basic. */
export const BASIC_CHALLENGE = 'Basic realm="oauth", charset="UTF-8"';

function parseBasic(header: string): { clientId: string; secret: string } {
  const refuse = () =>
    new OAuthError("invalid_client", "Authorization must be Basic client credentials", {
      "WWW-Authenticate": BASIC_CHALLENGE,
    });
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) throw refuse();
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(match[1]!), (ch) => ch.charCodeAt(0)),
    );
  } catch {
    throw refuse();
  }
  const colon = decoded.indexOf(":");
  if (colon < 1) throw refuse();
  try {
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    throw refuse();
  }
}

function formDecode(text: string): string {
  return decodeURIComponent(text.replaceAll("+", " "));
}
