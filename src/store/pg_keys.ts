/**
 * {@link KeyStore} over PostgreSQL (schema: `pg_migrations.ts`): the whole key set is one row,
 * its stamp the set's version. A write also sends `NOTIFY` on the set's channel, delivered at
 * commit, so every instance that `LISTEN`s reloads at once ({@link PgKeyStore.watch}); the key
 * ring's poll of the version stays as the fallback (a listener that was reconnecting).
 *
 * @module
 */
import type { KeyStore, StoredKeySet, VersionedKeySet } from "../keys/key_store.ts";
import { isStoredKeySet } from "../keys/key_store.ts";
import { json, pgCall, READ_COMMITTED, type Sql } from "./pg_client.ts";

/** The signing key set in PostgreSQL. */
export class PgKeyStore implements KeyStore {
  readonly #sql: Sql;
  readonly #channel: string;

  /** `channel`: the NOTIFY channel of this database's (or test schema's) key set. */
  constructor(sql: Sql, channel: string) {
    this.#sql = sql;
    this.#channel = channel;
  }

  read(): Promise<VersionedKeySet | undefined> {
    return pgCall("readKeySet", async () => {
      const [row] = await this.#sql<{ stamp: string; record: unknown }[]>`
        SELECT stamp, record FROM key_set WHERE id = 1`;
      if (!row) return undefined;
      if (!isStoredKeySet(row.record)) {
        throw new Error("The signing key set in the store is not one this server wrote");
      }
      return { set: row.record, versionstamp: row.stamp };
    });
  }

  version(): Promise<string | undefined> {
    return pgCall("keySetVersion", async () => {
      const [row] = await this.#sql<{ stamp: string }[]>`SELECT stamp FROM key_set WHERE id = 1`;
      return row?.stamp;
    });
  }

  /**
   * One READ COMMITTED transaction: the set's row is written only if its stamp is still
   * `expected` (the UPDATE's row lock and re-check make one of two concurrent writers win; the
   * primary key does for two first writers), the removed keys' marks go with it, and the NOTIFY
   * is sent only if it commits.
   */
  write(
    set: StoredKeySet,
    expected: string | undefined,
    removed: readonly string[] = [],
  ): Promise<boolean> {
    return pgCall("writeKeySet", () =>
      this.#sql.begin(READ_COMMITTED, async (tx) => {
        const written = expected === undefined
          ? await tx`
            INSERT INTO key_set (id, stamp, record) VALUES (1, nextval('stamps'), ${
            json(set)
          }::text::jsonb)
            ON CONFLICT (id) DO NOTHING RETURNING stamp`
          : await tx`
            UPDATE key_set SET record = ${json(set)}::text::jsonb, stamp = nextval('stamps')
            WHERE id = 1 AND stamp = ${expected} RETURNING stamp`;
        if (written.length !== 1) return false;
        if (removed.length > 0) await tx`DELETE FROM keys_in_use WHERE kid = ANY(${[...removed]})`;
        await tx`SELECT pg_notify(${this.#channel}, ${written[0]!.stamp as string})`;
        return true;
      }));
  }

  markInUse(kid: string, at: number): Promise<void> {
    return pgCall("markKeyInUse", async () => {
      await this.#sql`
        INSERT INTO keys_in_use (kid, at) VALUES (${kid}, ${at})
        ON CONFLICT (kid) DO UPDATE SET at = EXCLUDED.at`;
    });
  }

  inUse(): Promise<Map<string, number>> {
    return pgCall("keysInUse", async () => {
      const rows = await this.#sql<{ kid: string; at: string }[]>`SELECT kid, at FROM keys_in_use`;
      return new Map(rows.map((row) => [row.kid, Number(row.at)]));
    });
  }

  /**
   * Calls `onChange` on every NOTIFY of the set's channel, and each time the listening
   * connection (re)connects (a change may have been missed meanwhile). Resolves with a function
   * that stops listening. The driver keeps one extra connection for it and reconnects it.
   */
  async watch(onChange: () => void): Promise<() => Promise<void>> {
    const { unlisten } = await this.#sql.listen(this.#channel, () => onChange(), () => onChange());
    return unlisten;
  }
}
