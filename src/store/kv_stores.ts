/**
 * Every store over one Deno KV handle: what the composition root (`services.ts`) is built on.
 *
 * @module
 */
import type { KeyStore } from "../keys/key_store.ts";
import type { MfaStore } from "../mfa/mfa_store.ts";
import type { PasskeyStore } from "../passkeys/passkey_store.ts";
import type { CounterStore } from "../limits/counter_store.ts";
import type { ClientStore } from "../oauth/client_store.ts";
import type { SessionStore } from "../tokens/session_store.ts";
import type { UserStore } from "../users/user_store.ts";
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
    ping: () => kvCall("ping", async () => void await kv.get(KEYS.health)),
  };
}
