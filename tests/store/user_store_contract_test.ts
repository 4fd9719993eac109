/**
 * The user store contract (the pattern of Ory Kratos' `TestPersister`): every engine, unchanged.
 */
import assert from "node:assert/strict";
import { InvalidCursorError } from "../../src/errors.ts";
import type { UserRecord } from "../../src/users/user_store.ts";
import { contract } from "./engines.ts";

function user(id: string, roles: string[] = ["user"]): UserRecord {
  return {
    id,
    uid: crypto.randomUUID(),
    passwordHash: "x",
    roles,
    disabled: false,
    createdAt: 1,
    updatedAt: 1,
    sessionEpoch: 0,
  };
}

contract(
  "users",
  "create is insert-if-absent; get returns the record and its stamp",
  async ({ stores }) => {
    assert.equal(await stores.users.hasUsers(), false);
    assert.equal(await stores.users.createUser(user("ada")), true);
    assert.equal(await stores.users.createUser(user("ada")), false, "the id is taken");
    const found = await stores.users.getUser("ada");
    assert.equal(found?.value.id, "ada");
    assert.equal(typeof found?.versionstamp, "string");
    assert.equal(await stores.users.getUser("bob"), undefined);
    assert.equal(await stores.users.hasUsers(), true);
  },
);

contract(
  "users",
  "a stamp never repeats, not even after a delete and a re-create",
  async ({ stores }) => {
    const seen = new Set<string>();
    for (let round = 0; round < 3; round++) {
      await stores.users.createUser(user("ada"));
      let found = (await stores.users.getUser("ada"))!;
      assert(!seen.has(found.versionstamp), `stamp ${found.versionstamp} came back`);
      seen.add(found.versionstamp);
      const next = await stores.users.updateUser(
        { ...found.value, updatedAt: 2 },
        found.versionstamp,
      );
      assert(next !== undefined && !seen.has(next));
      seen.add(next);
      found = (await stores.users.getUser("ada"))!;
      assert.equal(found.versionstamp, next);
      assert.equal(await stores.users.deleteUser("ada", found.versionstamp), true);
    }
  },
);

contract("users", "update and delete check the stamp and every guard", async ({ stores }) => {
  await stores.users.createUser(user("ada", ["admin"]));
  await stores.users.createUser(user("bob", ["admin"]));
  const ada = { ...(await stores.users.getUser("ada"))! };
  const bob = (await stores.users.getUser("bob"))!;
  const adaNow = await stores.users.updateUser(ada.value, ada.versionstamp);
  assert(adaNow);
  assert.equal(await stores.users.updateUser(ada.value, ada.versionstamp), undefined, "stale");
  ada.versionstamp = adaNow;
  const guard = [{ id: "bob", versionstamp: bob.versionstamp }];
  const bumped = await stores.users.updateUser(bob.value, bob.versionstamp);
  assert(bumped);
  assert.equal(await stores.users.updateUser(ada.value, ada.versionstamp, guard), undefined);
  assert.equal(await stores.users.deleteUser("ada", ada.versionstamp, guard), false);
  assert.equal((await stores.users.getUser("ada"))?.versionstamp, ada.versionstamp, "unchanged");
  const fresh = [{ id: "bob", versionstamp: bumped }];
  assert.equal(await stores.users.deleteUser("ada", ada.versionstamp, fresh), true);
  assert.equal(await stores.users.getUser("ada"), undefined);
});

contract(
  "users",
  "last-admin guard: of two concurrent demotions that guard each other, at most one commits",
  async ({ stores, second }) => {
    for (let round = 0; round < 5; round++) {
      await stores.users.createUser(user(`a${round}`, ["admin"]));
      await stores.users.createUser(user(`b${round}`, ["admin"]));
      const a = (await stores.users.getUser(`a${round}`))!;
      const b = (await stores.users.getUser(`b${round}`))!;
      const results = await Promise.all([
        stores.users.updateUser({ ...a.value, roles: ["user"] }, a.versionstamp, [
          { id: b.value.id, versionstamp: b.versionstamp },
        ]),
        second.users.updateUser({ ...b.value, roles: ["user"] }, b.versionstamp, [
          { id: a.value.id, versionstamp: a.versionstamp },
        ]),
      ]);
      assert(results.filter((r) => r !== undefined).length <= 1, `round ${round}: both demoted`);
      const admins = [
        (await stores.users.getUser(`a${round}`))!.value,
        (await stores.users.getUser(`b${round}`))!.value,
      ].filter((u) => u.roles.includes("admin"));
      assert(admins.length >= 1, "an admin is left");
    }
  },
);

contract(
  "users",
  "listing pages in id byte order with cursors any engine understands",
  async ({ stores }) => {
    const ids = ["b", "a", "Z", "é", "a0", "c"];
    for (const id of ids) await stores.users.createUser(user(id));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await stores.users.listUsers({ limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.users.map((u) => u.id));
      cursor = page.cursor;
    } while (cursor);
    assert.deepEqual(seen, ["Z", "a", "a0", "b", "c", "é"]);
    const all: string[] = [];
    for await (const entry of stores.users.allUsers()) all.push(entry.value.id);
    assert.deepEqual(all, seen);
    await assert.rejects(
      () => stores.users.listUsers({ limit: 2, cursor: "not a cursor!" }),
      InvalidCursorError,
    );
    await assert.rejects(
      () => stores.users.listUsers({ limit: 2, cursor: "bm9wZQ" }),
      InvalidCursorError,
    );
  },
);
