/**
 * Every store over one Deno KV handle: what the composition root (`services.ts`) is built on.
 *
 * @module
 */
import { KvAuthorizationCodeStore } from "./kv_authorization_codes.ts";
import { KvBrowserSessionStore } from "./kv_browser_sessions.ts";
import { KvClientStore } from "./kv_clients.ts";
import { KvCounterStore } from "./kv_counters.ts";
import { KvKeyStore } from "./kv_keys.ts";
import { KEYS, kvCall } from "./kv_layout.ts";
import { KvSessionStore } from "./kv_sessions.ts";
import { KvUserStore } from "./kv_users.ts";
import type { Stores } from "./stores.ts";

/** The stores over `kv`. */
export function kvStores(kv: Deno.Kv): Stores {
  return {
    users: new KvUserStore(kv),
    sessions: new KvSessionStore(kv),
    counters: new KvCounterStore(kv),
    clients: new KvClientStore(kv),
    keys: new KvKeyStore(kv),
    authorizationCodes: new KvAuthorizationCodeStore(kv),
    browserSessions: new KvBrowserSessionStore(kv),
    ping: () => kvCall("ping", async () => void await kv.get(KEYS.health)),
    recordIssuer: (issuer) =>
      kvCall("record issuer", async () => {
        const { value } = await kv.get<string>(KEYS.servedIssuer);
        if (value !== issuer) await kv.set(KEYS.servedIssuer, issuer);
        return value ?? undefined;
      }),
  };
}
