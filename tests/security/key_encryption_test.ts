/**
 * Issue 23 item 10: a signing key encrypted at rest gets a fresh random IV every time (AES-GCM
 * with a repeated IV under one key leaks the XOR of the plaintexts and the authentication key),
 * and the key-encryption derivation is pinned by a stored fixture, so a key set an earlier
 * version wrote still decrypts (a changed HKDF salt or info would lock every server out of its
 * own keys).
 */
import assert from "node:assert/strict";
import { decryptJwk, deriveKeyEncryptionKey, encryptJwk } from "../../src/keys/key_encryption.ts";
import { needs, READ } from "../helpers/permissions.ts";

const testReading = needs(READ);

/** The stored fixture, read when a test runs (never at load: `deno test` as typed reads nothing). */
async function readFixture() {
  return JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/encrypted_jwk_v1.json", import.meta.url)),
  );
}

Deno.test("every encryption of a key gets its own IV", async () => {
  const kek = await deriveKeyEncryptionKey("k".repeat(40));
  const jwk = { kty: "OKP", crv: "Ed25519", x: "x", d: "d" };
  const seen = new Set<string>();
  for (let i = 0; i < 16; i++) {
    const sealed = await encryptJwk(kek, jwk, "kid.EdDSA");
    assert.equal(sealed.iv.length, 16, "96 bits");
    assert.ok(!seen.has(sealed.iv), "an IV repeated");
    seen.add(sealed.iv);
  }
});

testReading(
  "a key sealed by version 2.19.0 still decrypts (the derivation is pinned)",
  async () => {
    const fixture = await readFixture();
    const kek = await deriveKeyEncryptionKey(fixture.secret);
    assert.deepEqual(await decryptJwk(kek, fixture.sealed, fixture.associatedData), fixture.jwk);
    const other = await deriveKeyEncryptionKey(fixture.secret + "x");
    await assert.rejects(() => decryptJwk(other, fixture.sealed, fixture.associatedData));
  },
);
