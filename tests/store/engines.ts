/**
 * The engines the store contract suites run against, unchanged: the in-memory fakes
 * (`tests/helpers/fake_stores.ts`), Deno KV (`:memory:`) and PostgreSQL (`TEST_DATABASE_URL`;
 * each test gets its own schema, dropped after, so runs on one database never collide).
 * Outside CI a PostgreSQL test is skipped with a printed reason when the variable is unset; with
 * `CI` set it fails instead (a skipped engine must not pass for a tested one). A run that may
 * not read the environment or connect (`deno test` as typed) skips it with the flags it lacks
 * (`tests/helpers/permissions.ts`), and reads nothing at load.
 */
import { kvStores } from "../../src/store/kv_stores.ts";
import { openPool, type Sql } from "../../src/store/pg_client.ts";
import { migrate, quoteIdent } from "../../src/store/pg_migrations.ts";
import { keySetChannel, pgStores } from "../../src/store/pg_stores.ts";
import type { Stores } from "../../src/store/stores.ts";
import { fakeStores } from "../helpers/fake_stores.ts";
import { ENV, lacking, needs, NET } from "../helpers/permissions.ts";

/** Stores open for one test: `second` is another instance on the same data where the engine has one. */
export interface Opened extends AsyncDisposable {
  readonly stores: Stores;
  readonly second: Stores;
  /** PostgreSQL only: the test schema's pool. */
  readonly sql?: Sql;
}

export interface Engine {
  readonly name: string;
  /** Set when the engine cannot run here (and may be skipped). */
  readonly ignore: boolean;
  open(): Promise<Opened>;
}

/** What a PostgreSQL test needs: `TEST_DATABASE_URL` from the environment, and a connection. */
export const PG_NEEDS: readonly Deno.PermissionDescriptor[] = [ENV, NET];
/** `Deno.test` for PostgreSQL tests: skipped, saying the flags, when the run lacks {@link PG_NEEDS}. */
export const pgTest = needs(...PG_NEEDS);

/** An environment variable; unset when the test run may not read it (asked, never tried). */
function env(name: string): string | undefined {
  if (lacking([{ name: "env", variable: name }]).length > 0) return undefined;
  return Deno.env.get(name) || undefined;
}

/** `TEST_DATABASE_URL`, when set (and readable). */
export function testDatabaseUrl(): string | undefined {
  return env("TEST_DATABASE_URL");
}

/** Is this a CI run (`CI` set): a PostgreSQL test must then run, not skip. */
export const inCi = Boolean(env("CI"));
const url = testDatabaseUrl();
if (!url && !inCi && lacking(PG_NEEDS).length === 0) {
  console.log(
    "PostgreSQL store tests skipped: TEST_DATABASE_URL is unset " +
      "(e.g. postgres://postgres@127.0.0.1:5432/postgres; .ci/run starts one)",
  );
}

let schemas = 0;

/** A fresh schema on `TEST_DATABASE_URL`, migrated; dropped on dispose. */
export async function openTestSchema(
  poolSize = 4,
): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  if (!url) throw new Error("TEST_DATABASE_URL is unset, and CI is set: PostgreSQL must be tested");
  const schema = `t_${Date.now().toString(36)}_${Deno.pid}_${schemas++}_${
    crypto.randomUUID().slice(0, 6)
  }`;
  const admin = openPool({ url, poolSize: 1 });
  const migrating = openPool({ url, poolSize, schema });
  try {
    await migrate(migrating, schema);
  } finally {
    await migrating.end({ timeout: 5 });
  }
  return {
    schema,
    url,
    drop: async () => {
      await admin.unsafe(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await admin.end({ timeout: 5 });
    },
  };
}

async function openPg(): Promise<Opened> {
  const made = await openTestSchema();
  const first = openPool({ url: made.url, poolSize: 4, schema: made.schema });
  const other = openPool({ url: made.url, poolSize: 4, schema: made.schema });
  const channel = keySetChannel(made.schema);
  return {
    stores: pgStores(first, { channel }),
    second: pgStores(other, { channel }),
    sql: first,
    async [Symbol.asyncDispose]() {
      await first.end({ timeout: 5 });
      await other.end({ timeout: 5 });
      await made.drop();
    },
  };
}

export const ENGINES: readonly Engine[] = [
  {
    name: "fake",
    ignore: false,
    open: () => {
      const stores = fakeStores({ mode: "ok" });
      return Promise.resolve({
        stores,
        second: stores,
        [Symbol.asyncDispose]: () => Promise.resolve(),
      });
    },
  },
  {
    name: "kv",
    ignore: false,
    open: async () => {
      const kv = await Deno.openKv(":memory:");
      const stores = kvStores(kv);
      return {
        stores,
        second: stores,
        [Symbol.asyncDispose]: () => Promise.resolve(kv.close()),
      };
    },
  },
  { name: "postgres", ignore: !url && !inCi, open: openPg },
];

/**
 * Registers `body` once per engine, as `<suite> [<engine>]: <name>`.
 */
export function contract(
  suite: string,
  name: string,
  body: (opened: Opened, engine: string) => Promise<void>,
): void {
  for (const engine of ENGINES) {
    const test = engine.name === "postgres" ? pgTest : Deno.test;
    test({
      name: `${suite} [${engine.name}]: ${name}`,
      ignore: engine.ignore,
      // The driver keeps timers of its own (idle and lifetime) that end with its pool.
      sanitizeOps: engine.name !== "postgres",
      sanitizeResources: engine.name !== "postgres",
      fn: async () => {
        await using opened = await engine.open();
        await body(opened, engine.name);
      },
    });
  }
}
