/**
 * The second-factor service over the in-memory fake store: a secret sealed under a previous
 * SECRET_KEY still opens (PREVIOUS_SECRET_KEYS) and is sealed again under the current key when a
 * code is spent, so the old key can go once every user has signed in.
 */
import assert from "node:assert/strict";
import { createMfaService } from "../../src/mfa/mfa_service.ts";
import { createSecretBox } from "../../src/mfa/secret_box.ts";
import { base32Decode, totp } from "../../src/mfa/totp.ts";
import type { UserRecord } from "../../src/users/user_store.ts";
import { fakeStores } from "../helpers/fake_stores.ts";

const OLD = "old-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const NEW = "new-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const user: UserRecord = {
  id: "ada",
  uid: "u1",
  passwordHash: "x",
  roles: ["user"],
  disabled: false,
  createdAt: 0,
  updatedAt: 0,
};

Deno.test("mfa service: a SECRET_KEY change keeps TOTP working and reseals the secret on use", async () => {
  let now = Date.UTC(2026, 0, 1);
  const store = fakeStores({ mode: "ok" }).mfa;
  const service = (secret: string, previous: string[]) =>
    createMfaService({
      store,
      box: createSecretBox(secret, previous),
      issuerLabel: "auth.test",
      now: () => now,
    });
  const before = service(OLD, []);
  const { secret } = await before.enrolTotp(user);
  const raw = base32Decode(secret)!;
  await before.confirmTotp(user, totp(raw, now));
  const sealedOld = (await store.getFactors("u1"))!.value.totp!.sealed;

  // Rotated: the new key alone does not open it; with the old one as previous it does.
  now += 30_000;
  const newOnly = service(NEW, []);
  const record = (await store.getFactors("u1"))!.value;
  await assert.rejects(() => newOnly.spend("u1", record, { code: totp(raw, now) }));
  const rotated = service(NEW, [OLD]);
  const spent = await rotated.spend("u1", record, { code: totp(raw, now) });
  assert.ok(spent, "the code passes under the previous key");
  assert.notDeepEqual(spent.factors.totp!.sealed, sealedOld, "sealed again");
  // Resealed under the new key: it opens without the old one.
  now += 30_000;
  assert.ok(await newOnly.spend("u1", spent.factors, { code: totp(raw, now) }));
});
