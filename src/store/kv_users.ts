/**
 * {@link UserStore} over Deno KV (keys: `kv_layout.ts`).
 *
 * @module
 */
import type { Guard, UserPage, UserRecord, UserStore } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";
import { asStoreError, KEYS, kvCall, versioned } from "./kv_layout.ts";
import { cursorAfter, idAfterCursor } from "./user_cursor.ts";

/** Users in Deno KV. */
export class KvUserStore implements UserStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  getUser(id: string): Promise<Versioned<UserRecord> | undefined> {
    return kvCall("getUser", async () => versioned(await this.#kv.get<UserRecord>(KEYS.user(id))));
  }

  createUser(user: UserRecord): Promise<boolean> {
    const key = KEYS.user(user.id);
    return kvCall("createUser", async () => {
      const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, user);
      return (await op.commit()).ok;
    });
  }

  updateUser(
    user: UserRecord,
    versionstamp: string,
    guards: Guard[] = [],
  ): Promise<string | undefined> {
    const key = KEYS.user(user.id);
    return kvCall("updateUser", async () => {
      const op = this.#kv.atomic().check({ key, versionstamp });
      for (const guard of guards) {
        op.check({ key: KEYS.user(guard.id), versionstamp: guard.versionstamp });
      }
      const result = await op.set(key, user).commit();
      return result.ok ? result.versionstamp : undefined;
    });
  }

  deleteUser(id: string, versionstamp: string, guards: Guard[] = []): Promise<boolean> {
    const key = KEYS.user(id);
    return kvCall("deleteUser", async () => {
      const op = this.#kv.atomic().check({ key, versionstamp });
      for (const guard of guards) {
        op.check({ key: KEYS.user(guard.id), versionstamp: guard.versionstamp });
      }
      return (await op.delete(key).commit()).ok;
    });
  }

  async *allUsers(): AsyncGenerator<Versioned<UserRecord>> {
    try {
      for await (const entry of this.#kv.list<UserRecord>({ prefix: KEYS.users })) {
        yield { value: entry.value, versionstamp: entry.versionstamp };
      }
    } catch (err) {
      throw asStoreError("allUsers", err);
    }
  }

  async listUsers(options: { limit: number; cursor?: string | undefined }): Promise<UserPage> {
    // Checked before any read: a cursor no store issued is the caller's mistake (400), not 503.
    const after = options.cursor ? idAfterCursor(options.cursor) : undefined;
    return await kvCall("listUsers", async () => {
      // The smallest id after `after` in KV's byte order: `after` + U+0000.
      const selector = after === undefined
        ? { prefix: KEYS.users }
        : { prefix: KEYS.users, start: KEYS.user(`${after}\u0000`) };
      const users: UserRecord[] = [];
      for await (const entry of this.#kv.list<UserRecord>(selector, { limit: options.limit })) {
        users.push(entry.value);
      }
      const last = users.at(-1);
      return {
        users,
        cursor: users.length === options.limit && last ? cursorAfter(last.id) : undefined,
      };
    });
  }

  hasUsers(): Promise<boolean> {
    return kvCall("hasUsers", async () => {
      for await (const _ of this.#kv.list({ prefix: KEYS.users }, { limit: 1 })) return true;
      return false;
    });
  }
}
