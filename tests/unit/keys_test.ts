import { keyRingResolver, verifyAccessToken } from "../../src/tokens/access_token.ts";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { join } from "node:path";
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from "jose";
import {
  asymmetricKeyRing,
  ensureKeyFile,
  hmacKeyRing,
  type KeyFile,
  type KeyRing,
  loadKeyRing,
  publicJwk,
  readKeyFile,
  writeKeyFile,
} from "../../src/crypto/keys.ts";
import { withSlowExclusiveWrites } from "../helpers/slow_writes.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

const testWithFiles = needs(READ, WRITE);

const SECRET_A = "keys-test-secret-A-0123456789-abcdefghijklmnop";
const SECRET_B = "keys-test-secret-B-0123456789-abcdefghijklmnop";
const SECRET_C = "keys-test-secret-C-0123456789-abcdefghijklmnop";
const NOW = new Date(Date.UTC(2026, 0, 1));
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const ASYMMETRIC = ["EdDSA", "ES256", "RS256"] as const;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "auth-unit-keys-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function sign(ring: KeyRing): Promise<string> {
  return await new SignJWT({ sub: "ada" })
    .setProtectedHeader({ alg: ring.signing.alg, kid: ring.signing.kid, typ: "JWT" })
    .sign(ring.signing.key);
}

async function verifiesWith(ring: KeyRing, kid: string, token: string): Promise<boolean> {
  const key = ring.verification.get(kid);
  if (!key) return false;
  try {
    await jwtVerify(token, key.key, { algorithms: [key.alg] });
    return true;
  } catch {
    return false;
  }
}

Deno.test("hmacKeyRing: kid is stable for a secret and differs across secrets", async () => {
  const a1 = await hmacKeyRing(SECRET_A, []);
  const a2 = await hmacKeyRing(SECRET_A, []);
  const b = await hmacKeyRing(SECRET_B, []);
  assert.equal(a1.signing.kid, a2.signing.kid);
  assert.notEqual(a1.signing.kid, b.signing.kid);
  assert.match(a1.signing.kid, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(a1.signing.alg, "HS256");
  assert.ok(!a1.signing.kid.includes(SECRET_A));
  assert.deepEqual(a1.jwks, { keys: [] });
});

Deno.test("hmacKeyRing: kid is HMAC-SHA256 of a fixed label under the secret, not a digest of it", async () => {
  // Review 1, N4: the kid was the RFC 7638 thumbprint, an unsalted SHA-256 of the secret.
  const bytes = new TextEncoder().encode(SECRET_A);
  const thumbprint = await calculateJwkThumbprint({
    kty: "oct",
    k: base64url.encode(bytes),
  });
  const ring = await hmacKeyRing(SECRET_A, [SECRET_B]);
  assert.notEqual(ring.signing.kid, thumbprint);
  assert.notEqual(ring.signing.kid, createHash("sha256").update(bytes).digest("base64url"));
  // Computed by node:crypto, an implementation we did not write.
  const hmacKid = (secret: string) =>
    createHmac("sha256", secret).update("auth-server/hs256-kid v1").digest("base64url");
  assert.equal(ring.signing.kid, hmacKid(SECRET_A));
  assert.ok(ring.verification.has(hmacKid(SECRET_B)), "previous secrets get theirs the same way");
});

Deno.test("hmacKeyRing: previous secrets verify but do not sign", async () => {
  const old = await hmacKeyRing(SECRET_B, []);
  const tokenFromOld = await sign(old);
  const ring = await hmacKeyRing(SECRET_A, [SECRET_B, SECRET_C]);
  assert.equal(ring.signing.kid, (await hmacKeyRing(SECRET_A, [])).signing.kid);
  // Three secrets, each under its HMAC kid and its pre-2.16 thumbprint kid (verification only).
  assert.equal(ring.verification.size, 6);
  assert.equal(new Set([...ring.verification.values()].map((k) => k.key)).size, 3);
  assert.ok(ring.verification.has(old.signing.kid));
  assert.equal(await verifiesWith(ring, old.signing.kid, tokenFromOld), true);
  const fresh = await sign(ring);
  assert.equal(await verifiesWith(ring, ring.signing.kid, fresh), true);
  // The old ring cannot verify what the new key signed: it really is a different key.
  assert.equal(await verifiesWith(old, ring.signing.kid, fresh), false);
  assert.deepEqual(ring.jwks.keys, [], "no secret is ever published");
});

Deno.test("hmacKeyRing: the secret's UTF-8 bytes are the HMAC key", async () => {
  const ring = await hmacKeyRing(SECRET_A, []);
  const token = await sign(ring);
  const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET_A));
  assert.equal(payload.sub, "ada");
});

for (const alg of ASYMMETRIC) {
  testWithFiles(`ensureKeyFile + asymmetricKeyRing: ${alg}`, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "keys.json");
      const file = await ensureKeyFile(path, alg, NOW);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, "key file mode 0600");
      assert.equal(file.version, 1);
      assert.equal(file.keys.length, 1);
      const stored = file.keys[0]!;
      assert.equal(stored.alg, alg);
      assert.equal(stored.created_at, NOW.toISOString());
      assert.deepEqual(await readKeyFile(path), file, "what is returned is what is on disk");

      const ring = await asymmetricKeyRing(file, alg);
      assert.equal(ring.signing.alg, alg);
      assert.equal(ring.signing.kid, stored.kid);
      assert.equal(ring.jwks.keys.length, 1);
      const published = ring.jwks.keys[0]!;
      assert.equal(published.kid, stored.kid);
      assert.equal(published.alg, alg);
      assert.equal(published.use, "sig");
      for (const member of PRIVATE_MEMBERS) {
        assert.ok(!(member in published), `published JWK has no "${member}"`);
      }
      assert.equal(await calculateJwkThumbprint(published), stored.kid, "kid = RFC 7638");
      // Signs with the private key; verifies with the published public key.
      const token = await sign(ring);
      assert.equal(await verifiesWith(ring, stored.kid, token), true);
      assert.equal(ring.signing.key.type, "private");
      assert.equal(ring.verification.get(stored.kid)!.key.type, "public");
      // A second call reuses the file.
      assert.deepEqual(await ensureKeyFile(path, alg, new Date(NOW.getTime() + 1000)), file);
    });
  });
}

Deno.test("asymmetricKeyRing: an ES256 key file written by hand works", async () => {
  // Independent of key generation: the ring itself handles P-256 keys.
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk(jwk));
  const file: KeyFile = {
    version: 1,
    keys: [{ kid, alg: "ES256", created_at: NOW.toISOString(), private_jwk: jwk }],
  };
  const ring = await asymmetricKeyRing(file, "ES256");
  assert.equal(ring.signing.kid, kid);
  assert.equal(await verifiesWith(ring, kid, await sign(ring)), true);
  assert.ok(!("d" in ring.jwks.keys[0]!));
});

testWithFiles("asymmetricKeyRing: no key of the algorithm is an error", async () => {
  await withTempDir(async (dir) => {
    const file = await ensureKeyFile(join(dir, "keys.json"), "EdDSA", NOW);
    await assert.rejects(() => asymmetricKeyRing(file, "RS256"), /no RS256 key/);
  });
});

Deno.test("publicJwk: strips every private member", () => {
  const stripped = publicJwk({
    kty: "RSA",
    n: "n",
    e: "AQAB",
    d: "d",
    p: "p",
    q: "q",
    dp: "dp",
    dq: "dq",
    qi: "qi",
    k: "k",
    key_ops: ["sign"],
    ext: true,
  });
  assert.deepEqual(stripped, { kty: "RSA", n: "n", e: "AQAB" });
});

testWithFiles(
  "ensureKeyFile: switching JWT_ALG adds a key of the new alg and keeps the old",
  async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "keys.json");
      const first = await ensureKeyFile(path, "EdDSA", NOW);
      const later = new Date(NOW.getTime() + 60_000);
      const second = await ensureKeyFile(path, "RS256", later);
      assert.equal(second.keys.length, 2);
      assert.deepEqual(second.keys[0], first.keys[0], "old key kept as is");
      assert.equal(second.keys[1]!.alg, "RS256");
      assert.equal(second.keys[1]!.created_at, later.toISOString());
      assert.deepEqual(await readKeyFile(path), second);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, "rewritten file mode 0600");
      const leftovers = [...Deno.readDirSync(dir)].map((e) => e.name);
      assert.deepEqual(leftovers, ["keys.json"], "no temporary file left behind");

      const oldRing = await asymmetricKeyRing(first, "EdDSA");
      const oldToken = await sign(oldRing);
      const ring = await asymmetricKeyRing(second, "RS256");
      assert.equal(ring.signing.kid, second.keys[1]!.kid);
      assert.equal(ring.signing.alg, "RS256");
      assert.equal(ring.jwks.keys.length, 2, "both public keys published");
      assert.equal(
        await verifiesWith(ring, first.keys[0]!.kid, oldToken),
        true,
        "old still verifies",
      );
      // Switching back signs with the old key again, without adding one.
      const back = await ensureKeyFile(path, "EdDSA", later);
      assert.equal(back.keys.length, 2);
      assert.equal((await asymmetricKeyRing(back, "EdDSA")).signing.kid, first.keys[0]!.kid);
    });
  },
);

testWithFiles("asymmetricKeyRing: the newest key of the algorithm signs", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "keys.json");
    const file = await ensureKeyFile(path, "EdDSA", NOW);
    const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(publicJwk(jwk));
    const rotated: KeyFile = {
      version: 1,
      keys: [...file.keys, { kid, alg: "EdDSA", created_at: NOW.toISOString(), private_jwk: jwk }],
    };
    await writeKeyFile(path, rotated);
    const ring = await asymmetricKeyRing((await readKeyFile(path))!, "EdDSA");
    assert.equal(ring.signing.kid, kid);
    assert.equal(ring.verification.size, 2);
  });
});

testWithFiles("readKeyFile: missing is undefined; foreign content is an error", async () => {
  await withTempDir(async (dir) => {
    assert.equal(await readKeyFile(join(dir, "none.json")), undefined);
    const bad = join(dir, "bad.json");
    await Deno.writeTextFile(bad, JSON.stringify({ version: 2, keys: [] }));
    await assert.rejects(() => readKeyFile(bad), /not a key file/);
    await Deno.writeTextFile(
      bad,
      JSON.stringify({ version: 1, keys: [{ kid: "x", alg: "HS256" }] }),
    );
    await assert.rejects(() => readKeyFile(bad), /not a key file/);
  });
});

testWithFiles("loadKeyRing: HS256 uses the secrets and touches no file", async () => {
  await withTempDir(async (dir) => {
    const keysPath = join(dir, "keys.json");
    const ring = await loadKeyRing({
      jwtAlg: "HS256",
      secretKey: SECRET_A,
      previousSecretKeys: [SECRET_B],
      keysPath,
    }, NOW);
    assert.equal(ring.signing.kid, (await hmacKeyRing(SECRET_A, [])).signing.kid);
    assert.equal(ring.verification.size, 4); // two secrets, each with its legacy thumbprint alias
    await assert.rejects(() => Deno.stat(keysPath), Deno.errors.NotFound);
  });
});

testWithFiles("loadKeyRing: an asymmetric alg creates the key file once", async () => {
  await withTempDir(async (dir) => {
    const config = {
      jwtAlg: "EdDSA" as const,
      secretKey: SECRET_A,
      previousSecretKeys: [],
      keysPath: join(dir, "keys.json"),
    };
    const first = await loadKeyRing(config, NOW);
    const second = await loadKeyRing(config, NOW);
    assert.equal(first.signing.kid, second.signing.kid);
    // The EdDSA key signs access tokens; an RS256 key of its own signs ID tokens.
    assert.deepEqual(first.jwks.keys.map((k) => k.alg), ["EdDSA", "RS256"]);
    assert.equal(first.idTokenSigning?.kid, second.idTokenSigning?.kid);
    assert.equal(first.idTokenSigning?.alg, "RS256");
    assert.ok(!first.verification.has(first.idTokenSigning!.kid), "no access token verifies");
  });
});

testWithFiles("ensureKeyFile: concurrent calls on a fresh path agree on one file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "keys.json");
    const results = await Promise.all(
      Array.from({ length: 6 }, () => ensureKeyFile(path, "EdDSA", NOW)),
    );
    const onDisk = await readKeyFile(path);
    assert.ok(onDisk);
    assert.equal(onDisk.keys.length, 1);
    for (const file of results) assert.deepEqual(file, onDisk);
  });
});

testWithFiles("ensureKeyFile: a reader never sees a half-written fresh key file", async () => {
  // Another instance created the file but has not finished writing it.
  await withTempDir(async (dir) => {
    const path = join(dir, "keys.json");
    await withSlowExclusiveWrites(async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 3 }, () => ensureKeyFile(path, "EdDSA", NOW)),
      );
      const errors = results.flatMap((r) => r.status === "rejected" ? [String(r.reason)] : []);
      assert.deepEqual(errors, [], "no instance fails on a half-written file");
    });
    const onDisk = await readKeyFile(path);
    assert.equal(onDisk?.keys.length, 1);
  });
});

testWithFiles("ensureKeyFile: concurrent instances adding a new alg agree on one key", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "keys.json");
    await ensureKeyFile(path, "EdDSA", NOW);
    const results = await Promise.all(
      Array.from({ length: 3 }, () => ensureKeyFile(path, "RS256", NOW)),
    );
    const onDisk = await readKeyFile(path);
    const kidOnDisk = onDisk?.keys.find((k) => k.alg === "RS256")?.kid;
    assert.ok(kidOnDisk);
    const kidsSigned = results.map((file) => file.keys.find((k) => k.alg === "RS256")?.kid);
    // Each instance signs with the key it returned: it must be the one other instances publish.
    assert.deepEqual(kidsSigned, results.map(() => kidOnDisk));
  });
});

Deno.test("hmacKeyRing: a token signed before 2.16 (thumbprint kid) still verifies until it expires", async () => {
  const bytes = new TextEncoder().encode(SECRET_A);
  const thumbprint = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(bytes) });
  const now = Date.now();
  const legacyToken = await new SignJWT({ sub: "ada", role: "user", jti: "j1", sid: "s1" })
    .setProtectedHeader({ alg: "HS256", kid: thumbprint, typ: "JWT" })
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + 60)
    .setIssuer("me")
    .sign(bytes);
  const ring = await hmacKeyRing(SECRET_A, []);
  const verify = (keys: KeyRing) =>
    verifyAccessToken(legacyToken, {
      resolveKey: keyRingResolver(() => keys),
      algorithms: ["HS256"],
      issuer: "me",
      now,
    });
  assert.equal((await verify(ring)).sub, "ada");
  assert.notEqual(ring.signing.kid, thumbprint, "no new token carries the thumbprint");
  // Under another secret the alias names nothing, so the token is refused.
  await assert.rejects(verify(await hmacKeyRing(SECRET_B, [])));
});
