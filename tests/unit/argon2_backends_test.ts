/**
 * The two argon2id backends: one PHC format, byte-identical output, cross-verification both
 * ways, strings from an implementation we did not write (python3-argon2 fixtures, RFC 9106), and
 * how PASSWORD_HASHER picks between them.
 */
import assert from "node:assert/strict";
import fixtures from "../fixtures/argon2_python.json" with { type: "json" };
import type { Argon2Backend } from "../../src/crypto/argon2_backend.ts";
import { loadNativeArgon2, NativeArgon2Unavailable } from "../../src/crypto/argon2_native.ts";
import { formatArgon2idPhc, parseArgon2idPhc } from "../../src/crypto/argon2_phc.ts";
import { deriveArgon2id, webCryptoArgon2 } from "../../src/crypto/argon2_webcrypto.ts";
import { createPasswordHasher, OWASP_MINIMUM } from "../../src/crypto/passwords.ts";
import { describeBackend, selectArgon2Backend } from "../../src/crypto/select_argon2_backend.ts";
import { ENV, FFI, lacking, needs } from "../helpers/permissions.ts";

/** The addon reads the environment and loads through FFI: tried only when the run grants both. */
const ADDON = [ENV, FFI];
const testWithAddon = needs(...ADDON);
const native = lacking(ADDON).length > 0
  ? undefined
  : await loadNativeArgon2().catch((err: NativeArgon2Unavailable) => err);
const nativeMissing = native instanceof NativeArgon2Unavailable
  ? ` (skipped: the native addon does not load here: ${native.message})`
  : "";
if (nativeMissing) console.log(nativeMissing);
const backends: Argon2Backend[] = native === undefined || native instanceof NativeArgon2Unavailable
  ? [webCryptoArgon2]
  : [webCryptoArgon2, native];
const PASSWORD = "correct horse battery staple";
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

testWithAddon(
  `native and Web Crypto: the same bytes for the same salt and parameters${nativeMissing}`,
  {
    ignore: nativeMissing !== "",
  },
  async () => {
    const nativeAddon = await import("@node-rs/argon2");
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const fromNative = await nativeAddon.hash(PASSWORD, {
      algorithm: 2 as import("@node-rs/argon2").Algorithm,
      ...OWASP_MINIMUM,
      salt,
    });
    const derived = await deriveArgon2id(
      new TextEncoder().encode(PASSWORD),
      salt,
      OWASP_MINIMUM,
      32,
    );
    assert.equal(formatArgon2idPhc(OWASP_MINIMUM, salt, derived), fromNative);
  },
);

testWithAddon(`a hash from either backend verifies with the other${nativeMissing}`, {
  ignore: nativeMissing !== "",
}, async () => {
  for (const maker of backends) {
    const phc = await maker.hash(PASSWORD, OWASP_MINIMUM);
    assert.ok(parseArgon2idPhc(phc), phc);
    for (const checker of backends) {
      const pair = `${maker.name} -> ${checker.name}`;
      assert.equal(await checker.verify(phc, PASSWORD), true, pair);
      assert.equal(await checker.verify(phc, PASSWORD + "!"), false, pair);
    }
  }
});

Deno.test("both backends verify PHC strings made by python3-argon2 (argon2-cffi)", async () => {
  assert.ok(fixtures.cases.length >= 5);
  for (const backend of backends) {
    for (const { password, phc } of fixtures.cases) {
      const label = `${backend.name}: ${phc.slice(0, 40)}`;
      assert.equal(await backend.verify(phc, password), true, label);
      assert.equal(await backend.verify(phc, password.slice(1)), false, label);
    }
  }
});

Deno.test("the hasher takes python3-argon2's weak hash and asks for a rehash", async () => {
  const weak = fixtures.cases.find((c) => c.phc.includes("m=4096,t=1"));
  assert.ok(weak);
  for (const backend of backends) {
    const hasher = createPasswordHasher({ backend });
    assert.equal(await hasher.verify(weak.phc, weak.password), true, backend.name);
    assert.equal(hasher.needsRehash(weak.phc), true);
  }
});

Deno.test("Web Crypto Argon2id reproduces the RFC 9106 section 5.3 test vector", async () => {
  // Argon2id v1.3, m=32 KiB, t=3, p=4, P=32x01, S=16x02, K=8x03, X=12x04, tag 32 bytes.
  const tag = await deriveArgon2id(
    new Uint8Array(32).fill(1),
    new Uint8Array(16).fill(2),
    { memoryCost: 32, timeCost: 3, parallelism: 4 },
    32,
    { secretValue: new Uint8Array(8).fill(3), associatedData: new Uint8Array(12).fill(4) },
  );
  assert.equal(hex(tag), "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
});

Deno.test("both backends refuse malformed and out-of-bounds strings alike", async () => {
  const good = fixtures.cases[0]!;
  const bad = [
    good.phc.replace("m=19456", "m=4194304"), // 4 GiB: refused before any work
    good.phc.replace("t=2", "t=1000"),
    good.phc.replace("p=1", "p=0"),
    good.phc.replace("$v=19$", "$v=16$"),
    good.phc.replace("$argon2id$", "$argon2i$"),
    good.phc + "=",
    good.phc.slice(0, -1) + "!",
    good.phc.slice(0, good.phc.lastIndexOf("$")) + "$AAAA", // a 3-byte tag
  ];
  for (const backend of backends) {
    const hasher = createPasswordHasher({ backend });
    for (const phc of bad) {
      const started = performance.now();
      assert.equal(await hasher.verify(phc, good.password), false, `${backend.name}: ${phc}`);
      assert.ok(performance.now() - started < 50, "refused without hashing");
    }
  }
});

Deno.test("PASSWORD_HASHER: webcrypto, auto and native pick as documented", async () => {
  const broken = () => Promise.reject(new NativeArgon2Unavailable("invalid ELF header", false));
  const forbidden = () => Promise.reject(new NativeArgon2Unavailable("Requires ffi access", true));

  const chosen = await selectArgon2Backend("webcrypto", () => {
    throw new Error("webcrypto must not even try the addon");
  });
  assert.equal(chosen.backend.name, "webcrypto");
  assert.equal(describeBackend(chosen), "argon2id via Web Crypto");

  const fellBack = await selectArgon2Backend("auto", broken);
  assert.equal(fellBack.backend.name, "webcrypto");
  assert.equal(describeBackend(fellBack), "argon2id via Web Crypto, native addon not loaded");
  assert.equal(
    describeBackend(await selectArgon2Backend("auto", forbidden)),
    "argon2id via Web Crypto, native addon not permitted",
  );

  await assert.rejects(selectArgon2Backend("native", broken), NativeArgon2Unavailable);
  const fake: Argon2Backend = { ...webCryptoArgon2, name: "native" };
  const picked = await selectArgon2Backend("auto", () => Promise.resolve(fake));
  assert.equal(picked.backend, fake);
  assert.equal(describeBackend(picked), "argon2id via native @node-rs/argon2");
});

testWithAddon(`auto takes the real addon when it loads${nativeMissing}`, {
  ignore: nativeMissing !== "",
}, async () => {
  const { backend } = await selectArgon2Backend("auto");
  assert.equal(backend.name, "native");
  assert.equal(createPasswordHasher({ backend }).backend, "native");
});
