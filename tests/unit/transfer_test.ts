/** `store export|import` over the ports: a round trip between two engines, and what refuses. */
import assert from "node:assert/strict";
import { exportLines, importLines, TransferError } from "../../src/store/transfer.ts";
import { kvStores } from "../../src/store/kv_stores.ts";
import { fakeStores } from "../helpers/fake_stores.ts";
import type { SessionRecord } from "../../src/tokens/session_store.ts";

const NOW = Date.now();

async function* from(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

Deno.test("transfer: KV -> fake keeps users, clients, keys and live sessions; ended ones stay behind", async () => {
  using kv = await Deno.openKv(":memory:");
  const source = kvStores(kv);
  const user = {
    id: "ada",
    uid: "u1",
    passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
    roles: ["user"],
    disabled: false,
    createdAt: 1,
    updatedAt: 1,
  };
  await source.users.createUser(user);
  await source.clients.createClient({
    clientId: "svc",
    secretHash: "h",
    scopes: [],
    grantTypes: ["client_credentials"],
    createdAt: 1,
    updatedAt: 1,
  });
  await source.keys.write({ version: 1, keys: [] }, undefined);
  await source.keys.markInUse("k1", 5);
  const session = (sid: string, expiresAt: number): SessionRecord => ({
    sid,
    userId: "ada",
    userUid: "u1",
    epoch: 0,
    role: "user",
    createdAt: NOW,
    refreshedAt: NOW,
    expiresAt,
    maxExpiresAt: NOW + 120_000,
    currentHash: "h",
    userVersionstamp: "00000000000000010000",
  });
  await source.sessions.createSession({ session: session("live", NOW + 60_000), now: NOW });
  await source.sessions.createSession({ session: session("ended", NOW + 10), now: NOW });

  const lines = await collect(exportLines(source, NOW + 100));
  const target = fakeStores({ mode: "ok" });
  const counts = await importLines(target, from(lines), NOW + 100);
  assert.deepEqual(counts, { users: 1, clients: 1, keySets: 1, keysInUse: 1, sessions: 1 });
  assert.deepEqual((await target.users.getUser("ada"))?.value, user);
  const moved = (await target.sessions.getSession("live"))?.value;
  assert.equal(moved?.currentHash, "h");
  assert.equal(moved?.userVersionstamp, undefined, "the old engine's stamp is dropped");
  assert.equal(await target.sessions.getSession("ended"), undefined);
  assert.deepEqual(await target.keys.inUse(), new Map([["k1", 5]]));

  await assert.rejects(() => importLines(target, from(lines), NOW), /not empty/);
});

Deno.test("transfer: a bad line is refused with its number; nothing past it is read", async () => {
  const header = '{"format":"auth-store","version":1}';
  const cases: [string[], RegExp][] = [
    [[], /No input/],
    [['{"format":"other"}'], /Line 1 is not the header/],
    [['{"format":"auth-store","version":9}'], /version/],
    [[header, "{"], /Line 2 is not JSON/],
    [[header, '{"kind":"user","record":{"id":"a"}}'], /Line 2: not a user record/],
    [[header, '{"kind":"rocket"}'], /Line 2: unknown kind/],
    [[header, '{"kind":"key_set","record":{"version":2,"keys":[]}}'], /not a key set/],
  ];
  for (const [lines, expected] of cases) {
    await assert.rejects(
      () => importLines(fakeStores({ mode: "ok" }), from(lines), NOW),
      (err: unknown) => err instanceof TransferError && expected.test(err.message),
      String(expected),
    );
  }
});
