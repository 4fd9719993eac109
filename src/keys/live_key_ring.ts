/**
 * The key ring every instance builds from the shared key set and keeps following: it re-reads
 * the set when its version changes (a poll of one KV key; `Deno.Kv.watch` does not see writes
 * another process makes to a local SQLite file), and switches to a published-ahead key by
 * itself when the clock reaches its activation time.
 *
 * The parts live beside it: opening the set (`open_key_set.ts`), its writes
 * (`key_set_writes.ts`), the schedule (`follow_loop.ts`), the in-use marks (`in_use_marks.ts`),
 * and the ring and JWKS it serves (`key_ring_view.ts`). Administration (list, rotate, retire,
 * reencrypt) is `key_admin.ts`.
 *
 * @module
 */
import type { AsymmetricAlgorithm } from "../tokens/algorithms.ts";
import type { KeyRing } from "../crypto/keys.ts";
import { FollowLoop } from "./follow_loop.ts";
import { InUseMarks } from "./in_use_marks.ts";
import {
  importPrivate,
  importPublic,
  type PrivateKey,
  type PublicKey,
  samePublicKey,
} from "./key_material.ts";
import { buildRing, nextChangeAfter } from "./key_ring_view.ts";
import { type KeySlot, openSealed, signerAt, slotsFor, useOf } from "./key_set.ts";
import type { KeyStore, StoredKeySet, StoredSigningKey, VersionedKeySet } from "./key_store.ts";
import { appendKeys } from "./key_set_writes.ts";
import { openKeySet, type OpenKeySetOptions } from "./open_key_set.ts";

/** How often a following instance checks the set's version. */
export const POLL_INTERVAL_MS = 500;

/** What {@link LiveKeyRing.open} needs. */
export type LiveKeyRingOptions = OpenKeySetOptions;

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
  readonly #marks: InUseMarks;
  #set: StoredKeySet;
  #versionstamp: string;
  #public = new Map<string, PublicKey>();
  #private = new Map<string, PrivateKey>();
  /** The key it last signed access tokens with (kept when it cannot decrypt its successor). */
  #signing: PrivateKey;
  /** The key it last signed ID tokens with (the same under RS256). */
  #idTokenSigning: PrivateKey;
  #followError: string | undefined;
  #ring: KeyRing | undefined;
  #ringUntil = 0;
  #loop: FollowLoop | undefined;

  private constructor(
    options: LiveKeyRingOptions,
    keks: readonly CryptoKey[],
    current: VersionedKeySet,
    signing: PrivateKey,
    idTokenSigning: PrivateKey,
  ) {
    this.#store = options.store;
    this.#alg = options.alg;
    this.#keks = keks;
    this.#now = options.now ?? Date.now;
    this.#marks = new InUseMarks(options.store, this.#now);
    this.#set = current.set;
    this.#versionstamp = current.versionstamp;
    this.#signing = signing;
    this.#idTokenSigning = idTokenSigning;
  }

  /**
   * Loads the shared key set, creating it on first start (importing `keysPath` if there is such
   * a file) and adding a key of `alg` when it has none (`openKeySet`). Throws `ConfigError`
   * (`SECRET_KEY`) when no configured secret decrypts the key this instance must sign with, or,
   * when it must add one, any stored key.
   */
  static async open(options: LiveKeyRingOptions): Promise<LiveKeyRing> {
    const note = options.note ?? ((line: string) => console.error(line));
    const { keks, current, signing, idTokenSigning } = await openKeySet({ ...options, note });
    const ring = new LiveKeyRing(options, keks, current, signing, idTokenSigning);
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
      const [access, idToken] = slotsFor(this.#alg).map((slot) => this.#signerOf(slot, now));
      const signer = access!.signer;
      if (access!.decrypted) this.#signing = access!.decrypted;
      if (!idToken) this.#idTokenSigning = this.#signing;
      else if (idToken.decrypted) this.#idTokenSigning = idToken.decrypted;
      // A next key it cannot decrypt is a problem already: drained before the switch, not after.
      const next = this.#needed(this.#set).find((key) => !this.#private.has(key.kid));
      const problem = !signer
        ? `the key set has no ${this.#alg} key that signs now`
        : idToken && !idToken.signer
        ? `the key set has no ${idToken.slot.alg} ID-token key that signs now`
        : next
        ? `cannot decrypt signing key ${next.kid}: no configured secret decrypts it; ` +
          `signing with ${this.#signing.stored.kid} meanwhile`
        : this.#followError;
      this.#ring = buildRing(
        this.#set,
        this.#public,
        { signing: this.#signing, idTokenSigning: this.#idTokenSigning },
        this.#alg,
        now,
        problem,
      );
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
   * Polls the set's version every {@link POLL_INTERVAL_MS} and reloads on a change (at once
   * where the store pushes changes); refreshes this instance's in-use mark for its signing key.
   * Errors go to `onError` (an out-of-date ring once per problem); following goes on. Resolves
   * after the first round (the first mark written), so a server can start following before it
   * listens and its start-up write does not meet its first requests.
   */
  async follow(events: {
    onReload: (ring: KeyRing) => void;
    onError: (err: unknown) => void;
  }): Promise<void> {
    let reported: string | undefined;
    const round = async () => {
      try {
        const version = await this.#store.version();
        if (version !== undefined && version !== this.#versionstamp && await this.reload()) {
          events.onReload(this.current());
        }
        const ring = this.current();
        await this.#marks.mark([ring.signing.kid, ring.idTokenSigning!.kid]);
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
    this.#loop?.stop();
    this.#loop = new FollowLoop(round, POLL_INTERVAL_MS);
    await this.#loop.start(this.#store.watch?.bind(this.#store), events.onError);
  }

  /** Stops following. */
  stop(): void {
    this.#loop?.stop();
    this.#loop = undefined;
  }

  /**
   * Adds a new key of `alg` to the shared set, signing from `activatesAt` (publish-ahead), under
   * `SECRET_KEY`. Only on a ring that opened, so the secret has been proven against the set.
   */
  async addKey(alg: AsymmetricAlgorithm, activatesAt: number): Promise<StoredSigningKey> {
    const [key] = await appendKeys(this.#store, {
      slots: [{ alg }],
      kek: this.#keks[0]!,
      now: this.#now(),
      activatesAt,
    });
    return key!;
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
        [this.#signing, this.#idTokenSigning].find((key) => key.stored.kid === stored.kid);
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

  /** The key of `slot` that signs at `now`, and its private half if this instance has it. */
  #signerOf(slot: KeySlot, now: number) {
    const signer = signerAt(this.#set, slot.alg, now, slot.use);
    return { slot, signer, decrypted: signer && this.#private.get(signer.kid) };
  }

  /** The keys of this instance's slots (access tokens; ID tokens) that sign now or later. */
  #needed(set: StoredKeySet): StoredSigningKey[] {
    const now = this.#now();
    const needed: StoredSigningKey[] = [];
    for (const slot of slotsFor(this.#alg)) {
      const signer = signerAt(set, slot.alg, now, slot.use);
      for (const key of set.keys) {
        if (key.alg !== slot.alg || useOf(key) !== slot.use) continue;
        if (key === signer || key.activates_at > now) needed.push(key);
      }
    }
    return needed;
  }

  #setFollowError(message: string | undefined): void {
    if (message === this.#followError) return;
    this.#followError = message;
    this.#ring = undefined;
  }
}
