/**
 * What the client service needs from storage, and the client record it stores. Implemented over
 * Deno KV by `store/kv_clients.ts`; tests use it over `:memory:` or a failing fake.
 *
 * @module
 */
import type { Versioned } from "../versioned.ts";

/** An OAuth client (service account) as stored; its secret only as a SHA-256 hash. */
export interface ClientRecord {
  readonly clientId: string;
  /** SHA-256 of the secret, base64url. */
  readonly secretHash: string;
  /** The scopes it may ask for (client_credentials). */
  readonly scopes: readonly string[];
  /** The grant types it may use. */
  readonly grantTypes: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * Random, new at registration and at every secret rotation; every token signed for the
   * client carries it (`client_gen`), and introspection calls a token active only while it is
   * still the client's. So removing and re-adding an id, or rotating the secret, ends the
   * tokens issued before. Absent in records written before it existed (their tokens carry none).
   */
  readonly generation?: string;
  /** Where `/authorize` may send its answer (exact strings; `redirect_uris.ts`). */
  readonly redirectUris?: readonly string[];
  /** Where RP-initiated logout may send the browser afterwards (exact strings). */
  readonly postLogoutRedirectUris?: readonly string[];
  /** A public client (RFC 6749 section 2.1): no secret (`secretHash` is empty), PKCE required. */
  readonly public?: boolean;
}

/**
 * Clients by id. Every method throws `StoreUnavailableError` when the store fails; the commits
 * return false when a checked versionstamp changed.
 */
export interface ClientStore {
  getClient(clientId: string): Promise<Versioned<ClientRecord> | undefined>;
  /** Creates a client; false when the id is taken (checked atomically). */
  createClient(client: ClientRecord): Promise<boolean>;
  /** Replaces a client read at `versionstamp`; false when it changed meanwhile. */
  updateClient(client: ClientRecord, versionstamp: string): Promise<boolean>;
  /** Deletes a client; false when there was none (or a concurrent remove got it first). */
  deleteClient(clientId: string): Promise<boolean>;
  /** Every client (service accounts are few: no paging). */
  listClients(): Promise<ClientRecord[]>;
}
