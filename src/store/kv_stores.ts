/**
 * Every store over one Deno KV handle: what the composition root (`services.ts`) is built on.
 *
 * @module
 */
import type { KeyStore } from "../keys/key_store.ts";
import type { CounterStore } from "../limits/counter_store.ts";
import type { ClientStore } from "../oauth/client_store.ts";
import type { SessionStore } from "../tokens/session_store.ts";
import type { UserStore } from "../users/user_store.ts";
import { KvClientStore } from "./kv_clients.ts";
import { KvCounterStore } from "./kv_counters.ts";
import { KvKeyStore } from "./kv_keys.ts";
import { KEYS, kvCall } from "./kv_layout.ts";
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
  /** Throws `StoreUnavailableError` when the store cannot be read. */
  ping(): Promise<void>;
  /**
   * Records `issuer` as the one this store's tokens are issued under; resolves with the one
   * recorded before (`undefined` on a new store), so a server started under another issuer can
   * say that the tokens issued before are refused now.
   */
  recordIssuer(issuer: string): Promise<string | undefined>;
}

/** The stores over `kv`. */
export function kvStores(kv: Deno.Kv): Stores {
  return {
    users: new KvUserStore(kv),
    sessions: new KvSessionStore(kv),
    counters: new KvCounterStore(kv),
    clients: new KvClientStore(kv),
    keys: new KvKeyStore(kv),
    ping: () => kvCall("ping", async () => void await kv.get(KEYS.health)),
    recordIssuer: (issuer) =>
      kvCall("record issuer", async () => {
        const { value } = await kv.get<string>(KEYS.servedIssuer);
        if (value !== issuer) await kv.set(KEYS.servedIssuer, issuer);
        return value ?? undefined;
      }),
  };
}
