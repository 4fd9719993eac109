/**
 * The configuration as `deno task user|client|keys` load it. A command acts on the store the
 * server in the same directory uses, so it never creates one silently: run from a directory that
 * is not the server's (no `.env`, no `deno.json`), it refuses with one line saying where it
 * looked; when it does create `.env` or a store (a fresh clone, a new `KV_PATH`), its first line
 * names their absolute paths.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/parse_config.ts";
import { loadConfigOrExit } from "../config/load_or_exit.ts";
import { isFileStore } from "../store/open_kv.ts";
import { EXIT } from "./output.ts";

/** The project directory these CLIs belong to (it holds `deno.json`). */
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Does `path` exist: `undefined` when this process may not look. */
function exists(path: string): boolean | undefined {
  try {
    Deno.statSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    return undefined;
  }
}

/**
 * Why a CLI must not run in `cwd`, or `undefined` when it may: `cwd` holds a `.env`, or it is
 * the server's own directory (or another one holding a `deno.json`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { workingDirectoryProblem } from "./cli_config.ts";
 * const none = () => false;
 * assert.match(workingDirectoryProblem("/tmp/x", "/srv/auth/", none)!, /^no \.env or deno\.json in \/tmp\/x/);
 * assert.equal(workingDirectoryProblem("/srv/auth", "/srv/auth/", none), undefined);
 * assert.equal(workingDirectoryProblem("/tmp/x", "/srv/auth/", (p) => p === "/tmp/x/.env"), undefined);
 * ```
 */
export function workingDirectoryProblem(
  cwd: string,
  projectRoot: string,
  pathExists: (path: string) => boolean | undefined = exists,
): string | undefined {
  if (resolve(cwd) === resolve(projectRoot)) return undefined;
  if (pathExists(join(cwd, ".env")) !== false) return undefined;
  if (pathExists(join(cwd, "deno.json")) === true) return undefined;
  return `no .env or deno.json in ${cwd}: run this command in the auth server's directory ` +
    `(${
      resolve(projectRoot)
    }), where its .env and store are, so that it acts on the server's users`;
}

/**
 * The first line of a command that created `.env` and/or a file store (absolute paths), else
 * `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { creationLine } from "./cli_config.ts";
 * assert.equal(creationLine("/srv/a", false, undefined), undefined);
 * assert.equal(
 *   creationLine("/srv/a", true, "/srv/a/data/auth.kv"),
 *   "Created /srv/a/.env (mode 0600, a new random SECRET_KEY) and a new, empty store " +
 *     "/srv/a/data/auth.kv; a server started in /srv/a uses them",
 * );
 * ```
 */
export function creationLine(
  cwd: string,
  createdEnvFile: boolean,
  newStore: string | undefined,
): string | undefined {
  const env = `${join(cwd, ".env")} (mode 0600, a new random SECRET_KEY)`;
  const store = `a new, empty store ${newStore}`;
  const what = createdEnvFile && newStore
    ? `${env} and ${store}`
    : createdEnvFile
    ? env
    : newStore
    ? store
    : undefined;
  return what &&
    `Created ${what}; a server started in ${cwd} uses ${
      createdEnvFile && newStore ? "them" : "it"
    }`;
}

/**
 * Loads the configuration for a CLI command (one line and exit 1 on a bad value, as the server),
 * after checking the working directory, and prints {@link creationLine} first when the command
 * is about to create `.env` or a store.
 */
export async function loadCliConfigOrExit(): Promise<Config> {
  const cwd = Deno.cwd();
  const problem = workingDirectoryProblem(cwd, PROJECT_ROOT);
  if (problem) {
    console.error(`Error: ${problem}`);
    Deno.exit(EXIT.failure);
  }
  let createdEnvFile = false;
  const config = await loadConfigOrExit(() => createdEnvFile = true);
  // With DATABASE_URL the store is PostgreSQL: no file is created here.
  const storePath = config.databaseUrl === undefined && isFileStore(config.kvPath)
    ? resolve(cwd, config.kvPath)
    : undefined;
  const newStore = storePath && exists(storePath) === false ? storePath : undefined;
  const line = creationLine(cwd, createdEnvFile, newStore);
  if (line) console.error(line);
  return config;
}
