/**
 * {@link UserStore} over PostgreSQL (schema: `pg_migrations.ts`).
 *
 * @module
 */
import type { Guard, UserPage, UserRecord, UserStore } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";
import { asPgStoreError, json, pgCall, READ_COMMITTED, type Sql, type Tx } from "./pg_client.ts";
import { cursorAfter, idAfterCursor } from "./user_cursor.ts";

/** Rows `allUsers` reads at a time. */
const BATCH = 500;

interface UserRow {
  stamp: string;
  record: UserRecord;
}

/** Users in PostgreSQL. */
export class PgUserStore implements UserStore {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  getUser(id: string): Promise<Versioned<UserRecord> | undefined> {
    return pgCall("getUser", async () => {
      const [row] = await this.#sql<UserRow[]>`SELECT stamp, record FROM users WHERE id = ${id}`;
      return row && { value: row.record, versionstamp: row.stamp };
    });
  }

  createUser(user: UserRecord): Promise<boolean> {
    // One statement: the primary key makes of two creators of one id exactly one win.
    return pgCall("createUser", async () => {
      const rows = await this.#sql`
        INSERT INTO users (id, stamp, record) VALUES (${user.id}, nextval('stamps'), ${
        json(user)
      }::text::jsonb)
        ON CONFLICT (id) DO NOTHING RETURNING stamp`;
      return rows.length === 1;
    });
  }

  updateUser(user: UserRecord, versionstamp: string, guards: Guard[] = []) {
    return pgCall("updateUser", () =>
      this.#sql.begin(READ_COMMITTED, async (tx) => {
        if (!(await lockAndCheck(tx, user.id, versionstamp, guards))) return undefined;
        const [row] = await tx<{ stamp: string }[]>`
          UPDATE users SET record = ${json(user)}::text::jsonb, stamp = nextval('stamps')
          WHERE id = ${user.id} RETURNING stamp`;
        return row?.stamp;
      }));
  }

  deleteUser(id: string, versionstamp: string, guards: Guard[] = []): Promise<boolean> {
    return pgCall("deleteUser", () =>
      this.#sql.begin(READ_COMMITTED, async (tx) => {
        if (!(await lockAndCheck(tx, id, versionstamp, guards))) return false;
        await tx`DELETE FROM users WHERE id = ${id}`;
        return true;
      }));
  }

  async *allUsers(): AsyncGenerator<Versioned<UserRecord>> {
    let after: string | undefined;
    while (true) {
      let rows: UserRow[];
      try {
        rows = after === undefined
          ? await this.#sql<UserRow[]>`SELECT stamp, record FROM users ORDER BY id LIMIT ${BATCH}`
          : await this.#sql<UserRow[]>`
            SELECT stamp, record FROM users WHERE id > ${after} ORDER BY id LIMIT ${BATCH}`;
      } catch (err) {
        throw asPgStoreError("allUsers", err);
      }
      for (const row of rows) yield { value: row.record, versionstamp: row.stamp };
      if (rows.length < BATCH) return;
      after = rows.at(-1)!.record.id;
    }
  }

  async listUsers(options: { limit: number; cursor?: string | undefined }): Promise<UserPage> {
    const after = options.cursor ? idAfterCursor(options.cursor) : undefined;
    return await pgCall("listUsers", async () => {
      const rows = after === undefined
        ? await this.#sql<UserRow[]>`SELECT record FROM users ORDER BY id LIMIT ${options.limit}`
        : await this.#sql<UserRow[]>`
          SELECT record FROM users WHERE id > ${after} ORDER BY id LIMIT ${options.limit}`;
      const users = rows.map((row) => row.record);
      const last = users.at(-1);
      return {
        users,
        cursor: users.length === options.limit && last ? cursorAfter(last.id) : undefined,
      };
    });
  }

  hasUsers(): Promise<boolean> {
    return pgCall("hasUsers", async () => {
      const [row] = await this.#sql`SELECT EXISTS (SELECT 1 FROM users) AS any`;
      return row?.any === true;
    });
  }
}

/**
 * READ COMMITTED, and every row the change relies on (the user and its guards) locked
 * `FOR UPDATE` in id order (one order for every writer: no deadlock between two demotions that
 * guard each other): until the commit none of them can change, so the stamps checked here are
 * the stamps at commit, as a KV atomic check is. True when all are as expected.
 */
async function lockAndCheck(
  tx: Tx,
  id: string,
  versionstamp: string,
  guards: readonly Guard[],
): Promise<boolean> {
  const expected = new Map<string, string>([[id, versionstamp]]);
  for (const guard of guards) {
    if (expected.has(guard.id) && expected.get(guard.id) !== guard.versionstamp) return false;
    expected.set(guard.id, guard.versionstamp);
  }
  const ids = [...expected.keys()];
  const rows = await tx<{ id: string; stamp: string }[]>`
    SELECT id, stamp FROM users WHERE id = ANY(${ids}) ORDER BY id FOR UPDATE`;
  return rows.length === ids.length && rows.every((row) => expected.get(row.id) === row.stamp);
}
