/**
 * What the authorization code service needs from storage, and the code record it stores.
 * Implemented over Deno KV by `store/kv_authorization_codes.ts`; the in-memory fake is in
 * `tests/helpers/fake_stores.ts`.
 *
 * @module
 */
import type { Versioned } from "../versioned.ts";

/**
 * An authorization code as stored: only the SHA-256 of the code itself (the key), and everything
 * it is bound to (RFC 6749 section 4.1.2; OpenID Connect Core 3.1.3.2).
 */
export interface AuthorizationCodeRecord {
  /** SHA-256 of the code, base64url: the record's key. */
  readonly hash: string;
  readonly clientId: string;
  /** The redirect URI of the authorization request, as sent (the token request repeats it). */
  readonly redirectUri: string;
  /** PKCE S256 challenge (RFC 7636); absent only for a confidential client that sent none. */
  readonly codeChallenge?: string;
  readonly nonce?: string;
  /** The scope granted: `openid` or not, and the role (as the password grant's scope). */
  readonly scopes: readonly string[];
  readonly role: string;
  readonly userId: string;
  readonly userUid: string;
  /** The browser session that signed in (its store key; and its public `sid`). */
  readonly browserSessionKey: string;
  readonly browserSid: string;
  /** When the user last entered credentials (epoch ms): the id_token's `auth_time`. */
  readonly authTime: number;
  /** RFC 8176 methods: how the user signed in. */
  readonly amr: readonly string[];
  readonly createdAt: number;
  /** 60 s after `createdAt`: spendable until then. */
  readonly expiresAt: number;
  /** Set by the one exchange that spent it. */
  readonly usedAt?: number;
  /** The token session the exchange started (revoked when the code is presented again). */
  readonly issuedSid?: string;
  /** Presented again after it was spent: whatever it issued is revoked. */
  readonly reused?: boolean;
}

/** Codes by hash. Every method throws `StoreUnavailableError` when the store fails. */
export interface AuthorizationCodeStore {
  /** Stores a new code; it is kept a while past `expiresAt` so a replay is recognised. */
  createCode(code: AuthorizationCodeRecord): Promise<void>;
  getCode(hash: string): Promise<Versioned<AuthorizationCodeRecord> | undefined>;
  /** Replaces a code read at `versionstamp`; false when it changed meanwhile. */
  updateCode(code: AuthorizationCodeRecord, versionstamp: string): Promise<boolean>;
}
