/** The browser sign-in stores' contract (codes, browser sessions), every engine unchanged. */
import assert from "node:assert/strict";
import type { AuthorizationCodeRecord } from "../../src/browser/authorization_code_store.ts";
import type { BrowserSessionRecord } from "../../src/browser/browser_session_store.ts";
import { contract } from "./engines.ts";

const NOW = Date.now();

const code = (hash: string): AuthorizationCodeRecord => ({
  hash,
  clientId: "web",
  redirectUri: "https://app.example/cb",
  codeChallenge: "c",
  scopes: ["openid"],
  role: "user",
  userId: "ada",
  userUid: "u1",
  browserSessionKey: "b",
  browserSid: "bs",
  authTime: NOW,
  amr: ["pwd"],
  createdAt: NOW,
  expiresAt: NOW + 60_000,
});

contract(
  "codes",
  "a code is spent by exactly one of two exchanges that read it",
  async ({ stores, second }) => {
    await stores.authorizationCodes.createCode(code("h1"));
    await assert.rejects(() => stores.authorizationCodes.createCode(code("h1")), "no overwrite");
    const read = (await stores.authorizationCodes.getCode("h1"))!;
    assert.deepEqual(read.value, code("h1"));
    const spent = await Promise.all([stores, second].map((s, i) =>
      s.authorizationCodes.updateCode(
        { ...read.value, usedAt: NOW, issuedSid: `s${i}` },
        read.versionstamp,
      )
    ));
    assert.equal(spent.filter(Boolean).length, 1);
    assert.equal((await stores.authorizationCodes.getCode("h1"))?.value.usedAt, NOW);
    assert.equal(await stores.authorizationCodes.getCode("nope"), undefined);
  },
);

const browserSession = (key: string): BrowserSessionRecord => ({
  key,
  sid: `sid-${key}`,
  userId: "ada",
  userUid: "u1",
  epoch: 0,
  authTime: NOW,
  amr: ["pwd"],
  expiresAt: NOW + 3_600_000,
});

contract("browser sessions", "create, get, delete", async ({ stores }) => {
  const session = browserSession("k1");
  await stores.browserSessions.createBrowserSession(session);
  assert.deepEqual((await stores.browserSessions.getBrowserSession("k1"))?.value, session);
  await stores.browserSessions.deleteBrowserSession("k1");
  assert.equal(await stores.browserSessions.getBrowserSession("k1"), undefined);
});

contract(
  "browser sessions",
  "a session is marked replaced by exactly one of two sign-ins that read it",
  async ({ stores, second }) => {
    const session = browserSession("k2");
    await stores.browserSessions.createBrowserSession(session);
    const read = (await stores.browserSessions.getBrowserSession("k2"))!;
    const marked = await Promise.all(
      [stores, second].map((s, i) =>
        s.browserSessions.replaceBrowserSession(
          { ...read.value, successor: `n${i}` },
          read.versionstamp,
        )
      ),
    );
    assert.equal(marked.filter(Boolean).length, 1);
    const after = (await stores.browserSessions.getBrowserSession("k2"))!;
    assert.equal(after.value.successor, marked[0] ? "n0" : "n1");
    assert.notEqual(after.versionstamp, read.versionstamp);
    assert.equal(
      await stores.browserSessions.replaceBrowserSession(
        { ...read.value, successor: "late" },
        read.versionstamp,
      ),
      false,
      "a stale stamp writes nothing",
    );
    assert.equal(
      (await stores.browserSessions.getBrowserSession("k2"))?.value.successor,
      after.value.successor,
    );
    await stores.browserSessions.deleteBrowserSession("k2");
    assert.equal(
      await stores.browserSessions.replaceBrowserSession(session, after.versionstamp),
      false,
      "a deleted session is not written again",
    );
    assert.equal(await stores.browserSessions.getBrowserSession("k2"), undefined);
  },
);
