/**
 * The reference text the table of variables (`variables.ts`) produces: `.env.example` and the
 * table in docs/configuration.md. `deno task config:reference` writes both; a test
 * (tests/unit/config_reference_test.ts) fails when either differs from the table.
 *
 * @module
 */
import { envLine } from "./env_file.ts";
import { type Variable, VARIABLES } from "./variables.ts";

const ENV_EXAMPLE_HEADER = [
  "# Generated from src/config/variables.ts by `deno task config:reference`: edit the table there.",
  "# Copy to .env, or just run `deno task start`: the first start writes a .env with a random",
  "# SECRET_KEY, the settings the environment gives and the defaults. The real environment wins",
  "# over .env. Empty: unset. docs/configuration.md says more of each.",
];

/**
 * The text of `.env.example`: a header, then per variable its one-line description and a line
 * with its example or default (empty when it has neither).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envExample } from "./reference.ts";
 * assert.match(envExample(), /\n# The port to listen on \(the tutorial's\)\nPORT=10000\n/);
 * ```
 */
export function envExample(): string {
  const blocks = (VARIABLES as readonly Variable[]).map((v) => {
    const value = v.example ?? v.default;
    const line = value === undefined ? `${v.name}=` : envLine(v.name, value);
    if (line === undefined) throw new Error(`${v.name}: its example cannot be written to .env`);
    return `# ${v.description}\n${line}`;
  });
  return [ENV_EXAMPLE_HEADER.join("\n"), ...blocks].join("\n\n") + "\n";
}

/** The columns of the docs' table. */
export const DOCS_COLUMNS = ["Variable", "Default", "Secret", "CLIs", "Meaning"] as const;

/**
 * The cells of docs/configuration.md's table, one row per variable (Markdown, unpadded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { docsRows } from "./reference.ts";
 * const port = docsRows().find((row) => row[0] === "`PORT`");
 * assert.deepEqual(port, ["`PORT`", "`10000`", "", "", "The port to listen on (the tutorial's)."]);
 * ```
 */
export function docsRows(): string[][] {
  return (VARIABLES as readonly Variable[]).map((v) => [
    `\`${v.name}\``,
    v.defaultText ?? (v.default === undefined ? "empty" : `\`${v.default}\``),
    v.secret ? "secret" : "",
    v.sharedWithCli ? "shared" : "",
    sentence(v.details ?? v.description),
  ]);
}

/** The docs' table as Markdown (padded by `deno fmt` afterwards). */
export function docsTable(): string {
  const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [
    row(DOCS_COLUMNS),
    row(DOCS_COLUMNS.map(() => "---")),
    ...docsRows().map(row),
  ].join("\n");
}

/** The markers around the generated table in docs/configuration.md. */
export const DOCS_TABLE_START =
  "<!-- Generated from src/config/variables.ts by `deno task config:reference`: edit the table there. -->";
export const DOCS_TABLE_END = "<!-- End of the generated table. -->";

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
