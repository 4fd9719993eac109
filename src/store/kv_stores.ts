/**
 * Every store over one Deno KV handle: what the composition root (`services.ts`) is built on.
 *
 * @module
 */
import type { AuthorizationCodeStore } from "../browser/authorization_code_store.ts";
import type { BrowserSessionStore } from "../browser/browser_session_store.ts";
import type { KeyStore } from "../keys/key_store.ts";
import type { MfaStore } from "../mfa/mfa_store.ts";
import type { PasskeyStore } from "../passkeys/passkey_store.ts";
import type { CounterStore } from "../limits/counter_store.ts";
import type { ClientStore } from "../oauth/client_store.ts";
import type { SessionStore } from "../tokens/session_store.ts";
import type { UserStore } from "../users/user_store.ts";
import { KvAuthorizationCodeStore } from "./kv_authorization_codes.ts";
import { KvBrowserSessionStore } from "./kv_browser_sessions.ts";
import { KvClientStore } from "./kv_clients.ts";
import { KvCounterStore } from "./kv_counters.ts";
import { KvKeyStore } from "./kv_keys.ts";
import { KEYS, kvCall } from "./kv_layout.ts";
import { KvMfaStore } from "./kv_mfa.ts";
import { KvPasskeyStore } from "./kv_passkeys.ts";
import { KvSessionStore } from "./kv_sessions.ts";
import { KvUserStore } from "./kv_users.ts";

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
}

/** The stores over `kv`. */
export function kvStores(kv: Deno.Kv): Stores {
  return {
    users: new KvUserStore(kv),
    sessions: new KvSessionStore(kv),
    counters: new KvCounterStore(kv),
    clients: new KvClientStore(kv),
    keys: new KvKeyStore(kv),
    mfa: new KvMfaStore(kv),
    passkeys: new KvPasskeyStore(kv),
    authorizationCodes: new KvAuthorizationCodeStore(kv),
    browserSessions: new KvBrowserSessionStore(kv),
    ping: () => kvCall("ping", async () => void await kv.get(KEYS.health)),
  };
}
