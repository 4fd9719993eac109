/**
 * The key ring every instance builds from the shared key set and keeps following: it re-reads
 * the set when its version changes (a poll of one KV key; `Deno.Kv.watch` does not see writes
 * another process makes to a local SQLite file), and switches to a published-ahead key by
 * itself when the clock reaches its activation time.
 *
 * @module
 */
import { importJWK, type JWK } from "jose";
import { ConfigError } from "../config/config_error.ts";
import type { AsymmetricAlgorithm, SigningAlgorithm } from "../tokens/algorithms.ts";
import { type KeyRing, readKeyFile, type VerificationKey } from "../crypto/keys.ts";
import { deriveKeyEncryptionKey } from "./key_encryption.ts";
import {
  importKeyFile,
  IN_USE_PERIOD_MS,
  iso,
  newStoredKey,
  openSealed,
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

/** A private key this instance may sign with, decrypted. */
interface PrivateKey {
  readonly stored: StoredSigningKey;
  readonly key: CryptoKey;
}

/**
 * The signing keys of an instance, following the shared key set. Verification keys and the JWKS
 * come from the stored public JWKs alone; only the keys of this instance's algorithm that sign
 * now or next are decrypted. A key no configured secret decrypts only verifies here; when it is
 * the one this instance must sign with, the instance keeps signing with the key it has and the
 * ring says it is out of date (`KeyRing.outOfDate`: `/readyz` answers 503).
 */
export class LiveKeyRing {
  readonly #store: KeyStore;
  readonly #alg: AsymmetricAlgorithm;
  readonly #keks: readonly CryptoKey[];
  readonly #now: () => number;
  #set: StoredKeySet;
  #versionstamp: string;
  #public = new Map<string, PublicKey>();
  #private = new Map<string, PrivateKey>();
  /** The key it last signed with (kept when it cannot decrypt its successor). */
  #signing: PrivateKey;
  #followError: string | undefined;
  #ring: KeyRing | undefined;
  #ringUntil = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unwatch: (() => Promise<void>) | undefined;
  #lastMarkAt: number | undefined;

  private constructor(
    options: LiveKeyRingOptions,
    keks: readonly CryptoKey[],
    current: VersionedKeySet,
    signing: PrivateKey,
  ) {
    this.#store = options.store;
    this.#alg = options.alg;
    this.#keks = keks;
    this.#now = options.now ?? Date.now;
    this.#set = current.set;
    this.#versionstamp = current.versionstamp;
    this.#signing = signing;
  }

  /**
   * Loads the shared key set, creating it on first start (importing `keysPath` if there is such
   * a file) and adding a key of `alg` when it has none. Nothing is written before a configured
   * secret has decrypted a stored key (an empty store needs no proof). Throws
   * {@link ConfigError} (`SECRET_KEY`) when no configured secret decrypts the key this instance
   * must sign with, or, when it must add one, any stored key.
   */
  static async open(options: LiveKeyRingOptions): Promise<LiveKeyRing> {
    const note = options.note ?? ((line: string) => console.error(line));
    const now = options.now ?? Date.now;
    const keks = await Promise.all(
      [options.secretKey, ...options.previousSecretKeys].map(deriveKeyEncryptionKey),
    );
    const current = await ensureKeySet(options, keks, now, note);
    const signer = signerAt(current.set, options.alg, now())!;
    const opened = await openSealed(signer, keks);
    if (!opened) throw cannotDecrypt(signer.kid);
    if (opened.index > 0) {
      note(
        `Signing key ${signer.kid} is still encrypted under a PREVIOUS_SECRET_KEYS entry: once ` +
          "every instance has the new SECRET_KEY (or lists it in PREVIOUS_SECRET_KEYS), run " +
          "`deno task keys reencrypt`",
      );
    }
    const signing = { stored: signer, key: await importPrivate(signer, opened.jwk) };
    const ring = new LiveKeyRing(options, keks, current, signing);
    await ring.#adopt(current);
    const unreadable = ring.#needed(current.set).filter((key) => !ring.#private.has(key.kid));
    for (const key of unreadable) {
      note(
        `No configured secret decrypts the next signing key ${key.kid}: this instance cannot switch to it`,
      );
    }
    return ring;
  }

  /** The ring for now: switches to a published-ahead key once its time has come. */
  current(): KeyRing {
    const now = this.#now();
    if (!this.#ring || now >= this.#ringUntil) {
      const signer = signerAt(this.#set, this.#alg, now);
      const decrypted = signer && this.#private.get(signer.kid);
      if (decrypted) this.#signing = decrypted;
      // A next key it cannot decrypt is a problem already: drained before the switch, not after.
      const next = this.#needed(this.#set).find((key) => !this.#private.has(key.kid));
      const problem = !signer
        ? `the key set has no ${this.#alg} key that signs now`
        : next
        ? `cannot decrypt signing key ${next.kid}: no configured secret decrypts it; ` +
          `signing with ${this.#signing.stored.kid} meanwhile`
        : this.#followError;
      this.#ring = buildRing(this.#set, this.#public, this.#signing, this.#alg, now, problem);
      this.#ringUntil = nextChangeAfter(this.#set, now);
    }
    return this.#ring;
  }

  /** Re-reads the key set if its version changed; true when it did. */
  async reload(): Promise<boolean> {
    const current = await this.#store.read();
    if (!current || current.versionstamp === this.#versionstamp) return false;
    await this.#adopt(current);
    return true;
  }

  /**
   * Polls the set's version every {@link POLL_INTERVAL_MS} and reloads on a change; refreshes
   * this instance's in-use mark for its signing key. Errors go to `onError` (an out-of-date ring
   * once per problem); following goes on. Resolves after the first round (the first mark
   * written), so a server can start following before it listens and its start-up write does not
   * meet its first requests.
   */
  async follow(events: {
    onReload: (ring: KeyRing) => void;
    onError: (err: unknown) => void;
  }): Promise<void> {
    let reported: string | undefined;
    const tick = async () => {
      try {
        const version = await this.#store.version();
        if (version !== undefined && version !== this.#versionstamp && await this.reload()) {
          events.onReload(this.current());
        }
        await this.#markInUse();
        this.#setFollowError(undefined);
      } catch (err) {
        this.#setFollowError(String(err).slice(0, 300));
        events.onError(err);
      }
      const problem = this.current().outOfDate;
      if (problem !== undefined && problem !== reported && problem !== this.#followError) {
        events.onError(new Error(`Keys out of date: ${problem}`));
      }
      reported = problem;
    };
    let running = false;
    let again = false;
    const loop = async () => {
      running = true;
      await tick();
      running = false;
      const delay = again ? 0 : POLL_INTERVAL_MS;
      again = false;
      if (this.#timer !== undefined) this.#timer = setTimeout(loop, delay);
    };
    await tick();
    this.#timer = setTimeout(loop, POLL_INTERVAL_MS);
    // Where the store pushes changes (PostgreSQL's NOTIFY), a write by any instance wakes the
    // loop at once; the poll goes on as the fallback.
    const wake = () => {
      if (this.#timer === undefined) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(this.#timer);
      this.#timer = setTimeout(loop, 0);
    };
    try {
      this.#unwatch = await this.#store.watch?.(wake);
    } catch (err) {
      events.onError(err);
    }
  }

  /** Stops following. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#unwatch?.().catch(() => {});
    this.#unwatch = undefined;
  }

  /**
   * Adds a new key of `alg` to the shared set, signing from `activatesAt` (publish-ahead).
   * Safe against concurrent writers: it re-reads and retries when another commit came first.
   * Only on a ring that opened, so the secret has been proven against the set.
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

  /** Takes `current` as the set: public keys from the set, private keys it may sign with. */
  async #adopt(current: VersionedKeySet): Promise<void> {
    const publicKeys = new Map<string, PublicKey>();
    for (const stored of current.set.keys) {
      const known = this.#public.get(stored.kid);
      publicKeys.set(
        stored.kid,
        known && samePublicKey(known.stored, stored) ? known : await importPublic(stored),
      );
    }
    const privateKeys = new Map<string, PrivateKey>();
    for (const stored of this.#needed(current.set)) {
      const known = this.#private.get(stored.kid) ??
        (this.#signing.stored.kid === stored.kid ? this.#signing : undefined);
      // Same kid and public half: the key pair is the same, however it is encrypted now.
      if (known && samePublicKey(known.stored, stored)) {
        privateKeys.set(stored.kid, { ...known, stored });
        continue;
      }
      const opened = await openSealed(stored, this.#keks);
      if (opened) {
        privateKeys.set(stored.kid, { stored, key: await importPrivate(stored, opened.jwk) });
      }
    }
    this.#set = current.set;
    this.#versionstamp = current.versionstamp;
    this.#public = publicKeys;
    this.#private = privateKeys;
    this.#ring = undefined;
  }

  /** The keys of this instance's algorithm that sign now or later. */
  #needed(set: StoredKeySet): StoredSigningKey[] {
    const now = this.#now();
    const signer = signerAt(set, this.#alg, now);
    return set.keys.filter((key) =>
      key.alg === this.#alg && (key === signer || key.activates_at > now)
    );
  }

  #setFollowError(message: string | undefined): void {
    if (message === this.#followError) return;
    this.#followError = message;
    this.#ring = undefined;
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

/** A key that verifies, imported from its stored public JWK. */
interface PublicKey {
  readonly stored: StoredSigningKey;
  readonly key: CryptoKey;
}

/**
 * The stored set, created or given a key of `alg` if needed (safe when instances race). A set
 * that holds keys is written only once one of them decrypts under a configured secret.
 */
async function ensureKeySet(
  options: LiveKeyRingOptions,
  keks: readonly CryptoKey[],
  now: () => number,
  note: (line: string) => void,
): Promise<VersionedKeySet> {
  const { store, alg, keysPath } = options;
  const kek = keks[0]!;
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await store.read();
    if (current && signerAt(current.set, alg, now())) {
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

function cannotDecrypt(kid: string): ConfigError {
  return new ConfigError(
    "SECRET_KEY",
    `does not decrypt signing key ${kid} in the store: use the SECRET_KEY the keys ` +
      "were stored under, or list it in PREVIOUS_SECRET_KEYS",
  );
}

async function importPrivate(stored: StoredSigningKey, jwk: JWK): Promise<CryptoKey> {
  return await importJWK({ ...jwk, ext: false }, stored.alg) as CryptoKey;
}

async function importPublic(stored: StoredSigningKey): Promise<PublicKey> {
  const key = await importJWK({ ...stored.public_jwk, ext: true }, stored.alg) as CryptoKey;
  return { stored, key };
}

function samePublicKey(a: StoredSigningKey, b: StoredSigningKey): boolean {
  return a.kid === b.kid && a.alg === b.alg &&
    JSON.stringify(a.public_jwk) === JSON.stringify(b.public_jwk);
}

function buildRing(
  set: StoredKeySet,
  publicKeys: ReadonlyMap<string, PublicKey>,
  signing: PrivateKey,
  alg: AsymmetricAlgorithm,
  now: number,
  outOfDate: string | undefined,
): KeyRing {
  const verification = new Map<string, VerificationKey>();
  for (const { stored, key } of publicKeys.values()) {
    verification.set(stored.kid, { kid: stored.kid, alg: stored.alg, key });
  }
  return {
    signing: {
      kid: signing.stored.kid,
      alg: signing.stored.alg as SigningAlgorithm,
      key: signing.key,
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
    ...(outOfDate === undefined ? {} : { outOfDate }),
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
