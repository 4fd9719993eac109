/**
 * `deno task keys <list|rotate|retire|reencrypt>`: the asymmetric signing keys in the store.
 * Every running server follows the stored key set, so a change reaches it within a second, no
 * signal needed.
 *
 * @module
 */
import { createKeyAdmin, type KeyAdmin, KeyAdminError, refusalMessage } from "../keys/key_admin.ts";
import { printConfigNotes } from "../config/load_or_exit.ts";
import { openStores } from "../store/open_stores.ts";
import type { OpenedStores } from "../store/stores.ts";
import { loadCliConfigOrExit } from "./cli_config.ts";
import { describeFailure, EXIT, table } from "./output.ts";
import { type CliSpec, parseCommandLine, usageError } from "./command_line.ts";

const COMMANDS = {
  list: {
    usage: "list [--json]",
    summary: "Keys in the store (or the HS256 secrets), their state and times",
  },
  rotate: {
    usage: "rotate [--alg EdDSA|ES256|RS256]",
    summary: "Publish a new key (default JWT_ALG) that signs KEY_PUBLISH_AHEAD later; " +
      "old keys keep verifying",
  },
  retire: {
    usage: "retire <kid> [--force]",
    summary: "Remove a key once no unexpired token can carry it",
  },
  reencrypt: {
    usage: "reencrypt",
    summary: "After a SECRET_KEY change, once every instance has the new secret: " +
      "store the keys under SECRET_KEY alone",
  },
} as const;

const SPEC: CliSpec = {
  task: "keys",
  commands: COMMANDS,
  options: {
    json: { type: "boolean", default: false },
    force: { type: "boolean", default: false },
    alg: { type: "string" },
  },
  notes: ["Running servers pick changes up within a second (SIGHUP or a restart also works)."],
};

/** Runs the keys CLI; returns the exit code. */
export async function main(
  argv: readonly string[],
  now: () => Date = () => new Date(),
): Promise<number> {
  const line = parseCommandLine(argv, SPEC);
  if (typeof line === "number") return line;
  const { command, positionals: rest, values } = line;
  if (command === "retire" && rest.length !== 1) {
    console.error(
      `Error: ${usageError("keys", COMMANDS.retire.usage, "Expected exactly one <kid>").message}`,
    );
    return EXIT.usage;
  }
  const config = await loadCliConfigOrExit();
  let opened: OpenedStores | undefined;
  try {
    opened = await openStores(config);
    printConfigNotes();
    const keys = createKeyAdmin({
      store: opened.stores.keys,
      config,
      now: () => now().getTime(),
    });
    if (command === "list") await list(keys, values.json === true);
    else if (command === "rotate") {
      await rotate(keys, typeof values.alg === "string" ? values.alg : undefined);
    } else if (command === "reencrypt") await reencrypt(keys);
    else await retire(keys, rest[0]!, values.force === true);
    return EXIT.ok;
  } catch (err) {
    const { code, message } = describeFailure(err);
    console.error(`Error: ${err instanceof KeyAdminError ? cliWords(err) : message}`);
    return code;
  } finally {
    await opened?.close();
  }
}

/** A refusal of the key service, worded with this CLI's flags. */
function cliWords(err: KeyAdminError): string {
  return refusalMessage(err.refusal, {
    force: "--force",
    alg: "--alg",
    retire: (kid) => `deno task keys retire ${kid} --force`,
  });
}

async function list(keys: KeyAdmin, json: boolean) {
  const rows = await keys.list();
  if (json) return console.log(JSON.stringify(rows));
  console.log(table(
    ["KID", "ALG", "STATE", "ACTIVATES", "LAST SIGNED", "RETIRABLE FROM"],
    rows.map((r) => [
      r.kid,
      r.alg,
      r.state,
      r.activates_at,
      // The active key (JSON: null) signs now.
      r.last_signed_at ?? (r.state.startsWith("active") ? "now" : "-"),
      r.retirable_at ?? "-",
    ]),
  ));
}

async function rotate(keys: KeyAdmin, alg: string | undefined) {
  const key = await keys.rotate(alg);
  for (const [rotated, what] of [[key, ""], [key.id_token, "ID-token "]] as const) {
    if (rotated === null) continue;
    if (rotated.first) {
      console.log(
        `New ${rotated.alg} ${what}key ${rotated.kid}, signing now (the first ${rotated.alg} ${what}key)`,
      );
      continue;
    }
    console.log(
      `New ${rotated.alg} ${what}key ${rotated.kid}: published now, signs from ${rotated.activates_at} ` +
        `(KEY_PUBLISH_AHEAD); running servers pick it up within a second`,
    );
  }
  if (key.first) return;
  if (key.other_than !== null) {
    console.log(`Note: JWT_ALG is ${key.other_than}; this key signs only under JWT_ALG=${key.alg}`);
  }
}

async function retire(keys: KeyAdmin, kid: string, force: boolean) {
  const retired = await keys.retire(kid, { force });
  if (retired.forced !== null) {
    console.error(
      `Forced: ${retired.forced}. Those tokens now fail verification (401) on every server and ` +
        "service that refreshes the JWKS; their users must log in or refresh again",
    );
  }
  console.log(`Retired ${kid}; running servers drop it within a second`);
}

async function reencrypt(keys: KeyAdmin) {
  const result = await keys.reencrypt();
  for (const kid of result.unreadable) {
    console.error(
      `Warning: no configured secret decrypts ${kid}; left as it is (it only verifies)`,
    );
  }
  console.log(
    `Re-encrypted ${result.reencrypted.length} signing key(s) under SECRET_KEY ` +
      `(${result.current.length} already were)` +
      (result.reencrypted.length > 0 ? "; PREVIOUS_SECRET_KEYS is no longer needed for them" : ""),
  );
}

if (import.meta.main) Deno.exit(await main(Deno.args));
