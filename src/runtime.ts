/**
 * Opening what the server and the CLI run on: configuration, the KV store, the key ring and the
 * hasher. Kept apart from `createApp` so tests can build the app on `:memory:` instead.
 *
 * @module
 */
import { dirname } from "node:path";
import type { Config } from "./config.ts";
import { type KeyRing, loadKeyRing } from "./crypto/keys.ts";
import { createPasswordHasher, type PasswordHasher } from "./crypto/passwords.ts";
import { createBufferedWriter, createLogger, type LineWriter, type Logger } from "./logger.ts";
import { kvStores, type Stores } from "./store/kv_stores.ts";

/** An opened runtime (what `createServices` is built from); `close()` releases the KV handle. */
export interface Runtime {
  readonly config: Config;
  readonly stores: Stores;
  readonly hasher: PasswordHasher;
  readonly logger: Logger;
  /** The live key ring; {@link Runtime.reloadKeys} replaces it. */
  keys(): KeyRing;
  reloadKeys(): Promise<void>;
  close(): void;
}

/**
 * Opens the KV store (creating its directory), the key ring and the hasher. Logs go to stdout
 * unless another writer is given (the CLI keeps stdout for its own output): in batches, or one
 * `console.log` per line under `OTEL_DENO=true`, where Deno exports console output as
 * OpenTelemetry log records tied to the request's trace.
 */
export async function openRuntime(
  config: Config,
  writeLog: ((line: string) => void) | LineWriter = defaultLogWriter(),
): Promise<Runtime> {
  if (config.kvPath !== ":memory:" && !/^https?:\/\//.test(config.kvPath)) {
    await Deno.mkdir(dirname(config.kvPath), { recursive: true, mode: 0o700 });
  }
  if (config.jwtAlg !== "HS256") {
    await Deno.mkdir(dirname(config.keysPath), { recursive: true, mode: 0o700 });
  }
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
    hasher: createPasswordHasher(),
    logger: createLogger(config.logLevel, writeLog),
    keys: () => ring,
    async reloadKeys() {
      ring = await loadKeyRing(config);
    },
    close: () => kv.close(),
  };
}

function defaultLogWriter(): ((line: string) => void) | LineWriter {
  return Deno.env.get("OTEL_DENO") === "true" ? console.log : createBufferedWriter();
}
