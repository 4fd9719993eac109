/**
 * TOTP against code we did not write: the RFC 6238 Appendix B vectors (SHA-1 rows) and
 * `npm:otpauth` (an independent implementation authenticator apps' URIs are tested with).
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import * as OTPAuth from "npm:otpauth@^9.4.1";
import {
  base32Decode,
  base32Encode,
  hotp,
  matchTotp,
  otpauthUri,
  totp,
  totpStep,
} from "../../src/mfa/totp.ts";

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const RFC_SECRET = new TextEncoder().encode("12345678901234567890");
const RFC_VECTORS: [seconds: number, code: string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

Deno.test("TOTP: RFC 6238 Appendix B (SHA-1, 8 digits), and their 6-digit forms", () => {
  for (const [seconds, code] of RFC_VECTORS) {
    assert.equal(totp(RFC_SECRET, seconds * 1000, 8), code, `T = ${seconds}`);
    assert.equal(totp(RFC_SECRET, seconds * 1000), code.slice(2), `T = ${seconds}, 6 digits`);
  }
});

Deno.test("HOTP: RFC 4226 Appendix D, all ten counters", () => {
  const expected = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
  ];
  expected.forEach((code, counter) => assert.equal(hotp(RFC_SECRET, counter), code));
});

Deno.test("TOTP: the same codes as npm:otpauth for random secrets and times", () => {
  for (let i = 0; i < 200; i++) {
    const secret = crypto.getRandomValues(new Uint8Array(20));
    const at = Math.floor(Math.random() * 4_000_000_000_000);
    const theirs = new OTPAuth.TOTP({
      secret: OTPAuth.Secret.fromBase32(base32Encode(secret)),
      algorithm: "SHA1",
      digits: 6,
      period: 30,
    });
    assert.equal(totp(secret, at), theirs.generate({ timestamp: at }));
  }
});

Deno.test("TOTP: npm:otpauth reads our otpauth URI to the same secret and parameters", () => {
  const secret = crypto.getRandomValues(new Uint8Array(20));
  const uri = otpauthUri({ secret: base32Encode(secret), account: "ada@x", issuer: "auth.test" });
  const parsed = OTPAuth.URI.parse(uri);
  assert.ok(parsed instanceof OTPAuth.TOTP);
  assert.equal(parsed.issuer, "auth.test");
  assert.equal(parsed.label, "ada@x");
  assert.equal(parsed.algorithm, "SHA1");
  assert.equal(parsed.digits, 6);
  assert.equal(parsed.period, 30);
  assert.equal(parsed.secret.base32, base32Encode(secret));
  const at = Date.UTC(2026, 0, 1);
  assert.equal(parsed.generate({ timestamp: at }), totp(secret, at));
});

Deno.test("TOTP: one step of drift either way, never two; a used step or older never again", () => {
  const secret = crypto.getRandomValues(new Uint8Array(20));
  const now = Date.UTC(2026, 0, 1, 12, 0, 15);
  const step = totpStep(now);
  const codeAt = (s: number) => hotp(secret, s);
  assert.equal(matchTotp(secret, codeAt(step), now, -1), step);
  assert.equal(matchTotp(secret, codeAt(step - 1), now, -1), step - 1);
  assert.equal(matchTotp(secret, codeAt(step + 1), now, -1), step + 1);
  assert.equal(matchTotp(secret, codeAt(step - 2), now, -1), undefined);
  assert.equal(matchTotp(secret, codeAt(step + 2), now, -1), undefined);
  // Replay: the step itself and anything before it are spent.
  assert.equal(matchTotp(secret, codeAt(step), now, step), undefined);
  assert.equal(matchTotp(secret, codeAt(step - 1), now, step - 1), undefined);
  assert.equal(matchTotp(secret, codeAt(step), now, step - 1), step);
  // Shapes that are not six digits never match.
  for (const bad of ["", "12345", "1234567", "12345a", " 123456", "１２３４５６"]) {
    assert.equal(matchTotp(secret, bad, now, -1), undefined, JSON.stringify(bad));
  }
});

Deno.test("base32: round trips, and refuses what is not base32", () => {
  for (let n = 0; n < 40; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
    assert.equal(base32Encode(bytes), OTPAuth.Secret.fromHex(hex(bytes)).base32);
  }
  assert.equal(base32Decode("ABC1"), undefined);
  assert.equal(base32Decode("AB=C"), undefined);
});

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
