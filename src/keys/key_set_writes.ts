/**
 * The writes that add keys to the shared set: creating it at first start (importing a
 * `KEYS_PATH` file once), and adding a key. Each is a versionstamp-guarded commit that re-reads
 * and tries again when another instance or CLI wrote first.
 *
 * @module
 */
import { ConfigError } from "../config/config_error.ts";
import type { AsymmetricAlgorithm } from "../tokens/algorithms.ts";
import { readKeyFile } from "../crypto/keys.ts";
import { ContendedError } from "../errors.ts";
import {
  importKeyFile,
  type KeySlot,
  type KeyUse,
  newStoredKey,
  openSealed,
  signerAt,
  slotsFor,
} from "./key_set.ts";
import type { KeyStore, StoredKeySet, StoredSigningKey, VersionedKeySet } from "./key_store.ts";

const MAX_ATTEMPTS = 10;

/** Where the set lives and what an instance of `alg` needs in it. */
export interface EnsureKeySetOptions {
  readonly store: KeyStore;
  readonly alg: AsymmetricAlgorithm;
  /** A key file to import once, when the store holds no key set yet. */
  readonly keysPath: string;
}

/**
 * The stored set, created or given a key of `alg` if needed, and, under ES256 or EdDSA, an RS256
 * key for ID tokens (a set written by 2.21.0 or earlier has none: the first instance of this
 * version to start adds it; the others, racing, re-read and find it). Safe when instances race: every write
 * is guarded by the version it read. A set that holds keys is written only once one of them
 * decrypts under a configured secret (`keks[0]` is `SECRET_KEY`'s, which encrypts what is
 * added); else {@link ConfigError}.
 */
export async function ensureKeySet(
  options: EnsureKeySetOptions,
  keks: readonly CryptoKey[],
  now: () => number,
  note: (line: string) => void,
): Promise<VersionedKeySet> {
  const { store, alg, keysPath } = options;
  const kek = keks[0]!;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await store.read();
    if (current && missingSlots(current.set, alg, now()).length === 0) {
      if (attempt === 0 && await fileExists(keysPath)) {
        note(`KEYS_PATH (${keysPath}) is not read: the signing keys live in the store`);
      }
      return current;
    }
    let keys = current?.set.keys ?? [];
    if (keys.length > 0 && !(await decryptsAny(keys, keks))) {
      throw new ConfigError(
        "SECRET_KEY",
        "does not decrypt any signing key in the store, so no key is added: use the SECRET_KEY " +
          "the keys were stored under, or list it in PREVIOUS_SECRET_KEYS",
      );
    }
    let imported = 0;
    if (!current) {
      const file = await readKeyFile(keysPath);
      if (file) {
        keys = await importKeyFile(file, kek);
        imported = keys.length;
      }
    }
    const added: StoredSigningKey[] = [];
    for (const slot of missingSlots({ version: 1, keys }, alg, now())) {
      added.push(await newStoredKey(slot.alg, kek, now(), now(), slot.use));
    }
    const set: StoredKeySet = { version: 1, keys: [...keys, ...added] };
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
  throw new ContendedError("Could not create the signing key set: too many concurrent writers");
}

/** The slots of an instance of `alg` that have no key signing at `now`. */
export function missingSlots(set: StoredKeySet, alg: AsymmetricAlgorithm, now: number): KeySlot[] {
  return slotsFor(alg).filter((slot) => !signerAt(set, slot.alg, now, slot.use));
}

/**
 * Adds new keys to the shared set in one write, each its private half under `kek` and signing
 * from `activatesAt` (publish-ahead): a rotation's access-token and ID-token keys arrive
 * together, so no instance ever reads one without the other. Call it only once a configured
 * secret has been proven against the set (`openKeySet`), so a mistyped secret never adds a key
 * the others cannot read.
 */
export async function appendKeys(
  store: KeyStore,
  options: {
    slots: readonly { alg: AsymmetricAlgorithm; use?: KeyUse }[];
    kek: CryptoKey;
    now: number;
    activatesAt: number;
  },
): Promise<StoredSigningKey[]> {
  if (options.slots.length === 0) return [];
  const added = await Promise.all(
    options.slots.map(({ alg, use }) =>
      newStoredKey(alg, options.kek, options.now, options.activatesAt, use)
    ),
  );
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await store.read();
    const set: StoredKeySet = { version: 1, keys: [...(current?.set.keys ?? []), ...added] };
    if (await store.write(set, current?.versionstamp)) return added;
  }
  throw new ContendedError("Could not add the key: too many concurrent writers");
}

/** Does a configured secret decrypt one of `keys` (the newest first)? */
async function decryptsAny(
  keys: readonly StoredSigningKey[],
  keks: readonly CryptoKey[],
): Promise<boolean> {
  for (const key of [...keys].sort((a, b) => b.created_at - a.created_at)) {
    if (await openSealed(key, keks)) return true;
  }
  return false;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
