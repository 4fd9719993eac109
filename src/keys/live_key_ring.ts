/**
 * The key ring every instance builds from the shared key set and keeps following: it re-reads
 * the set when its version changes (a poll of one KV key; `Deno.Kv.watch` does not see writes
 * another process makes to a local SQLite file), and switches to a published-ahead key by
 * itself when the clock reaches its activation time.
 *
 * @module
 */
import { importJWK, type JWK } from "jose";
import { type AsymmetricAlgorithm, ConfigError, type SigningAlgorithm } from "../config.ts";
import { type KeyRing, readKeyFile, type VerificationKey } from "../crypto/keys.ts";
import { decryptJwk, deriveKeyEncryptionKey, encryptJwk } from "./key_encryption.ts";
import {
  associatedData,
  importKeyFile,
  IN_USE_PERIOD_MS,
  iso,
  newStoredKey,
  signerAt,
  stateOf,
  supersededAt,
} from "./key_set.ts";
import type { KeyStore, StoredKeySet, StoredSigningKey, VersionedKeySet } from "./key_store.ts";

/** How often a following instance checks the set's version. */
export const POLL_INTERVAL_MS = 500;

/** What {@link LiveKeyRing.open} needs. */
export interface LiveKeyRingOptions {
  readonly store: KeyStore;
  readonly alg: AsymmetricAlgorithm;
  readonly secretKey: string;
  readonly previousSecretKeys: readonly string[];
  /** A key file to import once, when the store holds no key set yet. */
  readonly keysPath: string;
  readonly now?: () => number;
  /** One line for the operator (start-up notes); stderr by default. */
  readonly note?: (line: string) => void;
}

interface DecryptedKey {
  readonly stored: StoredSigningKey;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/** The signing keys of an instance, following the shared key set. */
export class LiveKeyRing {
  readonly #store: KeyStore;
  readonly #alg: AsymmetricAlgorithm;
  readonly #keks: readonly CryptoKey[];
  readonly #now: () => number;
  #set: StoredKeySet;
  #versionstamp: string;
  #keys: ReadonlyMap<string, DecryptedKey>;
  #ring: KeyRing | undefined;
  #ringUntil = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastMarkAt: number | undefined;

  private constructor(
    options: LiveKeyRingOptions,
    keks: readonly CryptoKey[],
    loaded: { current: VersionedKeySet; keys: ReadonlyMap<string, DecryptedKey> },
  ) {
    this.#store = options.store;
    this.#alg = options.alg;
    this.#keks = keks;
    this.#now = options.now ?? Date.now;
    this.#set = loaded.current.set;
    this.#versionstamp = loaded.current.versionstamp;
    this.#keys = loaded.keys;
  }

  /**
   * Loads the shared key set, creating it on first start (importing `keysPath` if there is such
   * a file) and adding a key of `alg` when it has none. Throws {@link ConfigError} (`SECRET_KEY`)
   * when no configured secret decrypts the stored keys.
   */
  static async open(options: LiveKeyRingOptions): Promise<LiveKeyRing> {
    const note = options.note ?? ((line: string) => console.error(line));
    const now = options.now ?? Date.now;
    const keks = await Promise.all(
      [options.secretKey, ...options.previousSecretKeys].map(deriveKeyEncryptionKey),
    );
    const current = await ensureKeySet(options, keks[0]!, now, note);
    const { keys, underPrevious } = await decryptAll(current.set, keks);
    let loaded = current;
    if (underPrevious.size > 0) {
      const reencrypted = await reencrypt(current.set, underPrevious, keks[0]!);
      if (await options.store.write(reencrypted, current.versionstamp)) {
        note(
          `Re-encrypted ${underPrevious.size} signing key(s) under the current SECRET_KEY; ` +
            "instances still on the old SECRET_KEY need a restart with the new one",
        );
        loaded = (await options.store.read())!;
      }
    }
    return new LiveKeyRing(options, keks, { current: loaded, keys });
  }

  /** The ring for now: switches to a published-ahead key once its time has come. */
  current(): KeyRing {
    const now = this.#now();
    if (!this.#ring || now >= this.#ringUntil) {
      this.#ring = buildRing(this.#set, this.#keys, this.#alg, now);
      this.#ringUntil = nextChangeAfter(this.#set, now);
    }
    return this.#ring;
  }

  /** Re-reads the key set if its version changed; true when it did. */
  async reload(): Promise<boolean> {
    const current = await this.#store.read();
    if (!current || current.versionstamp === this.#versionstamp) return false;
    const { keys } = await decryptAll(current.set, this.#keks, this.#keys);
    if (!signerAt(current.set, this.#alg, this.#now())) {
      throw new Error(`The key set in the store has no ${this.#alg} key that signs now`);
    }
    this.#set = current.set;
    this.#versionstamp = current.versionstamp;
    this.#keys = keys;
    this.#ring = undefined;
    return true;
  }

  /**
   * Polls the set's version every {@link POLL_INTERVAL_MS} and reloads on a change; refreshes
   * this instance's in-use mark for its signing key. Errors go to `onError`; following goes on.
   * Resolves after the first round (the first mark written), so a server can start following
   * before it listens and its start-up write does not meet its first requests.
   */
  async follow(events: {
    onReload: (ring: KeyRing) => void;
    onError: (err: unknown) => void;
  }): Promise<void> {
    const tick = async () => {
      try {
        const version = await this.#store.version();
        if (version !== undefined && version !== this.#versionstamp && await this.reload()) {
          events.onReload(this.current());
        }
        await this.#markInUse();
      } catch (err) {
        events.onError(err);
      }
    };
    const loop = async () => {
      await tick();
      if (this.#timer !== undefined) this.#timer = setTimeout(loop, POLL_INTERVAL_MS);
    };
    await tick();
    this.#timer = setTimeout(loop, POLL_INTERVAL_MS);
  }

  /**
   * Adds a new key of `alg` to the shared set, signing from `activatesAt` (publish-ahead).
   * Safe against concurrent writers: it re-reads and retries when another commit came first.
   */
  async addKey(alg: AsymmetricAlgorithm, activatesAt: number): Promise<StoredSigningKey> {
    const key = await newStoredKey(alg, this.#keks[0]!, this.#now(), activatesAt);
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.#store.read();
      const set: StoredKeySet = { version: 1, keys: [...(current?.set.keys ?? []), key] };
      if (await this.#store.write(set, current?.versionstamp)) return key;
    }
    throw new Error("Could not add the key: too many concurrent writers");
  }

  /** Stops following. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #markInUse(): Promise<void> {
    const now = this.#now();
    // Not on every switch of key: a mark on schedule bounds the last signing time just as well
    // (see `lastSignedAt`), with fewer writes meeting other processes' writes.
    if (this.#lastMarkAt !== undefined && now - this.#lastMarkAt < IN_USE_PERIOD_MS / 2) return;
    await this.#store.markInUse(this.current().signing.kid, now);
    this.#lastMarkAt = now;
  }
}

/** The stored set, created or given a key of `alg` if needed (safe when instances race). */
async function ensureKeySet(
  options: LiveKeyRingOptions,
  kek: CryptoKey,
  now: () => number,
  note: (line: string) => void,
): Promise<VersionedKeySet> {
  const { store, alg, keysPath } = options;
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await store.read();
    if (current && signerAt(current.set, alg, now())) {
      if (attempt === 0 && await fileExists(keysPath)) {
        note(`KEYS_PATH (${keysPath}) is not read: the signing keys live in the store`);
      }
      return current;
    }
    let keys = current?.set.keys ?? [];
    let imported = 0;
    if (!current) {
      const file = await readKeyFile(keysPath);
      if (file) {
        keys = await importKeyFile(file, kek);
        imported = keys.length;
      }
    }
    const set: StoredKeySet = {
      version: 1,
      keys: signerAt({ version: 1, keys }, alg, now())
        ? keys
        : [...keys, await newStoredKey(alg, kek, now(), now())],
    };
    if (await store.write(set, current?.versionstamp)) {
      if (imported > 0) {
        note(
          `Imported ${imported} signing key(s) from ${keysPath} into the store (encrypted under ` +
            "SECRET_KEY); the file is no longer read and can be removed once backed up",
        );
      }
      return (await store.read())!;
    }
  }
  throw new Error("Could not create the signing key set: too many concurrent writers");
}

async function decryptAll(
  set: StoredKeySet,
  keks: readonly CryptoKey[],
  known: ReadonlyMap<string, DecryptedKey> = new Map(),
): Promise<{ keys: Map<string, DecryptedKey>; underPrevious: Map<string, JWK> }> {
  const keys = new Map<string, DecryptedKey>();
  // Keys only a previous secret decrypts, in plain, to be encrypted again under the current one.
  const underPrevious = new Map<string, JWK>();
  for (const stored of set.keys) {
    const same = known.get(stored.kid);
    if (same && same.stored.private_jwk.ciphertext === stored.private_jwk.ciphertext) {
      keys.set(stored.kid, { ...same, stored });
      continue;
    }
    const found = await decryptWithAny(stored, keks);
    if (!found) {
      throw new ConfigError(
        "SECRET_KEY",
        `does not decrypt signing key ${stored.kid} in the store: use the SECRET_KEY the keys ` +
          "were stored under, or list it in PREVIOUS_SECRET_KEYS",
      );
    }
    if (found.index > 0) underPrevious.set(stored.kid, found.jwk);
    const privateKey = await importJWK({ ...found.jwk, ext: false }, stored.alg);
    const publicKey = await importJWK({ ...stored.public_jwk, ext: true }, stored.alg);
    keys.set(stored.kid, {
      stored,
      privateKey: privateKey as CryptoKey,
      publicKey: publicKey as CryptoKey,
    });
  }
  return { keys, underPrevious };
}

async function decryptWithAny(stored: StoredSigningKey, keks: readonly CryptoKey[]) {
  for (const [index, kek] of keks.entries()) {
    try {
      return { index, jwk: await decryptJwk(kek, stored.private_jwk, associatedData(stored)) };
    } catch {
      // Not this secret (AES-GCM authenticates): try the next one.
    }
  }
  return undefined;
}

/** The set with the private keys in `plain` encrypted again under `kek`. */
async function reencrypt(
  set: StoredKeySet,
  plain: ReadonlyMap<string, JWK>,
  kek: CryptoKey,
): Promise<StoredKeySet> {
  return {
    version: 1,
    keys: await Promise.all(set.keys.map(async (stored) => {
      const jwk = plain.get(stored.kid);
      if (!jwk) return stored;
      return { ...stored, private_jwk: await encryptJwk(kek, jwk, associatedData(stored)) };
    })),
  };
}

function buildRing(
  set: StoredKeySet,
  keys: ReadonlyMap<string, DecryptedKey>,
  alg: AsymmetricAlgorithm,
  now: number,
): KeyRing {
  const signer = signerAt(set, alg, now)!;
  const verification = new Map<string, VerificationKey>();
  for (const { stored, publicKey } of keys.values()) {
    verification.set(stored.kid, { kid: stored.kid, alg: stored.alg, key: publicKey });
  }
  return {
    signing: {
      kid: signer.kid,
      alg: signer.alg as SigningAlgorithm,
      key: keys.get(signer.kid)!.privateKey,
    },
    verification,
    jwks: {
      keys: set.keys.map((stored) => {
        const stopped = supersededAt(set, stored, now);
        return {
          ...(stored.public_jwk as Record<string, string>),
          kid: stored.kid,
          alg: stored.alg,
          use: "sig",
          state: stateOf(set, stored, alg, now),
          activates_at: iso(stored.activates_at),
          ...(stopped === undefined ? {} : { stopped_at: iso(stopped) }),
        };
      }),
    },
  };
}

/** The next activation time after `now` (the ring changes then), or +Infinity. */
function nextChangeAfter(set: StoredKeySet, now: number): number {
  let next = Infinity;
  for (const key of set.keys) {
    if (key.activates_at > now && key.activates_at < next) next = key.activates_at;
  }
  return next;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
