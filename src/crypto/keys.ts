/**
 * Signing and verification keys, imported once as WebCrypto `CryptoKey`s.
 *
 * Under HS256 the key is `SECRET_KEY` (its UTF-8 bytes, as PyJWT and jsonwebtoken use a string
 * secret), plus any `PREVIOUS_SECRET_KEYS` for verification only. Under EdDSA, ES256 and RS256
 * the private keys live in a JSON key file (`KEYS_PATH`, mode 0600); the newest key of the
 * configured algorithm signs, every key in the file verifies. An asymmetric key's `kid` is its
 * RFC 7638 thumbprint; an HS256 secret's is HMAC-SHA256 of a fixed label under the secret.
 *
 * @module
 */
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from "jose";
import { isAsymmetricAlgorithm, type SigningAlgorithm } from "../tokens/algorithms.ts";
import { createFileExclusive, replaceFile, withFileLock } from "../files.ts";

/** A key that verifies tokens of one algorithm. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly key: CryptoKey;
}

/** The key new tokens are signed with. */
export type SigningKey = VerificationKey;

/** The public half of the key set, as published at `/.well-known/jwks.json`. */
export interface PublicJwks {
  readonly keys: readonly Readonly<Record<string, string>>[];
}

/** Everything the server signs and verifies with, fixed until the next reload. */
export interface KeyRing {
  /** The key access tokens are signed with (`JWT_ALG`). */
  readonly signing: SigningKey;
  /**
   * The keys access tokens verify against, by `kid`: never an ID-token key (`keys/key_set.ts`),
   * so a token its key signed is no access token here.
   */
  readonly verification: ReadonlyMap<string, VerificationKey>;
  /**
   * The key ID tokens are signed with: under RS256 `signing`, under ES256 and EdDSA an RS256 key
   * of its own (OpenID Connect Discovery 1.0 section 3); absent under HS256 (no ID tokens).
   */
  readonly idTokenSigning?: SigningKey;
  /**
   * The keys an ID token of this server may carry, by `kid` (`id_token_hint`): every asymmetric
   * key, as access-token keys signed the ID tokens of 2.21.0 and earlier and still do under
   * RS256.
   */
  readonly idTokenVerification?: ReadonlyMap<string, VerificationKey>;
  readonly jwks: PublicJwks;
  /**
   * Why this instance cannot follow the shared key set (it cannot decrypt the key it must sign
   * with, or re-reading the set fails); it signs with an older key meanwhile and `/readyz`
   * answers 503 `keys_out_of_date`. Absent when it is up to date.
   */
  readonly outOfDate?: string;
}

/** One private key as stored in the key file. */
export interface StoredKey {
  readonly kid: string;
  readonly alg: Exclude<SigningAlgorithm, "HS256">;
  /** `id_token`: an RS256 key that signs ID tokens only (under ES256 and EdDSA); else absent. */
  readonly use?: "id_token";
  readonly created_at: string;
  readonly private_jwk: JWK;
}

/** The key file at `KEYS_PATH`. */
export interface KeyFile {
  readonly version: 1;
  readonly keys: readonly StoredKey[];
}

const HMAC_KID_LABEL = new TextEncoder().encode("auth-server/hs256-kid v1");

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/**
 * Builds the HS256 key ring from the current secret and any previous ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hmacKeyRing } from "./keys.ts";
 * const ring = await hmacKeyRing("0123456789abcdefghijklmnopqrstuvwxyz", []);
 * assert(ring.signing.alg === "HS256" && ring.jwks.keys.length === 0);
 * ```
 */
export async function hmacKeyRing(secret: string, previous: readonly string[]): Promise<KeyRing> {
  const keys = await Promise.all([secret, ...previous].map(importHmacKey));
  const signing = keys[0]!;
  const verification = new Map(keys.map((k) => [k.kid, k]));
  // Tokens signed before 2.16 carry the secret's RFC 7638 thumbprint as kid: they keep
  // verifying until they expire (verification only; no new token carries one).
  for (const [i, value] of [secret, ...previous].entries()) {
    const bytes = new TextEncoder().encode(value);
    const legacyKid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(bytes) });
    if (!verification.has(legacyKid)) verification.set(legacyKid, { ...keys[i]!, kid: legacyKid });
  }
  return { signing, verification, jwks: { keys: [] } };
}

export async function importHmacKey(secret: string): Promise<VerificationKey> {
  const bytes = new TextEncoder().encode(secret);
  const key = await crypto.subtle.importKey(
    "raw",
    bytes,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  // An HMAC of a fixed label under the secret: the same on every instance, and, unlike a digest
  // of the secret itself, no value to test guesses of the secret against without the secret.
  const kid = base64url.encode(
    new Uint8Array(await crypto.subtle.sign("HMAC", key, HMAC_KID_LABEL)),
  );
  return { kid, alg: "HS256", key };
}

/**
 * Builds a key ring from a key file: the newest access-token key of `alg` signs access tokens,
 * and ID tokens under RS256; under ES256 and EdDSA the newest ID-token key (`use: "id_token"`)
 * signs ID tokens. Access tokens verify against every key but the ID-token keys. Throws when the
 * file holds no key of `alg`.
 */
export async function asymmetricKeyRing(file: KeyFile, alg: SigningAlgorithm): Promise<KeyRing> {
  const signingEntry = [...file.keys].reverse().find((k) => k.alg === alg && !k.use);
  if (!signingEntry) throw new Error(`The key file holds no ${alg} key`);
  const imported = await Promise.all(file.keys.map(async (entry) => {
    const privateKey = await importJWK({ ...entry.private_jwk, ext: false }, entry.alg);
    const publicKey = await importJWK({ ...publicJwk(entry.private_jwk), ext: true }, entry.alg);
    return { entry, privateKey: privateKey as CryptoKey, publicKey: publicKey as CryptoKey };
  }));
  const signingKey = imported.find((k) => k.entry.kid === signingEntry.kid)!;
  const signing = { kid: signingEntry.kid, alg: signingEntry.alg, key: signingKey.privateKey };
  const isIdKey = (entry: StoredKey) => entry.use === "id_token";
  const idEntry = alg === "RS256" ? undefined : imported.findLast((k) => isIdKey(k.entry));
  const toVerification = (k: (typeof imported)[number]): [string, VerificationKey] => [
    k.entry.kid,
    { kid: k.entry.kid, alg: k.entry.alg, key: k.publicKey },
  ];
  const idTokenSigning = alg === "RS256" ? signing : idEntry && {
    kid: idEntry.entry.kid,
    alg: idEntry.entry.alg,
    key: idEntry.privateKey,
  };
  return {
    signing,
    ...(idTokenSigning ? { idTokenSigning } : {}),
    verification: new Map(imported.filter((k) => !isIdKey(k.entry)).map(toVerification)),
    idTokenVerification: new Map(imported.map(toVerification)),
    jwks: {
      keys: file.keys.map((k) => ({
        ...(publicJwk(k.private_jwk) as Record<string, string>),
        kid: k.kid,
        alg: k.alg,
        use: "sig",
        token_use: k.use ?? "access",
      })),
    },
  };
}

/** A JWK with every private member removed. */
export function publicJwk(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  delete copy.key_ops;
  delete copy.ext;
  return copy as JWK;
}

/** Generates a new private key of `alg` as a stored key entry. */
export async function generateStoredKey(
  alg: Exclude<SigningAlgorithm, "HS256">,
  now: Date,
  use?: "id_token",
): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk(jwk));
  return {
    kid,
    alg,
    ...(use ? { use } : {}),
    created_at: now.toISOString(),
    private_jwk: jwk,
  };
}

/** Reads and checks a key file; `undefined` when there is none. */
export async function readKeyFile(path: string): Promise<KeyFile | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const parsed: unknown = JSON.parse(text);
  if (!isKeyFile(parsed)) throw new Error(`${path} is not a key file this server wrote`);
  return parsed;
}

/** Writes a key file atomically (temporary file, then rename) with mode 0600. */
export async function writeKeyFile(path: string, file: KeyFile): Promise<void> {
  await replaceFile(path, serialize(file));
}

/**
 * Changes the key file under its lock: `change` gets the current file (or `undefined`) and
 * returns the new one, or `undefined` to leave it as it is. Returns the file as it is after.
 */
export async function updateKeyFile(
  path: string,
  change: (current: KeyFile | undefined) => Promise<KeyFile | undefined>,
): Promise<KeyFile | undefined> {
  return await withFileLock(path, async () => {
    const current = await readKeyFile(path);
    const next = await change(current);
    if (next === undefined) return current;
    await writeKeyFile(path, next);
    return next;
  });
}

/**
 * Loads the key file for `alg`, creating it or adding a key of `alg` when it has none. Safe when
 * several instances start together: a new file appears whole (created by link), and adding a key
 * happens under the file's lock, so all of them end up with the same keys.
 */
export async function ensureKeyFile(
  path: string,
  alg: Exclude<SigningAlgorithm, "HS256">,
  now: Date,
  use?: "id_token",
): Promise<KeyFile> {
  const has = (file: KeyFile | undefined) =>
    file?.keys.some((k) => k.alg === alg && k.use === use) ?? false;
  const existing = await readKeyFile(path);
  if (has(existing)) return existing!;
  if (!existing) {
    const created: KeyFile = { version: 1, keys: [await generateStoredKey(alg, now, use)] };
    if (await createFileExclusive(path, serialize(created))) return created;
  }
  const updated = await updateKeyFile(path, async (current) => {
    if (has(current)) return undefined;
    return {
      version: 1,
      keys: [...(current?.keys ?? []), await generateStoredKey(alg, now, use)],
    };
  });
  return updated!;
}

function serialize(file: KeyFile): string {
  return JSON.stringify(file, null, 2) + "\n";
}

function isKeyFile(value: unknown): value is KeyFile {
  if (typeof value !== "object" || value === null) return false;
  const file = value as { version?: unknown; keys?: unknown };
  return file.version === 1 && Array.isArray(file.keys) && file.keys.every((k: unknown) => {
    const key = k as Partial<StoredKey> | null;
    return typeof key?.kid === "string" && typeof key.created_at === "string" &&
      isAsymmetricAlgorithm(key.alg) && (key.use === undefined || key.use === "id_token") &&
      typeof key.private_jwk === "object" &&
      key.private_jwk !== null;
  });
}

/** What {@link loadKeyRing} needs from the configuration. */
export interface KeyConfig {
  readonly jwtAlg: SigningAlgorithm;
  readonly secretKey: string;
  readonly previousSecretKeys: readonly string[];
  readonly keysPath: string;
}

/**
 * Loads the key ring the configuration asks for; under an asymmetric algorithm, creates the key
 * file on first start. Call again to pick up a rotation (SIGHUP).
 */
export async function loadKeyRing(config: KeyConfig, now: Date = new Date()): Promise<KeyRing> {
  if (config.jwtAlg === "HS256") {
    return await hmacKeyRing(config.secretKey, config.previousSecretKeys);
  }
  let file = await ensureKeyFile(config.keysPath, config.jwtAlg, now);
  if (config.jwtAlg !== "RS256") {
    file = await ensureKeyFile(config.keysPath, "RS256", now, "id_token");
  }
  return await asymmetricKeyRing(file, config.jwtAlg);
}
