/**
 * Opening what the server and the CLI run on: configuration, the KV store, the key ring and the
 * hasher. Kept apart from `createApp` so tests can build the app on `:memory:` instead.
 *
 * @module
 */
import { dirname } from "node:path";
import type { Config } from "./config.ts";
import { type KeyRing, loadKeyRing } from "./crypto/keys.ts";
import type { PasswordHasher } from "./crypto/passwords.ts";
import { openPasswordHasherOrExit } from "./crypto/open_password_hasher.ts";
import { createLogger, type Logger } from "./logger.ts";
import { kvStores, type Stores } from "./store/kv_stores.ts";

/** An opened runtime (what `createServices` is built from); `close()` releases the KV handle. */
export interface Runtime {
  readonly config: Config;
  readonly stores: Stores;
  readonly hasher: PasswordHasher;
  /** The hasher's backend in words, for the start-up line. */
  readonly passwordBackend: string;
  readonly logger: Logger;
  /** The live key ring; {@link Runtime.reloadKeys} replaces it. */
  keys(): KeyRing;
  reloadKeys(): Promise<void>;
  close(): void;
}

/**
 * Opens the KV store (creating its directory), the key ring and the hasher. Logs go to stdout
 * unless another writer is given (the CLI keeps stdout for its own output).
 */
export async function openRuntime(
  config: Config,
  writeLog: (line: string) => void = console.log,
): Promise<Runtime> {
  if (config.kvPath !== ":memory:" && !/^https?:\/\//.test(config.kvPath)) {
    await Deno.mkdir(dirname(config.kvPath), { recursive: true, mode: 0o700 });
  }
  if (config.jwtAlg !== "HS256") {
    await Deno.mkdir(dirname(config.keysPath), { recursive: true, mode: 0o700 });
  }
  const passwords = await openPasswordHasherOrExit(config.passwordHasher);
  const kv = await Deno.openKv(config.kvPath);
  let ring: KeyRing;
  try {
    ring = await loadKeyRing(config);
  } catch (err) {
    kv.close();
    throw err;
  }
  return {
    config,
    stores: kvStores(kv),
    hasher: passwords.hasher,
    passwordBackend: passwords.description,
    logger: createLogger(config.logLevel, writeLog),
    keys: () => ring,
    async reloadKeys() {
      ring = await loadKeyRing(config);
    },
    close: () => kv.close(),
  };
}
