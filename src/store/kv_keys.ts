/**
 * {@link KeyStore} over Deno KV (keys: `kv_layout.ts`).
 *
 * @module
 */
import type { KeyStore, StoredKeySet, VersionedKeySet } from "../keys/key_store.ts";
import { isStoredKeySet } from "../keys/key_store.ts";
import { KEYS, kvCall } from "./kv_layout.ts";

/**
 * The signing key set in Deno KV. Every call goes through `kvCall`, so a failing KV (a closed
 * handle, "database is locked") throws `StoreUnavailableError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvKeyStore } from "./kv_keys.ts";
 * using kv = await Deno.openKv(":memory:");
 * const store = new KvKeyStore(kv);
 * assert(await store.read() === undefined);
 * assert(await store.write({ version: 1, keys: [] }, undefined));
 * assert(!(await store.write({ version: 1, keys: [] }, undefined)), "a second creator loses");
 * assert((await store.version()) === (await store.read())?.versionstamp);
 * ```
 */
export class KvKeyStore implements KeyStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  async read(): Promise<VersionedKeySet | undefined> {
    const entry = await kvCall("readKeySet", () => this.#kv.get<StoredKeySet>(KEYS.signingKeySet));
    if (entry.versionstamp === null) return undefined;
    if (!isStoredKeySet(entry.value)) {
      throw new Error("The signing key set in the store is not one this server wrote");
    }
    return { set: entry.value, versionstamp: entry.versionstamp };
  }

  version(): Promise<string | undefined> {
    // A KV read returns the value too; the set is a few kilobytes, read twice a second.
    return kvCall(
      "keySetVersion",
      async () => (await this.#kv.get(KEYS.signingKeySet)).versionstamp ?? undefined,
    );
  }

  write(
    set: StoredKeySet,
    expected: string | undefined,
    removed: readonly string[] = [],
  ): Promise<boolean> {
    // The versionstamp check makes concurrent rotations and first starts safe: one commit
    // wins, the others re-read and try again (or find the work done).
    return kvCall("writeKeySet", async () => {
      const op = this.#kv.atomic()
        .check({ key: KEYS.signingKeySet, versionstamp: expected ?? null })
        .set(KEYS.signingKeySet, set);
      for (const kid of removed) op.delete(KEYS.keyInUse(kid));
      return (await op.commit()).ok;
    });
  }

  markInUse(kid: string, at: number): Promise<void> {
    return kvCall("markKeyInUse", async () => void await this.#kv.set(KEYS.keyInUse(kid), at));
  }

  inUse(): Promise<Map<string, number>> {
    return kvCall("keysInUse", async () => {
      const marks = new Map<string, number>();
      for await (const entry of this.#kv.list<number>({ prefix: KEYS.keysInUse })) {
        const kid = entry.key[KEYS.keysInUse.length];
        if (typeof kid === "string" && typeof entry.value === "number") marks.set(kid, entry.value);
      }
      return marks;
    });
  }
}
