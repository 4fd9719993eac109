/**
 * `deno task store export|import`: every record as JSON lines on stdout, or read from stdin into
 * the configured store (`DATABASE_URL`, else `KV_PATH`), to move an install between engines with
 * no password reset, no second factor lost and no one signed out. Carry `.env` (its `SECRET_KEY`)
 * along: the signing keys and the TOTP secrets are encrypted under it, and refresh tokens derive
 * from it.
 *
 * @module
 */
import "../require_deno_version.ts"; // first: one clear line on a Deno older than 2.9
import { printConfigNotes } from "../config/load_or_exit.ts";
import { loadCliConfigOrExit } from "./cli_config.ts";
import { openStores } from "../store/open_stores.ts";
import type { OpenedStores } from "../store/stores.ts";
import { exportLines, importLines, TransferError } from "../store/transfer.ts";
import { type CliSpec, parseCommandLine } from "./command_line.ts";
import { CliError, describeFailure, EXIT } from "./output.ts";

const SPEC: CliSpec = {
  task: "store",
  commands: {
    export: {
      usage: "export",
      summary:
        "Write users, clients, keys, second factors, passkeys and live sessions to stdout as " +
        "JSON lines",
    },
    import: {
      usage: "import",
      summary: "Read an export from stdin into the configured store, which must be empty",
    },
  },
  options: {},
  notes: [
    "Move from Deno KV to PostgreSQL: deno task store export > auth.jsonl, then with",
    "DATABASE_URL set (and the same .env): deno task store import < auth.jsonl",
  ],
};

/** Runs the store CLI; returns the exit code. */
export async function main(argv: readonly string[], now: () => number = Date.now): Promise<number> {
  const line = parseCommandLine(argv, SPEC);
  if (typeof line === "number") return line;
  const config = await loadCliConfigOrExit();
  let opened: OpenedStores | undefined;
  try {
    opened = await openStores(config);
    printConfigNotes();
    if (line.command === "export") {
      const encoder = new TextEncoder();
      const writer = Deno.stdout.writable.getWriter();
      try {
        for await (const text of exportLines(opened.stores, now())) {
          await writer.write(encoder.encode(text + "\n"));
        }
      } finally {
        writer.releaseLock();
      }
    } else {
      const lines = linesOf(Deno.stdin.readable.pipeThrough(new TextDecoderStream()));
      const counts = await importLines(opened.stores, lines, now());
      console.error(
        `Imported into ${opened.engine}: ${counts.users} users, ${counts.clients} clients, ` +
          `${counts.keySets} key set(s), ${counts.keysInUse} in-use marks, ` +
          `${counts.factors} user(s) with second factors, ${counts.passkeys} passkey(s), ` +
          `${counts.sessions} live sessions`,
      );
    }
    return EXIT.ok;
  } catch (err) {
    const failure = err instanceof TransferError ? new CliError(err.message, EXIT.invalid) : err;
    const { code, message } = describeFailure(failure);
    console.error(`Error: ${message}`);
    return code;
  } finally {
    await opened?.close();
  }
}

/** The lines of a text stream (without their `\n`). */
async function* linesOf(text: ReadableStream<string>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of text) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
