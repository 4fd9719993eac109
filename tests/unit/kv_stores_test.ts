import assert from "node:assert/strict";
import { InvalidCursorError, StoreUnavailableError } from "../../src/errors.ts";
import { kvStores } from "../../src/store/kv_stores.ts";

Deno.test("KV stores: every operation on a failing Deno KV throws StoreUnavailableError", async () => {
  const kv = await Deno.openKv(":memory:");
  const stores = kvStores(kv);
  await stores.ping();
  kv.close();
  const now = Date.now();
  const session = {
    sid: "s",
    userId: "ada",
    userUid: "u1",
    epoch: 0,
    role: "user",
    createdAt: now,
    refreshedAt: now,
    expiresAt: now + 1,
    maxExpiresAt: now + 1,
    currentHash: "h",
  };
  const operations: [string, () => Promise<unknown>][] = [
    ["ping", () => stores.ping()],
    ["getUser", () => stores.users.getUser("ada")],
    ["hasUsers", () => stores.users.hasUsers()],
    ["listUsers", () => stores.users.listUsers({ limit: 10 })],
    ["allUsers", async () => {
      for await (const _ of stores.users.allUsers()) { /* drain */ }
    }],
    ["getSessionAndUser", () => stores.sessions.getSessionAndUser("s", "ada")],
    ["revokeSession", () => stores.sessions.revokeSession("s", now)],
    ["listUserSessions", () => stores.sessions.listUserSessions("u1")],
    ["createSession", () => stores.sessions.createSession({ session, now })],
    ["getClient", () => stores.clients.getClient("svc")],
    ["listClients", () => stores.clients.listClients()],
    ["deleteClient", () => stores.clients.deleteClient("svc")],
    ["createClient", () =>
      stores.clients.createClient({
        clientId: "svc",
        secretHash: "h",
        scopes: [],
        grantTypes: ["client_credentials"],
        createdAt: now,
        updatedAt: now,
      })],
    [
      "take",
      () => stores.counters.take([{ bucket: "b", subject: "s", costMs: 1, windowMs: 1 }], now),
    ],
    [
      "giveBack",
      () => stores.counters.giveBack({ bucket: "b", subject: "s", costMs: 1, windowMs: 1 }, now),
    ],
    ["readKeySet", () => stores.keys.read()],
    ["keySetVersion", () => stores.keys.version()],
    ["writeKeySet", () => stores.keys.write({ version: 1, keys: [] }, undefined, ["k"])],
    ["markKeyInUse", () => stores.keys.markInUse("k", now)],
    ["keysInUse", () => stores.keys.inUse()],
  ];
  for (const [name, operation] of operations) {
    await assert.rejects(operation, StoreUnavailableError, name);
  }
});

Deno.test("KV stores: a cursor Deno KV did not issue is InvalidCursorError, not an outage", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const stores = kvStores(kv);
    await assert.rejects(
      () => stores.users.listUsers({ limit: 10, cursor: "not a cursor!" }),
      InvalidCursorError,
    );
  } finally {
    kv.close();
  }
});
