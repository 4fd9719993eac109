/**
 * Opening what the server and the CLI run on: configuration, the store (Deno KV or PostgreSQL,
 * through `openStores`), the key ring and the hasher. Kept apart from `createApp` so tests can build the app on `:memory:` instead.
 *
 * @module
 */
import { ConfigError } from "./config/config_error.ts";
import type { Config } from "./config/parse_config.ts";
import { hmacKeyRing, type KeyRing } from "./crypto/keys.ts";
import type { PasswordHasher } from "./crypto/passwords.ts";
import { openPasswordHasherLater } from "./crypto/open_password_hasher.ts";
import { LiveKeyRing } from "./keys/live_key_ring.ts";
import { createBufferedWriter, createLogger, type LineWriter, type Logger } from "./logger.ts";
import { openStores } from "./store/open_stores.ts";
import type { OpenedStores, Stores } from "./store/stores.ts";

/** An opened runtime (what `createServices` is built from); `close()` releases the store. */
export interface Runtime {
  readonly config: Config;
  readonly stores: Stores;
  /** The store's engine and where, in words (never a password): for the start-up lines. */
  readonly engine: string;
  /** What the store's engine asks an operator to change (logged at start-up). */
  readonly storeWarnings: readonly string[];
  readonly hasher: PasswordHasher;
  /**
   * Opens the hasher now if no hash has yet (loading the addon and making the dummy hash happen
   * off the start path); resolves with its backend in words, for the start-up line.
   */
  passwordBackend(): Promise<string>;
  readonly logger: Logger;
  /** The live key ring; {@link Runtime.reloadKeys} replaces it. */
  keys(): KeyRing;
  reloadKeys(): Promise<void>;
  /** Follows the shared key set (asymmetric algorithms; a no-op under HS256) until `close()`. */
  followKeys(
    events: { onReload: (ring: KeyRing) => void; onError: (err: unknown) => void },
  ): Promise<void>;
  /** Stops following the keys and releases the store (awaitable: a pool ends its connections). */
  close(): Promise<void>;
}

/**
 * Opens the store (`DATABASE_URL`'s PostgreSQL, else Deno KV at `KV_PATH`, creating its
 * directory) and the key ring; the hasher opens on first use or
 * after the server's first answer (`passwordBackend()`). Logs go to stdout
 * unless another writer is given (the CLI keeps stdout for its own output): in batches, or one
 * `console.log` per line under `OTEL_DENO=true`, where Deno exports console output as
 * OpenTelemetry log records tied to the request's trace. A `SECRET_KEY` that does not decrypt the
 * stored signing keys stops the process with one line and exit code 1.
 */
export async function openRuntime(
  config: Config,
  writeLog: ((line: string) => void) | LineWriter = defaultLogWriter(),
): Promise<Runtime> {
  const passwords = await openPasswordHasherLater(config.passwordHasher);
  let opened: OpenedStores;
  try {
    opened = await openStores(config);
  } catch (err) {
    if (err instanceof ConfigError) exitOnConfigError(err);
    throw err;
  }
  const { stores } = opened;
  let live: LiveKeyRing | undefined;
  let hmac: KeyRing | undefined;
  try {
    if (config.jwtAlg === "HS256") {
      hmac = await hmacKeyRing(config.secretKey, config.previousSecretKeys);
    } else {
      live = await LiveKeyRing.open({
        store: stores.keys,
        alg: config.jwtAlg,
        secretKey: config.secretKey,
        previousSecretKeys: config.previousSecretKeys,
        keysPath: config.keysPath,
      });
    }
  } catch (err) {
    await opened.close();
    if (err instanceof ConfigError) exitOnConfigError(err);
    throw err;
  }
  return {
    config,
    stores,
    engine: opened.engine,
    storeWarnings: opened.warnings ?? [],
    hasher: passwords.hasher,
    passwordBackend: passwords.open,
    logger: createLogger(config.logLevel, writeLog),
    keys: () => live?.current() ?? hmac!,
    async reloadKeys() {
      await live?.reload();
    },
    followKeys: async (events) => await live?.follow(events),
    close: () => {
      live?.stop();
      return opened.close();
    },
  };
}

/** One line naming the setting and what to do, exit code 1. */
function exitOnConfigError(err: ConfigError): never {
  console.error(`Configuration error: ${err.message}`);
  Deno.exit(1);
}

function defaultLogWriter(): ((line: string) => void) | LineWriter {
  return Deno.env.get("OTEL_DENO") === "true" ? console.log : createBufferedWriter();
}
