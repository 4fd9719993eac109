/**
 * Opening the shared key set for an algorithm: derive the key-encryption keys from `SECRET_KEY`
 * and `PREVIOUS_SECRET_KEYS`, create the set or add a first key of the algorithm if needed, and
 * prove the secret by decrypting the key that signs now. The server does this at start
 * (`LiveKeyRing.open`), key administration before it adds a key (`KeyAdmin.rotate`).
 *
 * @module
 */
import { ConfigError } from "../config/config_error.ts";
import type { AsymmetricAlgorithm } from "../tokens/algorithms.ts";
import { deriveKeyEncryptionKey } from "./key_encryption.ts";
import { importPrivate, type PrivateKey } from "./key_material.ts";
import { ID_TOKEN_ALG, openSealed, signerAt } from "./key_set.ts";
import type { KeyStore, StoredSigningKey, VersionedKeySet } from "./key_store.ts";
import { ensureKeySet } from "./key_set_writes.ts";

/** What {@link openKeySet} needs. */
export interface OpenKeySetOptions {
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

/** The set as opened, the secrets that decrypt it, and its signing key of `alg`. */
export interface OpenedKeySet {
  /** `SECRET_KEY`'s key-encryption key first, then `PREVIOUS_SECRET_KEYS`' in order. */
  readonly keks: readonly CryptoKey[];
  readonly current: VersionedKeySet;
  /** The key of `alg` that signs now, decrypted. */
  readonly signing: PrivateKey;
  /**
   * The key that signs ID tokens now, decrypted: under RS256 `signing` itself, else the RS256
   * key of use `id_token`.
   */
  readonly idTokenSigning: PrivateKey;
}

/**
 * Opens the set for `alg`. Nothing is written before a configured secret has decrypted a stored
 * key (an empty store needs no proof). Throws {@link ConfigError} (`SECRET_KEY`) when no
 * configured secret decrypts the key of `alg` that signs now, or, when one must be added, any
 * stored key.
 */
export async function openKeySet(options: OpenKeySetOptions): Promise<OpenedKeySet> {
  const note = options.note ?? ((line: string) => console.error(line));
  const now = options.now ?? Date.now;
  const keks = await Promise.all(
    [options.secretKey, ...options.previousSecretKeys].map(deriveKeyEncryptionKey),
  );
  const current = await ensureKeySet(options, keks, now, note);
  const signer = signerAt(current.set, options.alg, now())!;
  const signing = await decrypt(signer, keks, note);
  const idSigner = options.alg === ID_TOKEN_ALG
    ? signer
    : signerAt(current.set, ID_TOKEN_ALG, now(), "id_token")!;
  const idTokenSigning = idSigner === signer ? signing : await decrypt(idSigner, keks, note);
  return { keks, current, signing, idTokenSigning };
}

async function decrypt(
  stored: StoredSigningKey,
  keks: readonly CryptoKey[],
  note: (line: string) => void,
): Promise<PrivateKey> {
  const opened = await openSealed(stored, keks);
  if (!opened) throw cannotDecrypt(stored.kid);
  if (opened.index > 0) {
    note(
      `Signing key ${stored.kid} is still encrypted under a PREVIOUS_SECRET_KEYS entry: once ` +
        "every instance has the new SECRET_KEY (or lists it in PREVIOUS_SECRET_KEYS), run " +
        "`deno task keys reencrypt`",
    );
  }
  return { stored, key: await importPrivate(stored, opened.jwk) };
}

function cannotDecrypt(kid: string): ConfigError {
  return new ConfigError(
    "SECRET_KEY",
    `does not decrypt signing key ${kid} in the store: use the SECRET_KEY the keys ` +
      "were stored under, or list it in PREVIOUS_SECRET_KEYS",
  );
}
