/**
 * `src/crypto/digests.ts` against implementations we did not write: `node:crypto` (what the
 * server used before issue 24, fine in a test) and `crypto.subtle`, over random inputs
 * (fast-check: strings with lone surrogates and astral characters, arbitrary bytes, several
 * parts), plus published known-answer vectors (FIPS 180-2, RFC 4231, RFC 2202).
 */
import assert from "node:assert/strict";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import fc from "npm:fast-check@^4.3.0";
import {
  type DigestInput,
  equalConstantTime,
  hmacSha1,
  hmacSha256,
  hmacSha256Base64url,
  sha256,
  sha256Base64url,
  sha256Hex,
  sha512,
} from "../../src/crypto/digests.ts";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (text: string) => Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));

/** A string (any UTF-16, lone surrogates included) or bytes. */
const input: fc.Arbitrary<DigestInput> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 100 }),
  fc.uint8Array({ maxLength: 300 }),
);
const parts = fc.array(input, { maxLength: 4 });
const RUNS = { numRuns: 300 };

function nodeHash(algorithm: string, chunks: DigestInput[]) {
  const hash = createHash(algorithm);
  for (const chunk of chunks) hash.update(chunk);
  return hash;
}

function nodeHmac(algorithm: string, key: DigestInput, chunks: DigestInput[]) {
  const mac = createHmac(algorithm, key);
  for (const chunk of chunks) mac.update(chunk);
  return mac;
}

Deno.test("sha256 / sha512 of parts equal node:crypto's chained update(), in every encoding", () => {
  fc.assert(
    fc.property(parts, (chunks) => {
      assert.equal(hex(sha256(...chunks)), nodeHash("sha256", chunks).digest("hex"));
      assert.equal(sha256Hex(...chunks), nodeHash("sha256", chunks).digest("hex"));
      assert.equal(sha256Base64url(...chunks), nodeHash("sha256", chunks).digest("base64url"));
      assert.equal(hex(sha512(...chunks)), nodeHash("sha512", chunks).digest("hex"));
    }),
    RUNS,
  );
});

Deno.test("sha256 / sha512 equal crypto.subtle.digest of the concatenated UTF-8 bytes", async () => {
  await fc.assert(
    fc.asyncProperty(parts, async (chunks) => {
      const bytes = chunks.map((c) => typeof c === "string" ? new TextEncoder().encode(c) : c);
      const joined = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
      bytes.reduce((at, b) => (joined.set(b, at), at + b.length), 0);
      const subtle256 = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
      const subtle512 = new Uint8Array(await crypto.subtle.digest("SHA-512", joined));
      assert.deepEqual(sha256(...chunks), subtle256);
      assert.deepEqual(sha512(...chunks), subtle512);
    }),
    { numRuns: 100 },
  );
});

Deno.test("hmacSha256 / hmacSha1 equal node:crypto's createHmac, keys of every length", () => {
  const key = fc.oneof(input, fc.uint8Array({ minLength: 60, maxLength: 200 }));
  fc.assert(
    fc.property(key, parts, (k, chunks) => {
      assert.equal(hex(hmacSha256(k, ...chunks)), nodeHmac("sha256", k, chunks).digest("hex"));
      assert.equal(
        hmacSha256Base64url(k, ...chunks),
        nodeHmac("sha256", k, chunks).digest("base64url"),
      );
    }),
    RUNS,
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (k, m) => {
      assert.equal(hex(hmacSha1(k, m)), createHmac("sha1", k).update(m).digest("hex"));
    }),
    RUNS,
  );
});

Deno.test("hmacSha256 equals crypto.subtle's HMAC", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 100 }),
      fc.uint8Array(),
      async (k, m) => {
        const key = await crypto.subtle.importKey(
          "raw",
          new Uint8Array(k),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        );
        const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new Uint8Array(m)));
        assert.deepEqual(hmacSha256(k, m), mac);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("known answers: FIPS 180-2 SHA-256 and SHA-512, RFC 4231 HMAC-SHA-256, RFC 2202 HMAC-SHA-1", () => {
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    hex(sha512("abc")),
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  );
  // RFC 4231 section 4.2, 4.3, 4.4 and 4.7 (a key longer than the block is hashed first).
  assert.equal(
    hex(hmacSha256(new Uint8Array(20).fill(0x0b), "Hi There")),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
  assert.equal(
    hex(hmacSha256("Jefe", "what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assert.equal(
    hex(hmacSha256(new Uint8Array(20).fill(0xaa), new Uint8Array(50).fill(0xdd))),
    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
  );
  assert.equal(
    hex(hmacSha256(
      new Uint8Array(131).fill(0xaa),
      "This is a test using a larger than block-size key and a larger than block-size data. " +
        "The key needs to be hashed before being used by the HMAC algorithm.",
    )),
    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
  );
  // RFC 2202 section 3, test cases 1 and 2.
  assert.equal(
    hex(hmacSha1(new Uint8Array(20).fill(0x0b), new TextEncoder().encode("Hi There"))),
    "b617318655057264e28bc0b6fb378c8ef146be00",
  );
  assert.equal(
    hex(hmacSha1(
      new TextEncoder().encode("Jefe"),
      new TextEncoder().encode("what do ya want for nothing?"),
    )),
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  );
});

Deno.test("equalConstantTime answers as node:crypto's timingSafeEqual, and false on unequal lengths", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
      const expected = a.length === b.length && timingSafeEqual(a, b);
      assert.equal(equalConstantTime(a, b), expected);
      assert.equal(equalConstantTime(a, a.slice()), true);
    }),
    RUNS,
  );
  // One differing byte anywhere, in every position, is seen.
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (a, at, flip) => {
        const b = a.slice();
        b[at % a.length]! ^= flip;
        assert.equal(equalConstantTime(a, b), false);
      },
    ),
    RUNS,
  );
  // A prefix, however long, is not equal; nor is the empty array to a non-empty one.
  const bytes = fromHex("0102030405060708");
  assert.equal(equalConstantTime(bytes.subarray(0, 7), bytes), false);
  assert.equal(equalConstantTime(bytes, bytes.subarray(0, 7)), false);
  assert.equal(equalConstantTime(new Uint8Array(), bytes), false);
  assert.equal(equalConstantTime(new Uint8Array(), new Uint8Array()), true);
  assert.equal(equalConstantTime(new Uint8Array([0, 1]), new Uint8Array([0, 2])), false);
});
