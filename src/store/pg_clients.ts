/**
 * {@link ClientStore} over PostgreSQL (schema: `pg_migrations.ts`). Every write is one
 * statement: the primary key and the row lock of an UPDATE/DELETE give what KV's checks gave.
 *
 * @module
 */
import type { ClientRecord, ClientStore } from "../oauth/client_store.ts";
import type { Versioned } from "../versioned.ts";
import { json, pgCall, type Sql } from "./pg_client.ts";

/** OAuth clients in PostgreSQL. */
export class PgClientStore implements ClientStore {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  getClient(clientId: string): Promise<Versioned<ClientRecord> | undefined> {
    return pgCall("getClient", async () => {
      const [row] = await this.#sql<{ stamp: string; record: ClientRecord }[]>`
        SELECT stamp, record FROM oauth_clients WHERE client_id = ${clientId}`;
      return row && { value: row.record, versionstamp: row.stamp };
    });
  }

  createClient(client: ClientRecord): Promise<boolean> {
    return pgCall("createClient", async () => {
      const rows = await this.#sql`
        INSERT INTO oauth_clients (client_id, stamp, record)
        VALUES (${client.clientId}, nextval('stamps'), ${json(client)}::text::jsonb)
        ON CONFLICT (client_id) DO NOTHING RETURNING stamp`;
      return rows.length === 1;
    });
  }

  updateClient(client: ClientRecord, versionstamp: string): Promise<boolean> {
    // The row lock and READ COMMITTED's re-check of the WHERE: one of two writers that read
    // the same stamp wins.
    return pgCall("updateClient", async () => {
      const rows = await this.#sql`
        UPDATE oauth_clients SET record = ${json(client)}::text::jsonb, stamp = nextval('stamps')
        WHERE client_id = ${client.clientId} AND stamp = ${versionstamp} RETURNING stamp`;
      return rows.length === 1;
    });
  }

  deleteClient(clientId: string): Promise<boolean> {
    // Of two concurrent removes, the second finds no row once the first commits.
    return pgCall("deleteClient", async () => {
      const rows = await this.#sql`
        DELETE FROM oauth_clients WHERE client_id = ${clientId} RETURNING client_id`;
      return rows.length === 1;
    });
  }

  listClients(): Promise<ClientRecord[]> {
    return pgCall("listClients", async () => {
      const rows = await this.#sql<{ record: ClientRecord }[]>`
        SELECT record FROM oauth_clients ORDER BY client_id`;
      return rows.map((row) => row.record);
    });
  }
}
