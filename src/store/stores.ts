/**
 * The stores the services are built on, one port per aggregate, whatever the engine: Deno KV
 * (`kv_*.ts`), PostgreSQL (`pg_*.ts`) or the in-memory fakes of the tests. Every engine passes
 * the same contract suite (`tests/store/`). {@link OpenedStores} is what `open_stores.ts` hands
 * the runtime and the CLIs.
 *
 * What every engine guarantees (the services rely on it):
 * - a versionstamp never repeats for a record, not even after a delete and a re-create (the
 *   fast refresh trusts the user's stamp alone, not its uid);
 * - each guarded write is one commit (one KV atomic operation, one SQL transaction): all of it
 *   or none of it, and none of it when a checked stamp moved;
 * - a failure of the engine itself (lost connection, locked file) throws `StoreUnavailableError`
 *   (503 `unavailable`), a commit that keeps losing races `ContendedError` (503 `busy`).
 *
 * @module
 */
import type { AuthorizationCodeStore } from "../browser/authorization_code_store.ts";
import type { BrowserSessionStore } from "../browser/browser_session_store.ts";
import type { KeyStore } from "../keys/key_store.ts";
import type { CounterStore } from "../limits/counter_store.ts";
import type { MfaStore } from "../mfa/mfa_store.ts";
import type { ClientStore } from "../oauth/client_store.ts";
import type { PasskeyStore } from "../passkeys/passkey_store.ts";
import type { SessionStore } from "../tokens/session_store.ts";
import type { UserStore } from "../users/user_store.ts";

/** The stores, one per aggregate, and the readiness probe. */
export interface Stores {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly counters: CounterStore;
  readonly clients: ClientStore;
  /** The asymmetric signing key set (the key ring and the keys CLI). */
  readonly keys: KeyStore;
  /** Second factors and pending login challenges. */
  readonly mfa: MfaStore;
  /** WebAuthn credentials and their challenges. */
  readonly passkeys: PasskeyStore;
  /** Browser sign-in: authorization codes and browser (single sign-on) sessions. */
  readonly authorizationCodes: AuthorizationCodeStore;
  readonly browserSessions: BrowserSessionStore;
  /** Throws `StoreUnavailableError` when the store cannot be read. */
  ping(): Promise<void>;
  /**
   * Records `issuer` as the one this store's tokens are issued under; resolves with the one
   * recorded before (`undefined` on a new store), so a server started under another issuer can
   * say that the tokens issued before are refused now.
   */
  recordIssuer(issuer: string): Promise<string | undefined>;
}

/** Stores as opened from the configuration, with what they run on and how to let go. */
export interface OpenedStores {
  readonly stores: Stores;
  /** The engine and where, for the start-up line: never a password. */
  readonly engine: string;
  /** Settings of the engine an operator should change, one sentence each (logged at start). */
  readonly warnings?: readonly string[];
  /** Releases the engine (the KV handle; the pool, its listener and its sweeper). */
  close(): Promise<void>;
}
