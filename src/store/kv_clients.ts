/**
 * {@link ClientStore} over Deno KV (keys: `kv_layout.ts`).
 *
 * @module
 */
import type { ClientRecord, ClientStore } from "../oauth/client_store.ts";
import type { Versioned } from "../versioned.ts";
import { KEYS, kvCall, versioned } from "./kv_layout.ts";

/** OAuth clients in Deno KV. */
export class KvClientStore implements ClientStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  getClient(clientId: string): Promise<Versioned<ClientRecord> | undefined> {
    return kvCall(
      "getClient",
      async () => versioned(await this.#kv.get<ClientRecord>(KEYS.client(clientId))),
    );
  }

  createClient(client: ClientRecord): Promise<boolean> {
    const key = KEYS.client(client.clientId);
    return kvCall("createClient", async () => {
      const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, client);
      return (await op.commit()).ok;
    });
  }

  updateClient(client: ClientRecord, versionstamp: string): Promise<boolean> {
    const key = KEYS.client(client.clientId);
    return kvCall("updateClient", async () => {
      return (await this.#kv.atomic().check({ key, versionstamp }).set(key, client).commit()).ok;
    });
  }

  deleteClient(clientId: string): Promise<boolean> {
    const key = KEYS.client(clientId);
    return kvCall("deleteClient", async () => {
      const entry = await this.#kv.get(key);
      if (entry.versionstamp === null) return false;
      // Guarded, so of two concurrent removes exactly one reports the client gone.
      const op = this.#kv.atomic().check({ key, versionstamp: entry.versionstamp }).delete(key);
      return (await op.commit()).ok;
    });
  }

  listClients(): Promise<ClientRecord[]> {
    return kvCall("listClients", async () => {
      const clients: ClientRecord[] = [];
      for await (const entry of this.#kv.list<ClientRecord>({ prefix: KEYS.clients })) {
        clients.push(entry.value);
      }
      return clients;
    });
  }
}
