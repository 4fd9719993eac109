/**
 * Values that outlive a release: every hash the stores keep, every token or MAC a client holds
 * across an upgrade. Each expected value below was computed by version 2.22.0 (whose modules
 * hashed with `node:crypto`) from the same inputs, so a change of digest implementation
 * (issue 24: `src/crypto/digests.ts`) must give them byte for byte, or stored records, issued
 * refresh tokens, device tokens and cookies written before it stop working.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { codeHash } from "../../src/browser/authorization_codes.ts";
import { browserSessionKey } from "../../src/browser/browser_sessions.ts";
import {
  browserBinding,
  csrfToken,
  csrfTokenMatches,
  deriveCsrfKey,
} from "../../src/browser/cookies.ts";
import { verifiesS256 } from "../../src/browser/pkce.ts";
import { findRecoveryCode, recoveryCodeHash } from "../../src/mfa/recovery_codes.ts";
import { hotp } from "../../src/mfa/totp.ts";
import type { ClientRecord, ClientStore } from "../../src/oauth/client_store.ts";
import { createClientService } from "../../src/oauth/client_service.ts";
import { accessTokenHash } from "../../src/oidc/id_token.ts";
import {
  childOf,
  deriveChainKey,
  legacyChildOf,
  macVerifies,
  sidOf,
  tokenAt,
  tokenHash,
} from "../../src/tokens/refresh_token.ts";
import { createDeviceTokens } from "../../src/users/device_tokens.ts";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
/** Non-ASCII on purpose: keys and messages are hashed as UTF-8. */
const SECRET_KEY = "golden-SECRET_KEY-with-\u00e9-and-\u{1F511}-0123456789";
const FAMILY = Uint8Array.from({ length: 16 }, (_, i) => i * 17);

Deno.test("refresh tokens: chain key, tokens, children, legacy children, sid and stored hash as 2.22.0 made them", () => {
  const key = deriveChainKey(SECRET_KEY);
  assert.equal(hex(key), "d1496e07f825cfc75fdbfb75ff0922ad9e76a9b034baabecbda9cd7a28391795");
  const first = tokenAt(key, FAMILY, 0);
  assert.equal(first, "ABEiM0RVZneImaq7zN3u_xjwj79d5bzzWh7kkwAAAAA");
  assert.equal(tokenAt(key, FAMILY, 123456), "ABEiM0RVZneImaq7zN3u_2kTnCdaLpr0Or1ouwAB4kA");
  assert.equal(tokenAt(key, FAMILY, 0xffffffff), "ABEiM0RVZneImaq7zN3u_ytsMRB0GSJNwY9sW_____8");
  assert.equal(childOf(key, first), "ABEiM0RVZneImaq7zN3u_6OxZi4yG5BuuoEN7wAAAAE");
  assert.ok(macVerifies(key, "ABEiM0RVZneImaq7zN3u_2kTnCdaLpr0Or1ouwAB4kA"));
  assert.ok(!macVerifies(key, "ABEiM0RVZneImaq7zN3u_2kTnCdaLpr0Or1ouwAB4kE"), "another counter");
  assert.equal(
    legacyChildOf(key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
    "AAECAwQFBgcICQoLDA0ODzZ2ZVxDqPsvm9mLxyiZe7c",
  );
  assert.equal(sidOf(FAMILY), "1a026f61-5a26-ca14-6822-1583e20dd4ee");
  assert.equal(tokenHash(first), "RSqx09EfYHzeMWNZSE0-cCLa6j-YvkFLPzhK1VGnUeo");
});

Deno.test("browser: CSRF key and token, step binding, session key and code hash as 2.22.0 made them", () => {
  const csrfKey = deriveCsrfKey(SECRET_KEY);
  assert.equal(hex(csrfKey), "291ebd879e4fe4b1a3491e9efc3bea491d103f5ca3cc411bd2666ddfeb2ca54b");
  const token = "tcaGNJP55KndwG6L8GS_x22gpDRarQ_OQtou1iWCzgE";
  assert.equal(csrfToken(csrfKey, "csrf-cookie-value"), token);
  assert.ok(csrfTokenMatches(csrfKey, "csrf-cookie-value", token));
  assert.ok(!csrfTokenMatches(csrfKey, "csrf-cookie-value", token.slice(0, -1) + "A"));
  assert.ok(!csrfTokenMatches(csrfKey, "csrf-cookie-value", token.slice(0, -1)));
  assert.equal(browserBinding("csrf-cookie-value"), "RZchSYSRLMk9bvtdlOqul74DqI3oKbC-BlZXyBRBXE8");
  assert.equal(
    browserSessionKey("browser-cookie-value-\u00fc"),
    "2zNbHPgxkVcPKFoeU0OVwNopDUufDiGGGFCsJDRACq0",
  );
  assert.equal(codeHash("authorization-code"), "WVYUJ4163Fe7kuKPogOooY15egdoT9_3XLvyqW6_hXc");
});

Deno.test("PKCE: a challenge whose last character carries extra bits verifies as before", () => {
  // 43 base64url characters hold 258 bits: node's Buffer ignored the last 2, so must we.
  const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  assert.ok(verifiesS256("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", verifier));
  assert.ok(verifiesS256("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cP", verifier));
  assert.ok(!verifiesS256("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cQ", verifier));
});

Deno.test("second factor: recovery code hashes and an HOTP of a 32-byte secret as 2.22.0 made them", () => {
  const hash = "o45tC2K7gEMoSDp9xKRUH1Ay8e0qmZyLCWD0YwkPBcs";
  assert.equal(recoveryCodeHash("ABCD-efgh-ijkl-mn23"), hash);
  assert.equal(findRecoveryCode(["x".repeat(43), hash], "abcd efgh ijkl mn23"), 1);
  assert.equal(findRecoveryCode(["x".repeat(43), hash.slice(1)], "abcd efgh ijkl mn23"), -1);
  assert.equal(hotp(Uint8Array.from({ length: 32 }, (_, i) => 255 - i), 2 ** 40), "754458");
});

Deno.test("ID tokens: at_hash (left half of SHA-256, of SHA-512 for EdDSA) as 2.22.0 made it", () => {
  const accessToken = "eyJhbGciOiJSUzI1NiJ9.e30.sig";
  assert.equal(accessTokenHash(accessToken, "RS256"), "9oo4F9IoCxGNFXDkY-ijoA");
  assert.equal(accessTokenHash(accessToken, "ES256"), "9oo4F9IoCxGNFXDkY-ijoA");
  assert.equal(
    accessTokenHash(accessToken, "EdDSA"),
    "RGVwB86-t8y6qJam0GgrnVVW592z1cNXx0pkG3a8cEM",
  );
});

Deno.test("device tokens: a token 2.22.0 issued still checks, its password fingerprint, and no factor", () => {
  const now = 1_700_000_000_000;
  const devices = createDeviceTokens({ secret: SECRET_KEY, ttlSeconds: 3600, now: () => now });
  const token =
    "dt1.eyJ1IjoiYWRhIiwiZCI6InBBcjhfa2hIVmd3cWI0SDZVNUVOUkEiLCJlIjoxNzAwMDAzNjAwLCJwIjoiOXFtbm1KdncwNzRGdDBNZ21iSW80QSJ9.m7gKpuMcZJCVU854XIOBm3MeM-vV0QlnqgadJu0ZxpA";
  const claim = devices.check(token, "ada");
  assert.deepEqual(claim, {
    device: "pAr8_khHVgwqb4H6U5ENRA",
    fingerprint: "9qmnmJvw074Ft0MgmbIo4A",
    factors: undefined,
  });
  assert.ok("device" in claim);
  assert.ok(devices.fingerprintMatches(claim, "$argon2id$v=19$m=19456,t=2,p=1$golden"));
  assert.ok(!devices.fingerprintMatches(claim, "$argon2id$v=19$m=19456,t=2,p=1$other"));
  // Issued before tokens named a second factor: it counts for a user without one, as then, and
  // not for a user with one (it cannot show it was issued after that factor's code).
  assert.ok(devices.factorsMatch(claim, undefined));
  assert.ok(!devices.factorsMatch(claim, "totp/1699999999000"));
  const flipped = token.slice(0, -5) + (token.at(-5) === "A" ? "B" : "A") + token.slice(-4);
  assert.deepEqual(devices.check(flipped, "ada"), { problem: "invalid" });
  assert.deepEqual(devices.check(token.slice(0, -2), "ada"), { problem: "invalid" });
});

Deno.test("client secrets: a stored secret hash (SHA-256, base64url) still authenticates", async () => {
  const secret = "a client secret from before \u00e9";
  const record = {
    clientId: "golden",
    secretHash: createHash("sha256").update(secret).digest("base64url"),
  } as unknown as ClientRecord;
  const store = {
    getClient: (id: string) =>
      Promise.resolve(id === "golden" ? { value: record, versionstamp: "1" } : undefined),
  } as unknown as ClientStore;
  const clients = createClientService({
    store,
    now: () => 0,
    signAccessToken: () => Promise.reject(new Error("not used")),
  });
  assert.equal(await clients.authenticate("golden", secret), record);
  assert.equal(await clients.authenticate("golden", secret + "x"), undefined);
  assert.equal(await clients.authenticate("golden", ""), undefined);
  // A record whose hash is not 32 bytes (damaged) refuses rather than throws.
  const short = { ...record, secretHash: "AAAA" } as ClientRecord;
  const damaged = createClientService({
    store: {
      getClient: () => Promise.resolve({ value: short, versionstamp: "1" }),
    } as unknown as ClientStore,
    now: () => 0,
    signAccessToken: () => Promise.reject(new Error("not used")),
  });
  assert.equal(await damaged.authenticate("golden", secret), undefined);
});
