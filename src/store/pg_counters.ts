/**
 * {@link CounterStore} over PostgreSQL: one GCRA timestamp per limit and subject (schema:
 * `pg_migrations.ts`; arithmetic: `limits/gcra.ts`, shared with every engine).
 *
 * @module
 */
import type { CounterStore, LimitCell } from "../limits/counter_store.ts";
import { gcraGiveBack, gcraTake } from "../limits/gcra.ts";
import { pgCall, READ_COMMITTED, type Sql, type Tx } from "./pg_client.ts";
import { goneAt } from "./pg_sessions.ts";

/** Thrown out of a take's transaction to roll it back: the ms each cell asks to wait. */
class Refused {
  constructor(readonly waits: number[]) {}
}

/** Rate-limit cells in PostgreSQL. */
export class PgCounterStore implements CounterStore {
  readonly #sql: Sql;
  readonly #wall: () => number;

  constructor(sql: Sql, wall: () => number = Date.now) {
    this.#sql = sql;
    this.#wall = wall;
  }

  /**
   * One READ COMMITTED transaction: the cells' rows are created if missing and locked
   * `FOR UPDATE` in one order (bucket, subject) for every writer, so concurrent takes of a cell
   * queue on its row lock and each sees the one before it; all cells are written or none (a
   * refusal rolls back), as one KV atomic commit.
   */
  take(cells: readonly LimitCell[], now: number): Promise<number[]> {
    return pgCall("take", () =>
      this.#sql.begin(READ_COMMITTED, async (tx): Promise<number[]> => {
        const wall = this.#wall();
        const tats = await lockCells(tx, cells, wall);
        const steps = cells.map((cell, i) => gcraTake(tats[i], cell, now));
        if (steps.some((s) => !s.allowed)) {
          // Refused: nothing may stay written, not even the rows just created (the throw
          // rolls the transaction back).
          throw new Refused(steps.map((s) => s.allowed ? 0 : s.waitMs));
        }
        for (const [i, cell] of cells.entries()) {
          const step = steps[i]!;
          const tat = step.allowed ? step.tat : now;
          await tx`
            UPDATE limits SET tat = ${tat}, gone_at = ${goneAt(wall, tat, now)}
            WHERE bucket = ${cell.bucket} AND subject = ${cell.subject}`;
        }
        return steps.map(() => 0);
      }).catch((err) => {
        if (err instanceof Refused) return err.waits;
        throw err;
      }));
  }

  giveBack(cell: LimitCell, now: number): Promise<void> {
    return pgCall("giveBack", () =>
      this.#sql.begin(READ_COMMITTED, async (tx) => {
        const wall = this.#wall();
        const [row] = await tx<{ tat: number | null; gone_at: string }[]>`
          SELECT tat, gone_at FROM limits WHERE bucket = ${cell.bucket} AND subject = ${cell.subject}
          FOR UPDATE`;
        const current = row && row.tat !== null && Number(row.gone_at) > wall ? row.tat : undefined;
        if (current === undefined) return;
        const tat = gcraGiveBack(current, cell, now);
        if (tat === undefined) {
          await tx`DELETE FROM limits WHERE bucket = ${cell.bucket} AND subject = ${cell.subject}`;
        } else {
          await tx`
            UPDATE limits SET tat = ${tat}, gone_at = ${goneAt(wall, tat, now)}
            WHERE bucket = ${cell.bucket} AND subject = ${cell.subject}`;
        }
      }));
  }
}

/**
 * Creates the missing rows (no timestamp yet) and locks all of them, sorted; each cell's live
 * timestamp (`undefined` when absent or gone), in the order of `cells`.
 *
 * One `INSERT ... ON CONFLICT DO UPDATE` per cell, never an insert that may do nothing and then
 * a `SELECT ... FOR UPDATE`: between those two a give-back or the sweep could delete the row,
 * and the select then locked nothing (READ COMMITTED skips a row deleted while it waited). The
 * final `UPDATE` found the row created again and waited for the take that held it, which was
 * waiting for this take's next cell: a deadlock, a 503 `busy` (the fleet test saw it in CI).
 * `DO UPDATE` always ends holding the row's lock: it creates the row or locks the one there
 * (PostgreSQL retries the insert itself when that one is deleted meanwhile).
 */
async function lockCells(
  tx: Tx,
  cells: readonly LimitCell[],
  wall: number,
): Promise<(number | undefined)[]> {
  const sorted = [...cells].sort((a, b) =>
    a.bucket === b.bucket ? compare(a.subject, b.subject) : compare(a.bucket, b.bucket)
  );
  const tats = new Map<string, number | undefined>();
  for (const cell of sorted) {
    const [row] = await tx<{ tat: number | null; gone_at: string }[]>`
      INSERT INTO limits (bucket, subject, tat, gone_at) VALUES (${cell.bucket}, ${cell.subject}, NULL, 0)
      ON CONFLICT (bucket, subject) DO UPDATE SET tat = limits.tat
      RETURNING tat, gone_at`;
    const live = row && row.tat !== null && Number(row.gone_at) > wall ? row.tat : undefined;
    tats.set(`${cell.bucket}\u0000${cell.subject}`, live);
  }
  return cells.map((cell) => tats.get(`${cell.bucket}\u0000${cell.subject}`));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
