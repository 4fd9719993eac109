/**
 * `deno task keys <list|rotate|retire>`: the asymmetric signing keys in `KEYS_PATH`.
 * A running server picks up a change on SIGHUP or restart.
 *
 * @module
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import type { Config, SigningAlgorithm } from "../config.ts";
import {
  generateStoredKey,
  hmacKeyRing,
  type KeyFile,
  readKeyFile,
  updateKeyFile,
} from "../crypto/keys.ts";
import { loadConfigOrExit } from "../load_config.ts";
import { CliError, describeFailure, EXIT, table } from "./output.ts";

const HELP = [
  "Usage: deno task keys <command> [options]",
  "",
  "Commands:",
  "  list [--json]                 Keys in KEYS_PATH (or the HS256 secrets) and which one signs",
  "  rotate [--alg <alg>]          Add a new signing key (default JWT_ALG); old keys keep verifying",
  "  retire <kid> [--force]        Remove a key once no live token can carry it",
  "",
  "After rotate or retire: send SIGHUP to the server (or restart it).",
  "Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 conflict, 5 invalid value",
].join("\n");

/** Runs the keys CLI; returns the exit code. */
export async function main(
  argv: readonly string[],
  now: () => Date = () => new Date(),
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        force: { type: "boolean", default: false },
        alg: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : err}\n\n${HELP}`);
    return EXIT.usage;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === "help") {
    console.log(HELP);
    return EXIT.ok;
  }
  if (command !== "list" && command !== "rotate" && command !== "retire") {
    console.error(`${command ? `Unknown command "${command}"` : "No command given"}\n\n${HELP}`);
    return EXIT.usage;
  }
  const config = await loadConfigOrExit();
  try {
    if (command === "list") await list(config, parsed.values.json ?? false);
    else if (command === "rotate") await rotate(config, parsed.values.alg ?? config.jwtAlg, now());
    else await retire(config, rest[0], parsed.values.force ?? false, now());
    return EXIT.ok;
  } catch (err) {
    const { code, message } = describeFailure(err);
    console.error(`Error: ${message}`);
    return code;
  }
}

async function list(config: Config, json: boolean): Promise<void> {
  const file = await readKeyFile(config.keysPath);
  const signing = file ? activeKid(file, config.jwtAlg) : undefined;
  const rows: { kid: string; alg: string; created_at: string; status: string }[] =
    (file?.keys ?? []).map((k) => ({
      kid: k.kid,
      alg: k.alg,
      created_at: k.created_at,
      status: k.kid === signing ? "signing" : "verify-only",
    }));
  if (config.jwtAlg === "HS256") {
    const ring = await hmacKeyRing(config.secretKey, config.previousSecretKeys);
    for (const key of ring.verification.values()) {
      rows.unshift({
        kid: key.kid,
        alg: "HS256",
        created_at: "-",
        status: key.kid === ring.signing.kid
          ? "signing (SECRET_KEY)"
          : "verify-only (PREVIOUS_SECRET_KEYS)",
      });
    }
  }
  if (json) return console.log(JSON.stringify(rows));
  console.log(
    table(
      ["KID", "ALG", "CREATED", "STATUS"],
      rows.map((r) => [r.kid, r.alg, r.created_at, r.status]),
    ),
  );
}

async function rotate(config: Config, alg: string, now: Date): Promise<void> {
  if (alg === "HS256") {
    throw new CliError(
      "HS256 keys are secrets in .env: move SECRET_KEY into PREVIOUS_SECRET_KEYS, set a new SECRET_KEY, restart",
      EXIT.invalid,
    );
  }
  if (alg !== "EdDSA" && alg !== "ES256" && alg !== "RS256") {
    throw new CliError("--alg must be EdDSA, ES256 or RS256", EXIT.usage);
  }
  await Deno.mkdir(dirname(config.keysPath), { recursive: true, mode: 0o700 });
  const key = await generateStoredKey(alg, now);
  await updateKeyFile(
    config.keysPath,
    (current) => Promise.resolve({ version: 1, keys: [...(current?.keys ?? []), key] }),
  );
  console.log(`New ${alg} signing key ${key.kid}; send SIGHUP to the server or restart it`);
  if (alg !== config.jwtAlg) {
    console.log(`Note: JWT_ALG is ${config.jwtAlg}; this key signs only under JWT_ALG=${alg}`);
  }
}

async function retire(
  config: Config,
  kid: string | undefined,
  force: boolean,
  now: Date,
): Promise<void> {
  if (!kid) throw new CliError("Usage: retire <kid> [--force]", EXIT.usage);
  await updateKeyFile(
    config.keysPath,
    (file) => Promise.resolve(withoutKey(config, file, kid, force, now)),
  );
  console.log(`Retired ${kid}; send SIGHUP to the server or restart it`);
}

/** The key file without `kid`; throws when it is missing, active, or may still sign live tokens. */
function withoutKey(
  config: Config,
  file: KeyFile | undefined,
  kid: string,
  force: boolean,
  now: Date,
): KeyFile {
  const index = file?.keys.findIndex((k) => k.kid === kid) ?? -1;
  if (!file || index === -1) {
    throw new CliError(`No key ${kid} in ${config.keysPath}`, EXIT.notFound);
  }
  if (kid === activeKid(file, config.jwtAlg)) {
    throw new CliError(`${kid} is the active signing key: rotate first`, EXIT.conflict);
  }
  // Tokens signed with it may live until TOKEN_TTL after a newer key of its algorithm took over.
  const target = file.keys[index]!;
  const successor = file.keys.slice(index + 1).find((k) => k.alg === target.alg);
  const safeFrom = successor ? Date.parse(successor.created_at) + config.tokenTtl * 1000 : 0;
  if (!force && successor && now.getTime() < safeFrom) {
    throw new CliError(
      `Tokens signed with ${kid} may still be live until ${
        new Date(safeFrom).toISOString()
      }; use --force to retire now`,
      EXIT.conflict,
    );
  }
  return { version: 1, keys: file.keys.filter((k) => k.kid !== kid) };
}

function activeKid(file: KeyFile, alg: SigningAlgorithm): string | undefined {
  return [...file.keys].reverse().find((k) => k.alg === alg)?.kid;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
