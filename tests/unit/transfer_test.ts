/**
 * `store export|import` over the ports: a round trip between two engines (a user's TOTP factor
 * and passkey included: after the move the password alone still does not sign them in), and
 * what refuses.
 */
import assert from "node:assert/strict";
import { exportLines, importLines, TransferError } from "../../src/store/transfer.ts";
import { kvStores } from "../../src/store/kv_stores.ts";
import { fakeStores } from "../helpers/fake_stores.ts";
import type { SessionRecord } from "../../src/tokens/session_store.ts";
import type { PasskeyRecord } from "../../src/passkeys/passkey_store.ts";
import { userUid } from "../../src/users/user_store.ts";
import { addUser, login, makeApp, TEST_SECRET } from "../helpers/app.ts";
import { claimsOf, enrolTotp } from "../helpers/mfa.ts";

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
  // A public client (a single-page or native app) has no secret: it moves too.
  await source.clients.createClient({
    clientId: "spa",
    secretHash: "",
    public: true,
    scopes: [],
    grantTypes: ["authorization_code"],
    redirectUris: ["https://app.example/cb"],
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
  assert.deepEqual(counts, {
    users: 1,
    clients: 2,
    keySets: 1,
    keysInUse: 1,
    factors: 0,
    passkeys: 0,
    sessions: 1,
  });
  assert.deepEqual((await target.users.getUser("ada"))?.value, user);
  const moved = (await target.sessions.getSession("live"))?.value;
  assert.equal(moved?.currentHash, "h");
  assert.equal(moved?.userVersionstamp, undefined, "the old engine's stamp is dropped");
  assert.equal(await target.sessions.getSession("ended"), undefined);
  assert.deepEqual(await target.keys.inUse(), new Map([["k1", 5]]));

  await assert.rejects(() => importLines(target, from(lines), NOW), /not empty/);
});

Deno.test("transfer: a bad line is refused with its number; nothing past it is read", async () => {
  const header = '{"format":"auth-store","version":2}';
  const mfaLine = (change: Record<string, unknown>, userUid = "u1") =>
    JSON.stringify({
      kind: "mfa",
      userUid,
      record: {
        userId: "ada",
        totp: { sealed: { iv: "iv", ciphertext: "ct" }, confirmedAt: 1, lastStep: 1 },
        recoveryCodes: ["h1"],
        updatedAt: 1,
        ...change,
      },
    });
  const userLine = (change: Record<string, unknown>) =>
    JSON.stringify({
      kind: "user",
      record: { id: "a", passwordHash: "h", roles: [], disabled: false, ...change },
    });
  const cases: [string[], RegExp][] = [
    [[], /No input/],
    [['{"format":"other"}'], /Line 1 is not the header/],
    [['{"format":"auth-store","version":9}'], /version/],
    // The first export format held no second factors: its users would lose them.
    [['{"format":"auth-store","version":1}'], /version 1 holds no second factors/],
    [[header, "{"], /Line 2 is not JSON/],
    [[header, '{"kind":"user","record":{"id":"a"}}'], /Line 2: not a user record/],
    [[header, userLine({ uid: 5 })], /Line 2: not a user record/],
    [[header, userLine({ uid: "" })], /Line 2: not a user record/],
    [[header, '{"kind":"rocket"}'], /Line 2: unknown kind/],
    [[header, '{"kind":"key_set","record":{"version":2,"keys":[]}}'], /not a key set/],
    [[header, mfaLine({ totp: null })], /Line 2: not a second-factor record/],
    [[header, mfaLine({ totp: { confirmedAt: 1, lastStep: 1 } })], /not a second-factor/],
    [[header, mfaLine({ recoveryCodes: "h1" })], /not a second-factor record/],
    [[header, mfaLine({}, "")], /not a second-factor record/],
    [[header, '{"kind":"passkey","record":{"id":"c","userUid":"u1"}}'], /not a passkey record/],
  ];
  for (const [lines, expected] of cases) {
    await assert.rejects(
      () => importLines(fakeStores({ mode: "ok" }), from(lines), NOW),
      (err: unknown) => err instanceof TransferError && expected.test(err.message),
      String(expected),
    );
  }
});

Deno.test("transfer: a user with TOTP and a passkey moves with them; the password alone still does not sign in", async () => {
  using source = await makeApp();
  await addUser(source, "ada", "correct horse battery");
  await addUser(source, "bob", "correct horse battery");
  const { token } = await login(source, "ada", "correct horse battery");
  const { app, recoveryCodes } = await enrolTotp(source, token, "correct horse battery");
  const uid = userUid((await source.stores.users.getUser("ada"))!.value);
  const passkey: PasskeyRecord = {
    id: "cred-1",
    userId: "ada",
    userUid: uid,
    publicKey: "pQECAyYgASFYIA",
    counter: 7,
    transports: ["internal", "hybrid"],
    backedUp: true,
    createdAt: source.clock.ms,
    lastUsedAt: source.clock.ms,
  };
  assert.equal(await source.stores.passkeys.createPasskey(passkey), true);
  // A login waiting for its code, and a user removed whose factors were left: neither moves.
  const waiting = await source.post("/login", {
    user_id: "ada",
    password: "correct horse battery",
  });
  assert.equal(waiting.status, 403);
  const orphan = { ...(await source.stores.mfa.getFactors(uid))!.value, userId: "gone" };
  assert.equal(await source.stores.mfa.putFactors("uid-of-a-removed-user", orphan, null), true);
  assert.equal(
    await source.stores.passkeys.createPasskey({ ...passkey, id: "cred-gone", userUid: "gone" }),
    true,
  );
  const before = (await source.stores.mfa.getFactors(uid))!.value;

  const lines = await collect(exportLines(source.stores, source.clock.ms));
  const kinds = lines.slice(1).map((l) => JSON.parse(l).kind);
  assert.deepEqual(kinds.filter((k) => k === "mfa" || k === "passkey"), ["mfa", "passkey"]);
  assert.ok(!lines.some((l) => l.includes(recoveryCodes[0]!)), "codes move as hashes only");

  const target = fakeStores({ mode: "ok" });
  using moved = await makeApp({}, undefined, () => target);
  moved.clock.ms = source.clock.ms + 30_000; // the next step: the confirm spent this one
  const counts = await importLines(target, from(lines), moved.clock.ms);
  assert.equal(counts.factors, 1);
  assert.equal(counts.passkeys, 1);
  assert.deepEqual((await target.mfa.getFactors(uid))?.value, before, "sealed secret as it was");
  assert.deepEqual(await target.passkeys.listPasskeys(uid), [passkey], "with its owner's index");
  assert.deepEqual(await target.passkeys.listPasskeys("gone"), []);
  assert.equal(await target.mfa.getFactors("uid-of-a-removed-user"), undefined);
  assert.equal(target.keyCount("mfa_challenges/"), 0, "a pending login stays behind");

  // The password alone is not enough on the target; the authenticator app's code is.
  const challenged = await moved.post("/login", {
    user_id: "ada",
    password: "correct horse battery",
  });
  assert.equal(challenged.status, 403);
  const body = await challenged.json();
  assert.equal(body.code, "mfa_required");
  assert.equal(body.token, undefined);
  const stale = await moved.post("/login/mfa", {
    mfa_token: body.mfa_token,
    code: app.code(source.clock.ms),
  });
  assert.equal(stale.status, 401, "the step spent on the source stays spent (lastStep moved)");
  const again = await moved.post("/login", { user_id: "ada", password: "correct horse battery" });
  const passed = await moved.post("/login/mfa", {
    mfa_token: (await again.json()).mfa_token,
    code: app.code(moved.clock.ms),
  });
  assert.equal(passed.status, 200, await passed.clone().text());
  assert.deepEqual(claimsOf((await passed.json()).token).amr, ["pwd", "otp"]);
  // A user without a second factor still signs in with the password.
  await login(moved, "bob", "correct horse battery");
});

Deno.test("transfer: TOTP secrets move sealed: another SECRET_KEY on the target fails closed; the old one in PREVIOUS_SECRET_KEYS opens them", async () => {
  using source = await makeApp();
  await addUser(source, "ada", "correct horse battery");
  const { token } = await login(source, "ada", "correct horse battery");
  const { app, recoveryCodes } = await enrolTotp(source, token, "correct horse battery");
  const lines = await collect(exportLines(source.stores, source.clock.ms));
  const other = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
  const cases = [
    { vars: { SECRET_KEY: other }, opens: false },
    { vars: { SECRET_KEY: other, PREVIOUS_SECRET_KEYS: TEST_SECRET }, opens: true },
  ];
  for (const { vars, opens } of cases) {
    const target = fakeStores({ mode: "ok" });
    using moved = await makeApp(vars, undefined, () => target);
    moved.clock.ms = source.clock.ms + 30_000;
    await importLines(target, from(lines), moved.clock.ms);
    const challenged = await moved.post("/login", {
      user_id: "ada",
      password: "correct horse battery",
    });
    assert.equal(challenged.status, 403, "still asked for the second step");
    const answer = await moved.post("/login/mfa", {
      mfa_token: (await challenged.json()).mfa_token,
      code: app.code(moved.clock.ms),
    });
    const body = await answer.json();
    if (opens) assert.equal(answer.status, 200, JSON.stringify(body));
    else {
      assert.ok(answer.status >= 400, `refused, not signed in: ${answer.status}`);
      assert.equal(body.token, undefined);
      // Recovery codes are hashes, not sealed: they still let the user in (to reset the factor).
      const again = await moved.post("/login", {
        user_id: "ada",
        password: "correct horse battery",
      });
      const recovered = await moved.post("/login/mfa", {
        mfa_token: (await again.json()).mfa_token,
        recovery_code: recoveryCodes[0],
      });
      assert.equal(recovered.status, 200, await recovered.clone().text());
    }
  }
});
