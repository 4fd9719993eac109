/**
 * The table of variables (src/config/variables.ts) is the one definition: `.env.example` and
 * docs/configuration.md's table match it, the unknown-name warning knows every name in it, and no
 * value of a variable it marks secret appears in a note or an error message.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { ConfigError } from "../../src/config/config_error.ts";
import { firstRunEnvFile } from "../../src/config/env_file.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { overrideNote, unknownNameWarning } from "../../src/config/notes.ts";
import { parseConfig } from "../../src/config/parse_config.ts";
import {
  DOCS_COLUMNS,
  DOCS_TABLE_END,
  DOCS_TABLE_START,
  docsRows,
  envExample,
} from "../../src/config/reference.ts";
import {
  CONFIG_VARIABLES,
  DEFAULTS,
  isSecret,
  SHARED_WITH_CLI,
  type Variable,
  VARIABLES,
} from "../../src/config/variables.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";
import { ROOT } from "../helpers/server_process.ts";

const testReading = needs(READ);
const testWithFiles = needs(READ, WRITE);
const TABLE = VARIABLES as readonly Variable[];
const GOOD_SECRET = "unit-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const FIX = "run `deno task config:reference` after changing src/config/variables.ts";

/** The cells of the Markdown table between the generated-table markers. */
function docsTableCells(page: string): string[][] {
  const start = page.indexOf(DOCS_TABLE_START);
  const end = page.indexOf(DOCS_TABLE_END);
  assert.ok(start >= 0 && end > start, "docs/configuration.md has the generated-table markers");
  return page.slice(start + DOCS_TABLE_START.length, end).split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) => line.slice(1, -1).split(" | ").map((cell) => cell.trim()));
}

testReading(".env.example is the table's, as generated", async () => {
  const shipped = await Deno.readTextFile(join(ROOT, ".env.example"));
  assert.equal(shipped, envExample(), FIX);
  assert.deepEqual(
    Object.keys(parseEnv(shipped)),
    [...CONFIG_VARIABLES],
    "every variable, in order",
  );
});

testReading("docs/configuration.md's table is the table's, as generated", async () => {
  const cells = docsTableCells(await Deno.readTextFile(join(ROOT, "docs/configuration.md")));
  assert.deepEqual(cells[0], [...DOCS_COLUMNS]);
  assert.ok(cells[1]!.every((cell) => /^-+$/.test(cell)), "the separator row");
  assert.deepEqual(cells.slice(2), docsRows(), FIX);
});

Deno.test("the table: one entry per name and per field, one-line descriptions", () => {
  assert.equal(new Set(TABLE.map((v) => v.name)).size, TABLE.length, "names are unique");
  assert.equal(new Set(TABLE.map((v) => v.key)).size, TABLE.length, "fields are unique");
  for (const v of TABLE) {
    assert.match(v.name, /^[A-Z][A-Z0-9_]*$/, v.name);
    assert.ok(!v.description.includes("\n") && v.description.length <= 98, `${v.name}: one line`);
    assert.ok(!`${v.description}${v.details ?? ""}`.includes("|"), `${v.name}: no | in a cell`);
  }
  assert.deepEqual(CONFIG_VARIABLES, TABLE.map((v) => v.name));
  assert.deepEqual(SHARED_WITH_CLI, TABLE.filter((v) => v.sharedWithCli).map((v) => v.name));
});

Deno.test("the table's defaults are what an unset variable parses to", () => {
  const unset = parseConfig({ SECRET_KEY: GOOD_SECRET });
  for (const v of TABLE) {
    if (v.default === undefined) continue;
    const given = parseConfig({ SECRET_KEY: GOOD_SECRET, [v.name]: v.default });
    assert.deepEqual(given, unset, `${v.name}=${v.default} is the default`);
  }
});

Deno.test("a first-run .env holds exactly the table's first-run defaults, and parses", () => {
  const written = parseEnv(firstRunEnvFile());
  const { SECRET_KEY, ...rest } = written;
  assert.ok(SECRET_KEY);
  assert.deepEqual(rest, { ...DEFAULTS });
  assert.deepEqual(
    Object.keys(DEFAULTS),
    TABLE.filter((v) => v.firstRun === "default").map((v) => v.name),
  );
  // "never": not even from the environment.
  const fromEnv = parseEnv(firstRunEnvFile(
    Object.fromEntries(TABLE.map((v) => [v.name, v.example ?? v.default ?? "x"])),
  ));
  for (const v of TABLE.filter((v) => v.firstRun === "never" && v.name !== "SECRET_KEY")) {
    assert.equal(fromEnv[v.name], undefined, v.name);
  }
});

Deno.test("the unknown-name warning knows every name of the table", () => {
  for (const { name } of TABLE) {
    assert.equal(
      unknownNameWarning(name.toLowerCase()),
      `Warning: .env sets ${name.toLowerCase()}, which is not a setting and changes nothing: ` +
        `names are case-sensitive; did you mean ${name}?`,
    );
    assert.match(unknownNameWarning(`${name}S`), new RegExp(`did you mean ${name}\\?$`));
  }
});

testWithFiles("loadConfig: every name of the table is known; others are reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "config-reference-" });
  try {
    const envFile = join(dir, ".env");
    const known = TABLE.filter((v) => v.default !== undefined)
      .map((v) => `${v.name}='${v.default}'`);
    await Deno.writeTextFile(
      envFile,
      [`SECRET_KEY=${GOOD_SECRET}`, ...known, "SOMETHING_ELSE=1", ""].join("\n"),
    );
    const { unknownNames } = await loadConfig({ env: {}, envFile });
    assert.deepEqual(unknownNames, ["SOMETHING_ELSE"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A value of each secret variable, and values it refuses, all holding {@link MARK}. */
const MARK = "Zq7MarkOfASecretValue";
const SECRET_SAMPLES: Record<string, { good: string; bad: string[] }> = {
  SECRET_KEY: { good: `${MARK}-0123456789abcdef`, bad: [MARK, `${MARK}\u0007`, "changeme"] },
  PREVIOUS_SECRET_KEYS: {
    good: `${MARK}-previous-0123456789`,
    bad: [MARK, `${GOOD_SECRET},${MARK}`],
  },
  DATABASE_URL: {
    good: `postgres://app:${MARK}@db.example:5432/auth`,
    bad: [
      `mysql://app:${MARK}@db.example/auth`,
      `postgres://app:${MARK}@db.example:99999/auth`,
      `postgres://app:${MARK}@/auth`,
      `${MARK}`,
      // Its password is the secret part; a bad option is named (sslmode=bogus), not the password.
      `postgres://app:${MARK}@db.example/auth?sslmode=bogus`,
    ],
  },
  BOOTSTRAP_PASSWORD: { good: `${MARK}-bootstrap`, bad: [MARK.slice(0, 5)] },
  METRICS_TOKEN: { good: `${MARK}-metrics-0123456789`, bad: [] },
};

Deno.test("every secret of the table has samples in this test", () => {
  assert.deepEqual(
    Object.keys(SECRET_SAMPLES).sort(),
    TABLE.filter((v) => v.secret).map((v) => v.name).sort(),
  );
  for (const name of Object.keys(SECRET_SAMPLES)) assert.ok(isSecret(name), name);
});

Deno.test("a secret's refused value is never in the error message", () => {
  for (const [name, { bad }] of Object.entries(SECRET_SAMPLES)) {
    for (const value of bad) {
      const vars = { SECRET_KEY: GOOD_SECRET, [name]: value };
      assert.throws(() => parseConfig(vars), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${name}=${value}: ${String(err)}`);
        assert.equal(err.variable, name);
        assert.ok(!err.message.includes(MARK.slice(0, 5)), `${name}: ${err.message}`);
        assert.ok(!String(err.stack).includes(MARK.slice(0, 5)), `${name}: the stack`);
        return true;
      }, `${name}=${value} is refused`);
    }
  }
});

testWithFiles("a secret the environment overrides is named in its note, never shown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "config-reference-" });
  try {
    const envFile = join(dir, ".env");
    const file = Object.entries(SECRET_SAMPLES).map(([name, { good }]) => `${name}='${good}'`);
    await Deno.writeTextFile(envFile, file.join("\n") + "\n");
    const env = Object.fromEntries(
      Object.entries(SECRET_SAMPLES).map(([name, { good }]) => [name, `${good}-other`]),
    );
    const { overrides, config } = await loadConfig({ env, envFile });
    assert.equal(config.metricsToken, env.METRICS_TOKEN, "the environment wins");
    const shared = TABLE.filter((v) => v.secret && v.sharedWithCli).map((v) => v.name);
    assert.deepEqual(overrides.map((o) => o.name).sort(), shared.sort());
    for (const override of overrides) {
      const note = overrideNote(override);
      assert.match(note, new RegExp(`^Note: ${override.name} from the environment overrides`));
      assert.ok(!note.includes(MARK), note);
    }
    for (const v of TABLE.filter((v) => !v.secret)) {
      assert.match(overrideNote({ name: v.name, env: "a", file: "b" }), /=a \(\.env: b\)/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
