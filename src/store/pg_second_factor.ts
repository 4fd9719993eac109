/**
 * {@link MfaStore} and {@link PasskeyStore} over PostgreSQL (schema: `pg_migrations.ts`,
 * migration 4), with the guarantees of `kv_mfa.ts` and `kv_passkeys.ts`. Every guarded write
 * is one statement, or one transaction, under READ COMMITTED: an UPDATE or DELETE locks its row
 * and re-checks its `WHERE` (the `stamp` read) after any concurrent writer commits, so of two
 * writers at one stamp exactly one matches (the KV versionstamp check). Challenges past
 * `gone_at` are invisible to every read and swept (`pg_stores.ts`).
 *
 * @module
 */
import type {
  ChallengeSuccess,
  MfaChallenge,
  MfaRecord,
  MfaStore,
  StoredFactors,
} from "../mfa/mfa_store.ts";
import type { PasskeyChallenge, PasskeyRecord, PasskeyStore } from "../passkeys/passkey_store.ts";
import type { Versioned } from "../versioned.ts";
import { asPgStoreError, json, pgCall, READ_COMMITTED, type Sql } from "./pg_client.ts";

/** Rows `allFactors` and `allPasskeys` read at a time (keyset pages, as `pg_users.ts`). */
const BATCH = 500;

/** The wall-clock end of a record that expires at `expiresAt` on the caller's clock `now`. */
function goneAt(wall: number, expiresAt: number, now: number): number {
  return wall + Math.max(1, expiresAt - now); // as KV's expireIn: relative to the caller's now
}

/** Thrown inside a transaction to roll it back when a checked stamp moved. */
class StampMoved extends Error {}

/** Second factors and login challenges in PostgreSQL. */
export class PgMfaStore implements MfaStore {
  readonly #sql: Sql;
  readonly #wall: () => number;

  constructor(sql: Sql, wall: () => number = Date.now) {
    this.#sql = sql;
    this.#wall = wall;
  }

  getFactors(userUid: string): Promise<Versioned<MfaRecord> | undefined> {
    return pgCall("getFactors", async () => {
      const [row] = await this.#sql<{ stamp: string; record: MfaRecord }[]>`
        SELECT stamp, record FROM mfa_factors WHERE user_uid = ${userUid}`;
      return row && { value: row.record, versionstamp: row.stamp };
    });
  }

  putFactors(userUid: string, record: MfaRecord, versionstamp: string | null): Promise<boolean> {
    return pgCall("putFactors", async () => {
      const value = json(record);
      const rows = versionstamp === null
        ? await this.#sql`
          INSERT INTO mfa_factors (user_uid, stamp, record)
          VALUES (${userUid}, nextval('stamps'), ${value}::text::jsonb)
          ON CONFLICT (user_uid) DO NOTHING RETURNING user_uid`
        : await this.#sql`
          UPDATE mfa_factors SET record = ${value}::text::jsonb, stamp = nextval('stamps')
          WHERE user_uid = ${userUid} AND stamp = ${versionstamp} RETURNING user_uid`;
      return rows.length === 1;
    });
  }

  deleteFactors(userUid: string): Promise<boolean> {
    return pgCall("deleteFactors", async () => {
      const rows = await this.#sql`
        DELETE FROM mfa_factors WHERE user_uid = ${userUid} RETURNING user_uid`;
      return rows.length === 1;
    });
  }

  async *allFactors(): AsyncGenerator<StoredFactors> {
    type Row = { user_uid: string; record: MfaRecord };
    let after: string | undefined;
    while (true) {
      let rows: Row[];
      try {
        rows = after === undefined
          ? await this.#sql<Row[]>`
            SELECT user_uid, record FROM mfa_factors ORDER BY user_uid LIMIT ${BATCH}`
          : await this.#sql<Row[]>`
            SELECT user_uid, record FROM mfa_factors WHERE user_uid > ${after}
            ORDER BY user_uid LIMIT ${BATCH}`;
      } catch (err) {
        throw asPgStoreError("allFactors", err);
      }
      for (const row of rows) yield { userUid: row.user_uid, record: row.record };
      if (rows.length < BATCH) return;
      after = rows.at(-1)!.user_uid;
    }
  }

  createChallenge(id: string, challenge: MfaChallenge, now: number): Promise<void> {
    return pgCall("createChallenge", async () => {
      const gone = goneAt(this.#wall(), challenge.expiresAt, now);
      const value = json(challenge);
      await this.#sql`
        INSERT INTO mfa_challenges (id, stamp, record, gone_at)
        VALUES (${id}, nextval('stamps'), ${value}::text::jsonb, ${gone})
        ON CONFLICT (id) DO UPDATE
          SET stamp = EXCLUDED.stamp, record = EXCLUDED.record, gone_at = EXCLUDED.gone_at`;
    });
  }

  getChallenge(id: string): Promise<Versioned<MfaChallenge> | undefined> {
    return pgCall("getChallenge", async () => {
      const [row] = await this.#sql<{ stamp: string; record: MfaChallenge }[]>`
        SELECT stamp, record FROM mfa_challenges WHERE id = ${id} AND gone_at > ${this.#wall()}`;
      return row && { value: row.record, versionstamp: row.stamp };
    });
  }

  failChallenge(
    id: string,
    challenge: MfaChallenge | undefined,
    versionstamp: string,
    now: number,
  ): Promise<boolean> {
    return pgCall("failChallenge", async () => {
      const wall = this.#wall();
      if (!challenge) {
        const rows = await this.#sql`
          DELETE FROM mfa_challenges
          WHERE id = ${id} AND stamp = ${versionstamp} AND gone_at > ${wall} RETURNING id`;
        return rows.length === 1;
      }
      const value = json(challenge);
      const rows = await this.#sql`
        UPDATE mfa_challenges SET record = ${value}::text::jsonb, stamp = nextval('stamps'),
          gone_at = ${goneAt(wall, challenge.expiresAt, now)}
        WHERE id = ${id} AND stamp = ${versionstamp} AND gone_at > ${wall} RETURNING id`;
      return rows.length === 1;
    });
  }

  completeChallenge(success: ChallengeSuccess): Promise<boolean> {
    // One transaction (READ COMMITTED): the DELETE locks the challenge's row and the UPDATE the
    // factors' row, each matching only at the stamp read; if either matches nothing the whole
    // transaction rolls back. Of two presenters of one challenge, or of one code (the factors'
    // stamp), the second waits on the first's lock, re-checks, matches nothing: one passes.
    return pgCall("completeChallenge", async () => {
      try {
        await this.#sql.begin(READ_COMMITTED, async (tx) => {
          const spent = await tx`
            DELETE FROM mfa_challenges
            WHERE id = ${success.challengeId} AND stamp = ${success.challengeVersionstamp}
              AND gone_at > ${this.#wall()}
            RETURNING id`;
          if (spent.length !== 1) throw new StampMoved();
          const value = json(success.factors);
          const written = await tx`
            UPDATE mfa_factors SET record = ${value}::text::jsonb, stamp = nextval('stamps')
            WHERE user_uid = ${success.userUid} AND stamp = ${success.factorsVersionstamp}
            RETURNING user_uid`;
          if (written.length !== 1) throw new StampMoved();
        });
        return true;
      } catch (err) {
        if (err instanceof StampMoved) return false;
        throw err;
      }
    });
  }
}

/** Passkeys and their challenges in PostgreSQL. */
export class PgPasskeyStore implements PasskeyStore {
  readonly #sql: Sql;
  readonly #wall: () => number;

  constructor(sql: Sql, wall: () => number = Date.now) {
    this.#sql = sql;
    this.#wall = wall;
  }

  getPasskey(id: string): Promise<Versioned<PasskeyRecord> | undefined> {
    return pgCall("getPasskey", async () => {
      const [row] = await this.#sql<{ stamp: string; record: PasskeyRecord }[]>`
        SELECT stamp, record FROM passkeys WHERE id = ${id}`;
      return row && { value: row.record, versionstamp: row.stamp };
    });
  }

  listPasskeys(userUid: string): Promise<PasskeyRecord[]> {
    return pgCall("listPasskeys", async () => {
      const rows = await this.#sql<{ record: PasskeyRecord }[]>`
        SELECT record FROM passkeys WHERE user_uid = ${userUid} ORDER BY id`;
      return rows.map((row) => row.record);
    });
  }

  async *allPasskeys(): AsyncGenerator<PasskeyRecord> {
    type Row = { id: string; record: PasskeyRecord };
    let after: string | undefined;
    while (true) {
      let rows: Row[];
      try {
        rows = after === undefined
          ? await this.#sql<Row[]>`SELECT id, record FROM passkeys ORDER BY id LIMIT ${BATCH}`
          : await this.#sql<Row[]>`
            SELECT id, record FROM passkeys WHERE id > ${after} ORDER BY id LIMIT ${BATCH}`;
      } catch (err) {
        throw asPgStoreError("allPasskeys", err);
      }
      for (const row of rows) yield row.record;
      if (rows.length < BATCH) return;
      after = rows.at(-1)!.id;
    }
  }

  createPasskey(record: PasskeyRecord): Promise<boolean> {
    return pgCall("createPasskey", async () => {
      const value = json(record);
      const rows = await this.#sql`
        INSERT INTO passkeys (id, user_uid, stamp, record)
        VALUES (${record.id}, ${record.userUid}, nextval('stamps'), ${value}::text::jsonb)
        ON CONFLICT (id) DO NOTHING RETURNING id`;
      return rows.length === 1;
    });
  }

  updatePasskey(record: PasskeyRecord, versionstamp: string): Promise<boolean> {
    return pgCall("updatePasskey", async () => {
      const value = json(record);
      // The owner is part of the match: a rewrite never moves a passkey to another user.
      const rows = await this.#sql`
        UPDATE passkeys SET record = ${value}::text::jsonb, stamp = nextval('stamps')
        WHERE id = ${record.id} AND user_uid = ${record.userUid} AND stamp = ${versionstamp}
        RETURNING id`;
      return rows.length === 1;
    });
  }

  deletePasskey(userUid: string, id: string): Promise<boolean> {
    return pgCall("deletePasskey", async () => {
      const rows = await this.#sql`
        DELETE FROM passkeys WHERE id = ${id} AND user_uid = ${userUid} RETURNING id`;
      return rows.length === 1;
    });
  }

  putChallenge(id: string, challenge: PasskeyChallenge, now: number): Promise<void> {
    return pgCall("putPasskeyChallenge", async () => {
      const gone = goneAt(this.#wall(), challenge.expiresAt, now);
      const value = json(challenge);
      await this.#sql`
        INSERT INTO passkey_challenges (id, record, gone_at)
        VALUES (${id}, ${value}::text::jsonb, ${gone})
        ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, gone_at = EXCLUDED.gone_at`;
    });
  }

  takeChallenge(id: string): Promise<PasskeyChallenge | undefined> {
    // One DELETE ... RETURNING: of two takers, the second waits on the row lock and finds
    // nothing left to delete.
    return pgCall("takePasskeyChallenge", async () => {
      const [row] = await this.#sql<{ record: PasskeyChallenge }[]>`
        DELETE FROM passkey_challenges WHERE id = ${id} AND gone_at > ${this.#wall()}
        RETURNING record`;
      return row?.record;
    });
  }
}
