/**
 * The contract of the browser sign-in stores (authorization codes, browser sessions), run
 * unchanged against the in-memory fakes and Deno KV, so the fake cannot drift from the real thing
 * (the PostgreSQL adapter joins the list when it implements them); and a failing Deno KV throws
 * `StoreUnavailableError` from every operation.
 */
import assert from "node:assert/strict";
import type { AuthorizationCodeRecord } from "../../src/browser/authorization_code_store.ts";
import type { BrowserSessionRecord } from "../../src/browser/browser_session_store.ts";
import { StoreUnavailableError } from "../../src/errors.ts";
import { kvStores } from "../../src/store/kv_stores.ts";
import type { Stores } from "../../src/store/stores.ts";
import { fakeStores } from "../helpers/fake_stores.ts";

const NOW = Date.UTC(2026, 0, 1);

const CODE: AuthorizationCodeRecord = {
  hash: "code-hash",
  clientId: "web",
  redirectUri: "https://app.example/cb",
  codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  scopes: ["openid", "user"],
  role: "user",
  userId: "ada",
  userUid: "u1",
  browserSessionKey: "bk",
  browserSid: "bs",
  authTime: NOW,
  amr: ["pwd"],
  createdAt: NOW,
  expiresAt: NOW + 60_000,
};

const SESSION: BrowserSessionRecord = {
  key: "bk",
  sid: "bs",
  userId: "ada",
  userUid: "u1",
  epoch: 0,
  authTime: NOW,
  amr: ["pwd"],
  expiresAt: NOW + 3_600_000,
};

const engines: [string, () => Promise<{ stores: Stores; close(): void }>][] = [
  ["fake", () => Promise.resolve({ stores: fakeStores({ mode: "ok" }), close() {} })],
  ["Deno KV", async () => {
    const kv = await Deno.openKv(":memory:");
    return { stores: kvStores(kv), close: () => kv.close() };
  }],
];

for (const [engine, open] of engines) {
  Deno.test(`${engine}: authorization codes: create, read, guarded update`, async () => {
    const { stores, close } = await open();
    try {
      const codes = stores.authorizationCodes;
      assert.equal(await codes.getCode(CODE.hash), undefined);
      await codes.createCode(CODE);
      await assert.rejects(() => codes.createCode(CODE), "a second record under one hash");
      const read = await codes.getCode(CODE.hash);
      assert.deepEqual(read?.value, CODE);
      const spent = { ...CODE, usedAt: NOW + 1 };
      assert.equal(await codes.updateCode(spent, read!.versionstamp), true);
      assert.equal(
        await codes.updateCode({ ...CODE, reused: true }, read!.versionstamp),
        false,
        "a stale versionstamp loses",
      );
      assert.deepEqual((await codes.getCode(CODE.hash))?.value, spent);
    } finally {
      close();
    }
  });

  Deno.test(`${engine}: browser sessions: create, read, delete`, async () => {
    const { stores, close } = await open();
    try {
      const sessions = stores.browserSessions;
      assert.equal(await sessions.getBrowserSession(SESSION.key), undefined);
      await sessions.createBrowserSession(SESSION);
      assert.deepEqual((await sessions.getBrowserSession(SESSION.key))?.value, SESSION);
      await sessions.deleteBrowserSession(SESSION.key);
      assert.equal(await sessions.getBrowserSession(SESSION.key), undefined);
      await sessions.deleteBrowserSession(SESSION.key); // deleting nothing is fine
    } finally {
      close();
    }
  });
}

Deno.test("browser sign-in stores on a failing Deno KV throw StoreUnavailableError", async () => {
  const kv = await Deno.openKv(":memory:");
  const stores = kvStores(kv);
  kv.close();
  const operations: [string, () => Promise<unknown>][] = [
    ["createCode", () => stores.authorizationCodes.createCode(CODE)],
    ["getCode", () => stores.authorizationCodes.getCode("h")],
    ["updateCode", () => stores.authorizationCodes.updateCode(CODE, "00")],
    ["createBrowserSession", () => stores.browserSessions.createBrowserSession(SESSION)],
    ["getBrowserSession", () => stores.browserSessions.getBrowserSession("k")],
    ["deleteBrowserSession", () => stores.browserSessions.deleteBrowserSession("k")],
  ];
  for (const [name, operation] of operations) {
    await assert.rejects(operation, StoreUnavailableError, name);
  }
});
