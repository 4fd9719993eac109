/**
 * `deno task keys <list|rotate|retire|reencrypt>`: the asymmetric signing keys in the store.
 * Every running server follows the stored key set, so a change reaches it within a second, no
 * signal needed.
 *
 * @module
 */
import type { Config } from "../config/parse_config.ts";
import {
  ASYMMETRIC_ALGORITHMS,
  type AsymmetricAlgorithm,
  isAsymmetricAlgorithm,
} from "../tokens/algorithms.ts";
import { hmacKeyRing } from "../crypto/keys.ts";
import { iso, lastSignedAt, retireRefusal, signerAt, stateOf } from "../keys/key_set.ts";
import type { KeyStore } from "../keys/key_store.ts";
import { LiveKeyRing } from "../keys/live_key_ring.ts";
import { reencryptKeys } from "../keys/reencrypt_keys.ts";
import { printConfigNotes } from "../config/load_or_exit.ts";
import { openStores } from "../store/open_stores.ts";
import type { OpenedStores } from "../store/stores.ts";
import { loadCliConfigOrExit } from "./cli_config.ts";
import { CliError, describeFailure, EXIT, table } from "./output.ts";
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
    const alg = typeof values.alg === "string" ? values.alg : config.jwtAlg;
    if (command === "rotate") refuseAlg(alg);
    opened = await openStores(config);
    printConfigNotes();
    const store = opened.stores.keys;
    const at = () => now().getTime();
    if (command === "list") await list(config, store, values.json === true, at());
    else if (command === "rotate") await rotate(config, store, alg as AsymmetricAlgorithm, at);
    else if (command === "reencrypt") await reencrypt(config, store);
    else await retire(config, store, rest[0]!, values.force === true, at());
    return EXIT.ok;
  } catch (err) {
    const { code, message } = describeFailure(err);
    console.error(`Error: ${message}`);
    return code;
  } finally {
    await opened?.close();
  }
}

/** `rotate --alg`: an asymmetric algorithm, else exit code 5 (invalid value) either way. */
function refuseAlg(alg: string): asserts alg is AsymmetricAlgorithm {
  if (alg === "HS256") {
    throw new CliError(
      "HS256 keys are secrets in .env: move SECRET_KEY into PREVIOUS_SECRET_KEYS, set a new SECRET_KEY, restart",
      EXIT.invalid,
    );
  }
  if (!isAsymmetricAlgorithm(alg)) {
    throw new CliError(`--alg must be one of ${ASYMMETRIC_ALGORITHMS.join(", ")}`, EXIT.invalid);
  }
}

async function list(config: Config, store: KeyStore, json: boolean, now: number) {
  const current = await store.read();
  const inUse = await store.inUse();
  const alg = signingAlg(config);
  const ttlMs = config.tokenTtl * 1000;
  const rows = (current?.set.keys ?? []).map((key) => {
    const set = current!.set;
    const state = alg ? stateOf(set, key, alg, now) : key.activates_at > now ? "next" : "retiring";
    // The active key signs now: no "last signed" yet, and it is not retirable.
    const last = state === "active" ? undefined : lastSignedAt(set, key, now, inUse);
    return {
      kid: key.kid,
      alg: key.alg as string,
      state: state as string,
      created_at: iso(key.created_at),
      activates_at: iso(key.activates_at),
      last_signed_at: last === undefined ? null : iso(last),
      retirable_at: last === undefined ? null : iso(last + ttlMs),
    };
  });
  if (config.jwtAlg === "HS256") {
    const ring = await hmacKeyRing(config.secretKey, config.previousSecretKeys);
    for (const key of [...ring.verification.values()].reverse()) {
      const signing = key.kid === ring.signing.kid;
      rows.unshift({
        kid: key.kid,
        alg: "HS256",
        state: signing ? "active (SECRET_KEY)" : "retiring (PREVIOUS_SECRET_KEYS)",
        created_at: "-",
        activates_at: "-",
        last_signed_at: null,
        retirable_at: null,
      });
    }
  }
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

async function rotate(
  config: Config,
  store: KeyStore,
  target: AsymmetricAlgorithm,
  now: () => number,
) {
  const before = await store.read();
  // Opening the ring checks SECRET_KEY against the stored keys (a key encrypted under another
  // secret would break every instance) and imports KEYS_PATH if the store has no keys yet.
  const ring = await LiveKeyRing.open({
    store,
    alg: target,
    secretKey: config.secretKey,
    previousSecretKeys: config.previousSecretKeys,
    keysPath: config.keysPath,
    now,
  });
  const had = before && signerAt(before.set, target, now());
  if (!had) {
    console.log(
      `New ${target} key ${ring.current().signing.kid}, signing now (the first ${target} key)`,
    );
    return;
  }
  const pending = before.set.keys.find((k) => k.alg === target && k.activates_at > now());
  if (pending) {
    throw new CliError(
      `${pending.kid} is already published as the next ${target} key (signs from ${
        iso(pending.activates_at)
      }): run keys rotate again once it signs, or cancel it first with ` +
        `deno task keys retire ${pending.kid} --force`,
      EXIT.conflict,
    );
  }
  const key = await ring.addKey(target, now() + config.keyPublishAhead * 1000);
  console.log(
    `New ${target} key ${key.kid}: published now, signs from ${iso(key.activates_at)} ` +
      `(KEY_PUBLISH_AHEAD); running servers pick it up within a second`,
  );
  if (target !== config.jwtAlg) {
    console.log(`Note: JWT_ALG is ${config.jwtAlg}; this key signs only under JWT_ALG=${target}`);
  }
}

async function retire(
  config: Config,
  store: KeyStore,
  kid: string,
  force: boolean,
  now: number,
) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await store.read();
    const key = current?.set.keys.find((k) => k.kid === kid);
    if (!current || !key) throw new CliError(`No key ${kid} in the store`, EXIT.notFound);
    const alg = signingAlg(config);
    if (alg && stateOf(current.set, key, alg, now) === "active") {
      throw new CliError(
        `${kid} is the active ${alg} signing key: rotate first (KEY_PUBLISH_AHEAD=0 for an emergency)`,
        EXIT.conflict,
      );
    }
    const refusal = retireRefusal(current.set, kid, {
      now,
      tokenTtlMs: config.tokenTtl * 1000,
      inUse: await store.inUse(),
    });
    if (refusal && !force) {
      throw new CliError(`${refusal}; --force retires it now`, EXIT.conflict);
    }
    const keys = current.set.keys.filter((k) => k.kid !== kid);
    if (!(await store.write({ version: 1, keys }, current.versionstamp, [kid]))) continue;
    if (refusal) {
      console.error(
        `Forced: ${refusal}. Those tokens now fail verification (401) on every server and ` +
          "service that refreshes the JWKS; their users must log in or refresh again",
      );
    }
    console.log(`Retired ${kid}; running servers drop it within a second`);
    return;
  }
  throw new CliError("The key set kept changing; try again", EXIT.failure);
}

async function reencrypt(config: Config, store: KeyStore) {
  const result = await reencryptKeys(store, config.secretKey, config.previousSecretKeys);
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

/** The instance's `JWT_ALG` when its keys live in the store. */
function signingAlg(config: Config): AsymmetricAlgorithm | undefined {
  return isAsymmetricAlgorithm(config.jwtAlg) ? config.jwtAlg : undefined;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
