/**
 * {@link PasskeyStore} over Deno KV (keys: `kv_layout.ts`): `["passkeys", credentialId]`,
 * `["user_passkeys", userUid, credentialId]` (the index), `["passkey_challenges", id]`.
 *
 * @module
 */
import type { PasskeyChallenge, PasskeyRecord, PasskeyStore } from "../passkeys/passkey_store.ts";
import type { Versioned } from "../versioned.ts";
import { asStoreError, KEYS, kvCall, until, versioned } from "./kv_layout.ts";

/** Passkeys and their challenges in Deno KV. */
export class KvPasskeyStore implements PasskeyStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  getPasskey(id: string): Promise<Versioned<PasskeyRecord> | undefined> {
    return kvCall(
      "getPasskey",
      async () => versioned(await this.#kv.get<PasskeyRecord>(KEYS.passkey(id))),
    );
  }

  listPasskeys(userUid: string): Promise<PasskeyRecord[]> {
    return kvCall("listPasskeys", async () => {
      const ids: string[] = [];
      for await (const entry of this.#kv.list({ prefix: KEYS.userPasskeys(userUid) })) {
        ids.push(String(entry.key.at(-1)));
      }
      const found: PasskeyRecord[] = [];
      for (const id of ids) {
        const entry = await this.#kv.get<PasskeyRecord>(KEYS.passkey(id));
        if (entry.value && entry.value.userUid === userUid) found.push(entry.value);
      }
      return found;
    });
  }

  async *allPasskeys(): AsyncGenerator<PasskeyRecord> {
    try {
      for await (const entry of this.#kv.list<PasskeyRecord>({ prefix: KEYS.passkeys })) {
        yield entry.value;
      }
    } catch (err) {
      throw asStoreError("allPasskeys", err);
    }
  }

  createPasskey(record: PasskeyRecord): Promise<boolean> {
    const key = KEYS.passkey(record.id);
    return kvCall("createPasskey", async () => {
      const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, record)
        .set(KEYS.userPasskey(record.userUid, record.id), true);
      return (await op.commit()).ok;
    });
  }

  updatePasskey(record: PasskeyRecord, versionstamp: string): Promise<boolean> {
    const key = KEYS.passkey(record.id);
    return kvCall("updatePasskey", async () => {
      return (await this.#kv.atomic().check({ key, versionstamp }).set(key, record).commit()).ok;
    });
  }

  deletePasskey(userUid: string, id: string): Promise<boolean> {
    const key = KEYS.passkey(id);
    return kvCall("deletePasskey", async () => {
      const entry = await this.#kv.get<PasskeyRecord>(key);
      if (!entry.value || entry.value.userUid !== userUid) return false;
      const op = this.#kv.atomic().check({ key, versionstamp: entry.versionstamp }).delete(key)
        .delete(KEYS.userPasskey(userUid, id));
      return (await op.commit()).ok;
    });
  }

  putChallenge(id: string, challenge: PasskeyChallenge, now: number): Promise<void> {
    return kvCall("putPasskeyChallenge", async () => {
      await this.#kv.set(KEYS.passkeyChallenge(id), challenge, until(challenge.expiresAt, now));
    });
  }

  takeChallenge(id: string): Promise<PasskeyChallenge | undefined> {
    const key = KEYS.passkeyChallenge(id);
    return kvCall("takePasskeyChallenge", async () => {
      const entry = await this.#kv.get<PasskeyChallenge>(key);
      if (entry.versionstamp === null) return undefined;
      // Guarded: of two presenters of one challenge, one takes it.
      const taken = await this.#kv.atomic().check({ key, versionstamp: entry.versionstamp })
        .delete(key).commit();
      return taken.ok ? entry.value : undefined;
    });
  }
}
