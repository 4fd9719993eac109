/**
 * Loading: `.env` (parsed by Deno's built-in dotenv parser) plus the real environment (the
 * environment wins), validated once; a fresh clone gets a first-run `.env` written.
 *
 * @module
 */
import { parseEnv } from "node:util";
import { firstRunEnvFile, unrecordedSettings } from "./env_file.ts";
import { type Config, parseConfig, type RawVars } from "./parse_config.ts";
import { nonEmpty } from "./values.ts";
import { CONFIG_VARIABLES, SHARED_WITH_CLI } from "./variables.ts";

/** Where {@link loadConfig} reads from; injected so tests need no real environment. */
export interface LoadOptions {
  /** The real environment; wins over `.env`. */
  readonly env: RawVars;
  /** Path of the `.env` file, normally `.env` in the working directory. */
  readonly envFile: string;
  /** Told as soon as a first-run `.env` was written, before validation can fail. */
  readonly onCreatedEnvFile?: () => void;
}

/** A setting the environment gives one value and `.env` another. */
export interface Override {
  readonly name: string;
  readonly env: string;
  readonly file: string;
}

/** A loaded configuration, whether this call wrote the first-run `.env`, and its overrides. */
export interface Loaded {
  readonly config: Config;
  readonly createdEnvFile: boolean;
  /** The {@link SHARED_WITH_CLI} settings where the environment overrode a `.env` value. */
  readonly overrides: readonly Override[];
  /** Settings of the environment the `.env` this call wrote could not record (else none). */
  readonly unrecorded: readonly string[];
  /** Names `.env` sets that are not in {@link CONFIG_VARIABLES} (typos, wrong case): ignored. */
  readonly unknownNames: readonly string[];
}

/**
 * Reads `.env`, lets the real environment win, and validates. With no `.env` and no
 * `SECRET_KEY` in the environment, first writes a `.env` (mode 0600) with a fresh random secret
 * and the effective settings: the environment's values where given (marked as such), else the
 * defaults, so a later run without those variables (and every CLI command) uses the same settings.
 */
export async function loadConfig(options: LoadOptions): Promise<Loaded> {
  let fileText = await readIfExists(options.envFile);
  let createdEnvFile = false;
  if (fileText === undefined && nonEmpty(options.env.SECRET_KEY) === undefined) {
    const fresh = firstRunEnvFile(options.env);
    // Validated first: a bad value stops here with its one line, and no .env is left behind
    // holding it (the next start would otherwise read the bad value back from the file).
    parseConfig(mergeEnvironment({ ...parseEnv(fresh) }, options.env).vars);
    createdEnvFile = await writeNewFile(options.envFile, fresh);
    if (createdEnvFile) options.onCreatedEnvFile?.();
    // Another instance may have created it first: use what it writes.
    fileText = createdEnvFile ? fresh : await readJustCreated(options.envFile);
  }
  const fileVars: Record<string, string | undefined> = fileText === undefined
    ? {}
    : { ...parseEnv(fileText) };
  const { vars, overrides } = mergeEnvironment(fileVars, options.env);
  const unrecorded = createdEnvFile ? unrecordedSettings(options.env) : [];
  const known = new Set<string>(CONFIG_VARIABLES);
  const unknownNames = Object.keys(fileVars).filter((name) => !known.has(name));
  return { config: parseConfig(vars), createdEnvFile, overrides, unrecorded, unknownNames };
}

/** `.env`'s variables with the environment's on top, and the shared settings it overrides. */
function mergeEnvironment(
  fileVars: Record<string, string | undefined>,
  env: RawVars,
): { vars: Record<string, string | undefined>; overrides: Override[] } {
  const vars = { ...fileVars };
  const overrides: Override[] = [];
  for (const [name, value] of Object.entries(env)) {
    // A blank variable is unset, as in parseConfig: it does not erase the file's value.
    if (nonEmpty(value) === undefined) continue;
    vars[name] = value;
    const file = nonEmpty(fileVars[name]);
    if (SHARED_WITH_CLI.includes(name) && file !== undefined && file !== nonEmpty(value)) {
      overrides.push({ name, env: nonEmpty(value)!, file });
    }
  }
  return { vars, overrides };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Writes a file only if none exists (mode 0600); false when another process won the race. */
async function writeNewFile(path: string, text: string): Promise<boolean> {
  try {
    await Deno.writeTextFile(path, text, { createNew: true, mode: 0o600 });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
}

/**
 * Reads a `.env` another process has just created. Its creator writes it right after creating
 * it, so an empty or unfinished file is waited for (up to 1 s). A temporary file and a rename
 * would avoid the wait but need write access beside `.env`, which the server does not have.
 */
async function readJustCreated(path: string): Promise<string | undefined> {
  const deadline = Date.now() + 1000;
  for (;;) {
    const text = await readIfExists(path);
    const finished = text !== undefined && text.endsWith("\n") && text.includes("SECRET_KEY=");
    if (finished || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
