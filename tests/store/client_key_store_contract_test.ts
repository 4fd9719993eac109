/** The OAuth client and signing-key store contracts, every engine unchanged. */
import assert from "node:assert/strict";
import type { ClientRecord } from "../../src/oauth/client_store.ts";
import type { StoredKeySet } from "../../src/keys/key_store.ts";
import { contract } from "./engines.ts";

const client = (clientId: string): ClientRecord => ({
  clientId,
  secretHash: "s",
  scopes: ["read"],
  grantTypes: ["client_credentials"],
  createdAt: 1,
  updatedAt: 1,
});

contract(
  "clients",
  "create, guarded update, one of two removes wins, list",
  async ({ stores, second }) => {
    assert.equal(await stores.clients.createClient(client("svc")), true);
    assert.equal(await stores.clients.createClient(client("svc")), false);
    await stores.clients.createClient(client("api"));
    const read = (await stores.clients.getClient("svc"))!;
    assert.equal(
      await stores.clients.updateClient({ ...read.value, scopes: [] }, read.versionstamp),
      true,
    );
    assert.equal(await stores.clients.updateClient(read.value, read.versionstamp), false, "stale");
    assert.deepEqual((await stores.clients.listClients()).map((c) => c.clientId), ["api", "svc"]);
    const removed = await Promise.all([
      stores.clients.deleteClient("svc"),
      second.clients.deleteClient("svc"),
    ]);
    assert.equal(removed.filter(Boolean).length, 1);
    assert.equal(await stores.clients.getClient("svc"), undefined);
  },
);

const set = (kids: string[]): StoredKeySet => ({
  version: 1,
  keys: kids.map((kid) => ({
    kid,
    alg: "EdDSA",
    created_at: 1,
    activates_at: 1,
    public_jwk: { kty: "OKP", crv: "Ed25519", x: "x" },
    private_jwk: { iv: "i", ciphertext: "c" },
  })),
});

contract(
  "keys",
  "versioned writes: of two writers on one version exactly one wins",
  async ({ stores, second }) => {
    assert.equal(await stores.keys.read(), undefined);
    assert.equal(await stores.keys.version(), undefined);
    const firsts = await Promise.all([
      stores.keys.write(set(["k1"]), undefined),
      second.keys.write(set(["k2"]), undefined),
    ]);
    assert.equal(firsts.filter(Boolean).length, 1, "one first writer");
    const current = (await stores.keys.read())!;
    assert.equal(await stores.keys.version(), current.versionstamp);
    const next = await Promise.all([
      stores.keys.write(set(["a"]), current.versionstamp),
      second.keys.write(set(["b"]), current.versionstamp),
    ]);
    assert.equal(next.filter(Boolean).length, 1, "one rotation");
    assert.notEqual(await stores.keys.version(), current.versionstamp);
  },
);

contract(
  "keys",
  "in-use marks: last write wins; a retired key's mark goes with the write",
  async ({ stores }) => {
    await stores.keys.write(set(["k1", "k2"]), undefined);
    await stores.keys.markInUse("k1", 5);
    await stores.keys.markInUse("k1", 7);
    await stores.keys.markInUse("k2", 6);
    assert.deepEqual(await stores.keys.inUse(), new Map([["k1", 7], ["k2", 6]]));
    const current = (await stores.keys.read())!;
    assert.equal(await stores.keys.write(set(["k2"]), current.versionstamp, ["k1"]), true);
    assert.deepEqual(await stores.keys.inUse(), new Map([["k2", 6]]));
  },
);

contract(
  "keys",
  "a key's use (the RS256 ID-token key) reads back as written; a key without one stays without",
  async ({ stores, second }) => {
    const [access] = set(["access"]).keys;
    const idToken = { ...set(["id"]).keys[0]!, alg: "RS256" as const, use: "id_token" as const };
    const written: StoredKeySet = { version: 1, keys: [access!, idToken] };
    assert.equal(await stores.keys.write(written, undefined), true);
    const read = (await second.keys.read())!.set;
    assert.deepEqual(read, written);
    assert.equal("use" in read.keys[0]!, false);
  },
);

contract(
  "settings",
  "the served issuer: undefined on a new store, then the one recorded before",
  async ({ stores, second }) => {
    assert.equal(await stores.recordIssuer("http://a.example"), undefined);
    assert.equal(await second.recordIssuer("http://a.example"), "http://a.example");
    assert.equal(await stores.recordIssuer("your identity"), "http://a.example");
    assert.equal(await second.recordIssuer("your identity"), "your identity");
  },
);
