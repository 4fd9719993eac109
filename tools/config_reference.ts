/**
 * `deno task config:reference`: writes `.env.example` and the table of variables in
 * docs/configuration.md from the table in src/config/variables.ts (then formats the docs page
 * with `deno fmt`). tests/unit/config_reference_test.ts fails until this has been run after a
 * change to the table.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  DOCS_TABLE_END,
  DOCS_TABLE_START,
  docsTable,
  envExample,
} from "../src/config/reference.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DOCS = `${ROOT}docs/configuration.md`;

/** `page` with the text between the markers replaced by `table`. */
export function withTable(page: string, table: string): string {
  const start = page.indexOf(DOCS_TABLE_START);
  const end = page.indexOf(DOCS_TABLE_END);
  if (start < 0 || end < start) {
    throw new Error(
      `docs/configuration.md lacks the markers ${DOCS_TABLE_START} ... ${DOCS_TABLE_END}`,
    );
  }
  return `${page.slice(0, start + DOCS_TABLE_START.length)}\n\n${table}\n\n${page.slice(end)}`;
}

if (import.meta.main) {
  await Deno.writeTextFile(`${ROOT}.env.example`, envExample());
  await Deno.writeTextFile(DOCS, withTable(await Deno.readTextFile(DOCS), docsTable()));
  const fmt = await new Deno.Command("deno", { args: ["fmt", "--quiet", DOCS] }).output();
  if (!fmt.success) throw new Error(new TextDecoder().decode(fmt.stderr));
  console.log("Wrote .env.example and the table in docs/configuration.md");
}
