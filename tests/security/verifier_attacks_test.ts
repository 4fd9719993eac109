/**
 * Attacks on token verification: `requireAuth` mounted in a bare Hono app (with and without its
 * verified-token cache) and the server's own bearer routes (`GET /me`, `POST /logout`).
 *
 * Every forged token is built by hand (`_jws.ts`: base64url JSON + node:crypto), never by jose.
 * Each group first proves its forging is faithful: the same recipe with nothing wrong passes.
 * A refusal is always 401 JSON `{error, code: "invalid_token"}` with
 * `WWW-Authenticate: Bearer realm=..., error="invalid_token"` (no token at all: a bare
 * `Bearer realm=...` challenge and `missing_token`), never a 5xx and never a 200.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify as nodeVerify,
} from "node:crypto";
import { Hono, type MiddlewareHandler } from "hono";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import jwt from "npm:jsonwebtoken@^9.0.2";
import type { FetchImplementation } from "jose";
import {
  importHmacKey,
  requireAuth,
  type RequireAuthOptions,
} from "../../src/middleware/require_auth.ts";
import type { VerificationKey } from "../../src/crypto/keys.ts";
import { addUser, login, makeApp, TEST_SECRET, type TestApp } from "../helpers/app.ts";
import {
  b64u,
  decodePart,
  forge,
  publicJwkOf,
  seg,
  signature,
  thumbprint,
  verifyKeyFromJwk,
} from "./_jws.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

const testWithFiles = needs(READ, WRITE);

const ISSUER = "https://auth.test";
const PASSWORD = "correct horse battery";
type Claims = Record<string, unknown>;
type Send = (authorization: string | undefined) => Promise<Response>;
type Target = readonly [name: string, send: Send];
type Asymmetric = "EdDSA" | "ES256" | "RS256";

// ---------------------------------------------------------------------------------------------
// Assertions

async function readError(res: Response, label: string): Promise<{ error: string; code: string }> {
  const text = await res.text();
  assert.ok(res.status < 500, `${label}: ${res.status} ${text}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${label}: ${text}`);
  const body = JSON.parse(text);
  assert.equal(typeof body.error, "string", label);
  assert.equal(typeof body.code, "string", label);
  return body;
}

/** 401 `invalid_token` with an RFC 6750 `error="invalid_token"` challenge. */
async function assertInvalidToken(res: Response, label: string): Promise<void> {
  assert.equal(res.status, 401, `${label}: expected 401, got ${res.status}`);
  const body = await readError(res, label);
  assert.equal(body.code, "invalid_token", `${label}: ${JSON.stringify(body)}`);
  assert.match(
    res.headers.get("www-authenticate") ?? "",
    /^Bearer realm="[^"]*", error="invalid_token"/,
    label,
  );
}

/** 401 `missing_token` with a bare `Bearer realm="..."` challenge (RFC 6750 §3: no error). */
async function assertMissingToken(res: Response, label: string): Promise<void> {
  assert.equal(res.status, 401, `${label}: expected 401, got ${res.status}`);
  const body = await readError(res, label);
  assert.equal(body.code, "missing_token", `${label}: ${JSON.stringify(body)}`);
  assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="[^"]*"$/, label);
}

async function assertAccepted(res: Response, label: string, sub = "ada"): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 200, `${label}: expected 200, got ${res.status} ${text}`);
  const body = JSON.parse(text);
  assert.equal(body.sub ?? body.claims?.sub, sub, label);
}

/** RFC 6750 §2.1 `b64token`: what can follow `Bearer ` at all. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Every case refused by every target: `invalid_token`, or `missing_token` for the few forged
 * strings (unencoded JSON payloads) that are not even a bearer token's syntax.
 */
async function refuseAll(
  targets: readonly Target[],
  cases: readonly (readonly [string, string])[],
): Promise<void> {
  assert.ok(cases.length > 0 && targets.length > 0);
  for (const [name, token] of cases) {
    for (const [where, send] of targets) {
      const res = await send(`Bearer ${token}`);
      if (B64TOKEN.test(token)) await assertInvalidToken(res, `${name} -> ${where}`);
      else await assertMissingToken(res, `${name} -> ${where}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Targets

function withAuth(authorization: string | undefined): HeadersInit {
  return authorization === undefined ? {} : { Authorization: authorization };
}

/** `requireAuth` in a bare Hono app; answers the verified claims. */
function guarded(middleware: MiddlewareHandler): Send {
  const app = new Hono();
  app.use("/protected/*", middleware);
  app.get("/protected/whoami", (c) => {
    const auth = c.get("auth");
    return c.json({ sub: auth.sub, role: auth.role, sid: auth.sid ?? null });
  });
  return (authorization) =>
    Promise.resolve(app.request("/protected/whoami", { headers: withAuth(authorization) }));
}

/** The same options with and without the verified-token cache. */
function guardedTargets(options: RequireAuthOptions): Target[] {
  return [
    ["requireAuth", guarded(requireAuth(options))],
    ["requireAuth(cache)", guarded(requireAuth({ ...options, cache: true }))],
  ];
}

function serverTargets(t: TestApp): Target[] {
  return [
    ["GET /me", (a) => t.request("/me", { headers: withAuth(a) })],
    ["POST /logout", (a) => t.request("/logout", { method: "POST", headers: withAuth(a) })],
  ];
}

const me = (t: TestApp, token: string) =>
  t.request("/me", { headers: { Authorization: `Bearer ${token}` } });

// ---------------------------------------------------------------------------------------------
// Independent checks of good tokens

function verifyWithJsonwebtoken(
  token: string,
  key: string | Buffer,
  alg: "HS256" | "ES256" | "RS256",
  claims: Claims,
): Claims {
  return jwt.verify(token, key, {
    algorithms: [alg],
    issuer: ISSUER,
    clockTimestamp: Number(claims.iat) + 1,
  }) as Claims;
}

function verifyEdDsaWithNode(token: string, publicKey: KeyObject): boolean {
  const [h, p, s] = token.split(".");
  return nodeVerify(null, Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s ?? "", "base64url"));
}

function generate(alg: Asymmetric): KeyObject {
  if (alg === "EdDSA") return generateKeyPairSync("ed25519").privateKey;
  if (alg === "ES256") return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
}

async function tempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "auth-attacks-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Cases shared by every algorithm: the claims, the structure, the dangerous headers. */
function claimAndStructureCases(
  header: Claims,
  claims: Claims,
  alg: string,
  key: string | KeyObject,
  nowSeconds: number,
  attacker: { alg: Asymmetric; key: KeyObject; jwk: Record<string, string>; kid: string },
): [string, string][] {
  const sign = (h: Claims, p: Claims | string) => forge(h, p, alg, key);
  const without = (name: string) => {
    const copy = { ...claims };
    delete copy[name];
    return copy;
  };
  const good = sign(header, claims);
  const [h, p, s] = good.split(".") as [string, string, string];
  const hugePad = "A".repeat(9000);
  const unencoded = { ...header, b64: false, crit: ["b64"] };
  const unencodedInput = `${seg(unencoded)}.${JSON.stringify(claims)}`;
  return [
    // alg "none" in every case, with no signature and with a signature
    ...["none", "None", "NONE", "nOnE"].flatMap((none): [string, string][] => [
      [`alg ${none}, empty signature`, `${seg({ ...header, alg: none })}.${p}.`],
      [`alg ${none}, no kid, empty signature`, `${seg({ alg: none, typ: "JWT" })}.${p}.`],
      [
        `alg ${none}, signature of the same input`,
        `${seg({ ...header, alg: none })}.${p}.${
          signature(alg, key, `${seg({ ...header, alg: none })}.${p}`)
        }`,
      ],
      [`alg ${none}, the real token's signature`, `${seg({ ...header, alg: none })}.${p}.${s}`],
    ]),
    ["alg missing", sign({ typ: "JWT", kid: header.kid }, claims)],
    ["alg empty", sign({ ...header, alg: "" }, claims)],
    ["alg null", sign({ ...header, alg: null }, claims)],
    ["alg as an array", sign({ ...header, alg: [alg] }, claims)],
    // the payload changed under the old signature
    [
      "payload changed (role admin), old signature",
      `${h}.${seg({ ...claims, role: "admin" })}.${s}`,
    ],
    ["payload changed (sub root), old signature", `${h}.${seg({ ...claims, sub: "root" })}.${s}`],
    [
      "payload changed (exp +1y), old signature",
      `${h}.${seg({ ...claims, exp: nowSeconds + 3e7 })}.${s}`,
    ],
    ["header changed (typ), old signature", `${seg({ ...header, typ: "at+jwt" })}.${p}.${s}`],
    ["signature removed", `${h}.${p}.`],
    [
      "signature of another token",
      `${h}.${p}.${sign(header, { ...claims, jti: "other" }).split(".")[2]}`,
    ],
    ["signature bit flipped", `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`],
    // kid injection (each otherwise signed right)
    ["kid missing", sign({ alg: header.alg, typ: "JWT" }, claims)],
    ["kid empty", sign({ ...header, kid: "" }, claims)],
    ["kid path traversal", sign({ ...header, kid: "../../etc/passwd" }, claims)],
    ["kid /dev/null", sign({ ...header, kid: "/dev/null" }, claims)],
    ["kid SQL injection", sign({ ...header, kid: "' OR 1=1 --" }, claims)],
    ["kid 10 KB", sign({ ...header, kid: "k".repeat(10 * 1024) }, claims)],
    ["kid 300 chars", sign({ ...header, kid: "k".repeat(300) }, claims)],
    ["kid number", sign({ ...header, kid: 1 }, claims)],
    ["kid object", sign({ ...header, kid: { $ne: "" } }, claims)],
    ["kid array", sign({ ...header, kid: [header.kid] }, claims)],
    ["kid null", sign({ ...header, kid: null }, claims)],
    ["kid __proto__", sign({ ...header, kid: "__proto__" }, claims)],
    ["kid unknown", sign({ ...header, kid: "no-such-key" }, claims)],
    // key-locating and critical headers, on an otherwise valid token
    ["jku header", sign({ ...header, jku: "https://attacker.example/jwks.json" }, claims)],
    ["x5u header", sign({ ...header, x5u: "https://attacker.example/cert.pem" }, claims)],
    ["jwk header (attacker key), real key signs", sign({ ...header, jwk: attacker.jwk }, claims)],
    ["x5c header", sign({ ...header, x5c: [b64u("not a certificate")] }, claims)],
    ["x5t header", sign({ ...header, x5t: b64u("thumb") }, claims)],
    ["x5t#S256 header", sign({ ...header, "x5t#S256": b64u("thumb") }, claims)],
    ["crit [exp]", sign({ ...header, crit: ["exp"] }, claims)],
    ["crit [] (empty)", sign({ ...header, crit: [] }, claims)],
    ["crit [unknown-ext] with the member", sign({ ...header, crit: ["ext"], ext: 1 }, claims)],
    [
      "embedded jwk, validly self-signed by the attacker",
      forge(
        { alg: attacker.alg, typ: "JWT", kid: attacker.kid, jwk: attacker.jwk },
        claims,
        attacker.alg,
        attacker.key,
      ),
    ],
    [
      "embedded jwk, attacker-signed, real kid",
      forge(
        { alg: attacker.alg, typ: "JWT", kid: header.kid, jwk: attacker.jwk },
        claims,
        attacker.alg,
        attacker.key,
      ),
    ],
    [
      "jku to an attacker JWKS, attacker-signed",
      forge(
        { alg: attacker.alg, typ: "JWT", kid: attacker.kid, jku: "https://attacker.example/jwks" },
        claims,
        attacker.alg,
        attacker.key,
      ),
    ],
    [
      "attacker key, real kid",
      forge({ ...header, alg: attacker.alg }, claims, attacker.alg, attacker.key),
    ],
    [
      "HS256 keyed by the attacker's own secret, real kid",
      forge({ ...header, alg: "HS256" }, claims, "HS256", "attacker-secret-0123456789abcdefghij"),
    ],
    // b64: false (RFC 7797)
    ["b64:false, unencoded payload", `${unencodedInput}.${signature(alg, key, unencodedInput)}`],
    ["b64:false, detached payload", `${seg(unencoded)}..${signature(alg, key, unencodedInput)}`],
    ["b64:false, encoded payload", sign(unencoded, claims)],
    ["b64:false without crit", sign({ ...header, b64: false }, claims)],
    // typ
    ["typ missing", sign({ alg: header.alg, kid: header.kid }, claims)],
    ["typ at+jwt", sign({ ...header, typ: "at+jwt" }, claims)],
    ["typ JWE", sign({ ...header, typ: "JWE" }, claims)],
    // times
    ["expired", sign({ ...header }, { ...claims, iat: nowSeconds - 1900, exp: nowSeconds - 100 })],
    ["expired exactly now", sign(header, { ...claims, iat: nowSeconds - 1800, exp: nowSeconds })],
    ["nbf in the future", sign(header, { ...claims, nbf: nowSeconds + 600 })],
    ["nbf a string", sign(header, { ...claims, nbf: "0" })],
    ["exp missing", sign(header, without("exp"))],
    ["exp a string", sign(header, { ...claims, exp: String(nowSeconds + 600) })],
    ["exp null", sign(header, { ...claims, exp: null })],
    ["exp an object", sign(header, { ...claims, exp: { valueOf: nowSeconds + 600 } })],
    ["iat missing", sign(header, without("iat"))],
    ["iat a string", sign(header, { ...claims, iat: String(nowSeconds) })],
    // subject, role, issuer
    ["sub missing", sign(header, without("sub"))],
    ["sub empty", sign(header, { ...claims, sub: "" })],
    ["sub a number", sign(header, { ...claims, sub: 42 })],
    ["sub an array", sign(header, { ...claims, sub: ["ada"] })],
    ["role missing", sign(header, without("role"))],
    ["role an array", sign(header, { ...claims, role: ["admin"] })],
    ["role a number", sign(header, { ...claims, role: 1 })],
    ["role empty", sign(header, { ...claims, role: "" })],
    ["iss missing", sign(header, without("iss"))],
    ["iss wrong", sign(header, { ...claims, iss: "https://evil.test" })],
    ["iss with trailing slash", sign(header, { ...claims, iss: `${ISSUER}/` })],
    ["iss upper case", sign(header, { ...claims, iss: ISSUER.toUpperCase() })],
    ["iss an array", sign(header, { ...claims, iss: [ISSUER] })],
    ["jti a number", sign(header, { ...claims, jti: 7 })],
    ["sid a number", sign(header, { ...claims, sid: 7 })],
    ["payload a JSON array", sign(header, seg([claims]))],
    ["payload JSON null", sign(header, seg(null))],
    ["payload a JSON string", sign(header, seg("ada"))],
    ["payload not JSON", sign(header, b64u("sub=ada&role=admin"))],
    ["payload invalid UTF-8", sign(header, b64u(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])))],
    // structure
    ["two segments", `${h}.${p}`],
    ["one segment", h],
    ["four segments", `${good}.${s}`],
    ["five segments (JWE-shaped)", `${h}.${p}.${p}.${p}.${s}`],
    ["all segments empty", ".."],
    ["empty header", `.${p}.${s}`],
    ["empty payload", `${h}..${s}`],
    ["trailing dot", `${good}.`],
    ["padding =", `${good}=`],
    ["padded segments", `${h}==.${p}.${s}`],
    ["standard base64 (+ and /)", `${h}.${p}.${s.replaceAll("-", "+").replaceAll("_", "/")}+/`],
    ["header not base64url", `${h}~.${p}.${s}`],
    ["header not JSON", sign({ ...header }, claims).replace(/^[^.]+/, b64u("not json"))],
    ["header JSON null", `${seg(null)}.${p}.${signature(alg, key, `${seg(null)}.${p}`)}`],
    ["header JSON array", `${seg([header])}.${p}.${signature(alg, key, `${seg([header])}.${p}`)}`],
    ["header a JSON string", `${seg("JWT")}.${p}.${signature(alg, key, `${seg("JWT")}.${p}`)}`],
    ["oversized token (> 8 KiB), validly signed", sign(header, { ...claims, pad: hugePad })],
    ["oversized header (> 8 KiB), validly signed", sign({ ...header, pad: hugePad }, claims)],
    ["JWE-looking header", sign({ ...header, enc: "A256GCM", alg: "dir" }, claims)],
  ];
}

// ---------------------------------------------------------------------------------------------
// HS256 (the default)

Deno.test("HS256: forged and malformed tokens are refused by requireAuth, /me and /logout", async (t) => {
  using app = await makeApp();
  await addUser(app, "ada", PASSWORD, ["user", "admin"]);
  const issued = await login(app, "ada", PASSWORD);
  const header = decodePart(issued.token, 0);
  const claims = decodePart(issued.token, 1);
  const secretKey = await importHmacKey(TEST_SECRET);
  const nowSeconds = Math.floor(app.clock.now() / 1000);
  const guardedOnes = guardedTargets({ issuer: ISSUER, key: secretKey, now: app.clock.now });
  const targets = [...guardedOnes, ...serverTargets(app)];
  const attackerKey = generate("EdDSA");
  const attackerJwk = publicJwkOf(attackerKey);
  const attacker = {
    alg: "EdDSA" as const,
    key: attackerKey,
    jwk: attackerJwk,
    kid: await thumbprint(attackerJwk),
  };

  await t.step("the issued token is what the contract says, checked by jsonwebtoken", () => {
    assert.deepEqual(Object.keys(header).sort(), ["alg", "kid", "typ"]);
    assert.equal(header.alg, "HS256");
    assert.equal(header.typ, "JWT");
    assert.equal(header.kid, secretKey.kid);
    const verified = verifyWithJsonwebtoken(issued.token, TEST_SECRET, "HS256", claims);
    assert.equal(verified.sub, "ada");
    assert.equal(verified.role, "user");
    assert.equal(Number(verified.exp) - Number(verified.iat), 1800);
    assert.equal(typeof verified.jti, "string");
    assert.equal(typeof verified.sid, "string");
    assert.throws(() =>
      verifyWithJsonwebtoken(issued.token, "another-secret-0123456789abcdefghij", "HS256", claims)
    );
  });

  await t.step(
    "control: a hand-signed token with nothing wrong is accepted everywhere",
    async () => {
      const control = forge(header, claims, "HS256", TEST_SECRET);
      for (const [where, send] of guardedOnes) {
        await assertAccepted(await send(`Bearer ${control}`), where);
      }
      await assertAccepted(await me(app, control), "GET /me");
      await assertAccepted(await me(app, issued.token), "GET /me (issued)");
    },
  );

  await t.step("HMAC-specific forgeries", async () => {
    await refuseAll(targets, [
      [
        "HS384 with the right secret",
        forge({ ...header, alg: "HS384" }, claims, "HS384", TEST_SECRET),
      ],
      [
        "HS512 with the right secret",
        forge({ ...header, alg: "HS512" }, claims, "HS512", TEST_SECRET),
      ],
      [
        "HS256 with a wrong secret",
        forge(header, claims, "HS256", "wrong-secret-0123456789-abcdefghijklmnop"),
      ],
      ["HS256 with an empty secret", forge(header, claims, "HS256", new Uint8Array(0))],
      ["HS256 keyed by the kid", forge(header, claims, "HS256", String(header.kid))],
      ["HS256 with the secret's prefix", forge(header, claims, "HS256", TEST_SECRET.slice(0, 32))],
      [
        "HS256, kid of an unconfigured secret, signed with it",
        forge(
          { ...header, kid: (await importHmacKey("old-secret-0123456789-abcdefghijklmnop")).kid },
          claims,
          "HS256",
          "old-secret-0123456789-abcdefghijklmnop",
        ),
      ],
      [
        "EdDSA with the attacker's key, kid of the HMAC key",
        forge({ ...header, alg: "EdDSA" }, claims, "EdDSA", attackerKey),
      ],
    ]);
  });

  await t.step("claims, structure, kid and header attacks", async () => {
    await refuseAll(
      targets,
      claimAndStructureCases(header, claims, "HS256", TEST_SECRET, nowSeconds, attacker),
    );
  });

  await t.step("server only: the session is part of the token's validity", async () => {
    const noSid = { ...claims };
    delete noSid.sid;
    await refuseAll(serverTargets(app), [
      ["sid missing", forge(header, noSid, "HS256", TEST_SECRET)],
      ["sid unknown", forge(header, { ...claims, sid: crypto.randomUUID() }, "HS256", TEST_SECRET)],
      ["sid empty", forge(header, { ...claims, sid: "" }, "HS256", TEST_SECRET)],
      ["sub of an unknown user", forge(header, { ...claims, sub: "nobody" }, "HS256", TEST_SECRET)],
    ]);
  });

  await t.step("Authorization header variations", async () => {
    const forged = forge(header, claims, "HS256", "wrong-secret-0123456789-abcdefghijklmnop");
    for (const [where, send] of targets) {
      // A token is present but bad: invalid_token.
      for (const value of [`bearer ${forged}`, `BEARER ${forged}`, `Bearer   ${forged}   `]) {
        await assertInvalidToken(await send(value), `${JSON.stringify(value)} -> ${where}`);
      }
      // No bearer token at all, or not in RFC 6750 form: missing_token, even with a good token.
      const notBearer = [
        undefined,
        "",
        "Bearer",
        "Bearer ",
        `Bearer\t${issued.token}`,
        `Bearer ${issued.token} extra`,
        `Bearer ${issued.token},Bearer ${issued.token}`,
        `Bearer${issued.token}`,
        `Bearer "${issued.token}"`,
        `Bearer <${issued.token}>`,
        `Basic ${b64u("ada:" + PASSWORD)}`,
        `Basic ${issued.token}`,
        `Token ${issued.token}`,
        `JWT ${issued.token}`,
        `Digest ${issued.token}`,
        issued.token,
        `${issued.token} Bearer`,
      ];
      for (const value of notBearer) {
        await assertMissingToken(await send(value), `${JSON.stringify(value)} -> ${where}`);
      }
    }
    // Tokens anywhere but the Authorization header are not looked at.
    for (const path of [`/me?access_token=${issued.token}`, `/me?token=${issued.token}`]) {
      await assertMissingToken(await app.request(path), path);
    }
    await assertMissingToken(
      await app.request("/me", { headers: { Cookie: `token=${issued.token}` } }),
      "cookie",
    );
    await assertMissingToken(
      await app.request("/me", { headers: { "X-Access-Token": issued.token } }),
      "X-Access-Token",
    );
    // RFC 7235 §2.1: the scheme is case-insensitive, so a lower-case scheme with a good token is
    // accepted (documented, not an attack).
    await assertAccepted(
      await app.request("/me", { headers: { Authorization: `bearer ${issued.token}` } }),
      "lower-case scheme",
    );
  });

  await t.step("no forged token ended the session (POST /logout refused them all)", async () => {
    await assertAccepted(await me(app, issued.token), "GET /me after the attacks");
  });

  await t.step("expiry by the clock: valid at exp - 1s, refused at exp", async () => {
    const cached = guardedOnes[1]![1];
    app.clock.advance(1799);
    await assertAccepted(await me(app, issued.token), "at exp - 1s");
    await assertAccepted(await cached(`Bearer ${issued.token}`), "cached, at exp - 1s");
    app.clock.advance(1);
    for (const [where, send] of targets) {
      await assertInvalidToken(await send(`Bearer ${issued.token}`), `at exp -> ${where}`);
    }
    app.clock.advance(3600);
    await assertInvalidToken(await me(app, issued.token), "an hour past exp");
  });
});

Deno.test("AUDIENCE set: wrong or missing aud is refused", async () => {
  using app = await makeApp({ AUDIENCE: "orders-api" });
  await addUser(app, "ada", PASSWORD);
  const issued = await login(app, "ada", PASSWORD);
  const header = decodePart(issued.token, 0);
  const claims = decodePart(issued.token, 1);
  assert.equal(claims.aud, "orders-api");
  const key = await importHmacKey(TEST_SECRET);
  const guardedOnes = guardedTargets({
    issuer: ISSUER,
    audience: "orders-api",
    key,
    now: app.clock.now,
  });
  const targets = [...guardedOnes, ...serverTargets(app)];
  const sign = (payload: Claims) => forge(header, payload, "HS256", TEST_SECRET);

  for (const [where, send] of guardedOnes) {
    await assertAccepted(await send(`Bearer ${sign(claims)}`), `control -> ${where}`);
  }
  await assertAccepted(await me(app, sign(claims)), "control -> GET /me");
  const noAud = { ...claims };
  delete noAud.aud;
  await refuseAll(targets, [
    ["aud missing", sign(noAud)],
    ["aud wrong", sign({ ...claims, aud: "billing-api" })],
    ["aud wrong array", sign({ ...claims, aud: ["billing-api"] })],
    ["aud empty array", sign({ ...claims, aud: [] })],
    ["aud empty", sign({ ...claims, aud: "" })],
    ["aud differs in case", sign({ ...claims, aud: "Orders-API" })],
    ["aud a number", sign({ ...claims, aud: 1 })],
    ["aud a prefix", sign({ ...claims, aud: "orders" })],
  ]);
  // And a service that expects an audience refuses the audience-less tokens of another issuer
  // configuration.
  using plain = await makeApp();
  await addUser(plain, "ada", PASSWORD);
  const plainToken = (await login(plain, "ada", PASSWORD)).token;
  assert.equal(decodePart(plainToken, 1).aud, undefined);
  await refuseAll(guardedOnes, [["token without aud from an AUDIENCE-less server", plainToken]]);
});

// ---------------------------------------------------------------------------------------------
// Asymmetric algorithms: key confusion and friends

const NEXT_ALG: Readonly<Record<Asymmetric, Asymmetric>> = {
  EdDSA: "ES256",
  ES256: "RS256",
  RS256: "EdDSA",
};

for (const alg of ["EdDSA", "ES256", "RS256"] as const) {
  testWithFiles(`${alg}: key confusion, attacker keys and the key ring`, async (t) => {
    await tempDir(async (dir) => {
      using app = await makeApp({ JWT_ALG: alg }, dir);
      await addUser(app, "ada", PASSWORD, ["user", "admin"]);
      const issued = await login(app, "ada", PASSWORD);
      const header = decodePart(issued.token, 0);
      const claims = decodePart(issued.token, 1);
      const kid = String(header.kid);
      const nowSeconds = Math.floor(app.clock.now() / 1000);

      const jwksRes = await app.request("/.well-known/jwks.json");
      assert.equal(jwksRes.status, 200);
      const jwks = (await jwksRes.json()) as { keys: Record<string, string>[] };
      const published = jwks.keys.find((k) => k.kid === kid);
      assert.ok(published, "the signing key is published");
      const stored = JSON.parse(await Deno.readTextFile(`${dir}/keys.json`)) as {
        keys: { kid: string; private_jwk: Record<string, string> }[];
      };
      const privateJwk = stored.keys.find((k) => k.kid === kid)?.private_jwk;
      assert.ok(privateJwk);
      const realKey = createPrivateKey({ key: privateJwk, format: "jwk" });
      const publicKey = createPublicKey({ key: published, format: "jwk" });
      const pem = String(publicKey.export({ type: "spki", format: "pem" }));
      const der = publicKey.export({ type: "spki", format: "der" });
      const minimalJwk = publicJwkOf(realKey);

      const guardedOnes = guardedTargets({
        issuer: ISSUER,
        key: { kid, alg, key: await verifyKeyFromJwk(alg, published) },
        now: app.clock.now,
      });
      const targets = [...guardedOnes, ...serverTargets(app)];
      const otherAlg = NEXT_ALG[alg];
      const attackerKey = generate(alg);
      const attackerJwk = publicJwkOf(attackerKey);
      const attacker = {
        alg,
        key: attackerKey,
        jwk: attackerJwk,
        kid: await thumbprint(attackerJwk),
      };

      await t.step("JWKS: public members only, kid is the RFC 7638 thumbprint", async () => {
        for (const k of jwks.keys) {
          for (const secret of ["d", "p", "q", "dp", "dq", "qi", "k", "oth"]) {
            assert.ok(!(secret in k), `JWKS leaks ${secret}`);
          }
          assert.equal(k.use, "sig");
        }
        assert.equal(published.alg, alg);
        assert.equal(await thumbprint(published), kid);
      });

      await t.step("the issued token verifies with an independent implementation", () => {
        assert.equal(header.alg, alg);
        assert.equal(header.typ, "JWT");
        if (alg === "EdDSA") {
          assert.ok(verifyEdDsaWithNode(issued.token, publicKey));
          assert.ok(!verifyEdDsaWithNode(issued.token, createPublicKey(attackerKey)));
        } else {
          const verified = verifyWithJsonwebtoken(issued.token, pem, alg, claims);
          assert.equal(verified.sub, "ada");
          assert.throws(() =>
            verifyWithJsonwebtoken(
              issued.token,
              String(createPublicKey(attackerKey).export({ type: "spki", format: "pem" })),
              alg,
              claims,
            )
          );
        }
      });

      await t.step("control: hand-signed with the real private key, accepted", async () => {
        const control = forge(header, claims, alg, realKey);
        for (const [where, send] of guardedOnes) {
          await assertAccepted(await send(`Bearer ${control}`), where);
        }
        await assertAccepted(await me(app, control), "GET /me");
      });

      await t.step("HS256/384/512 keyed by the public key (alg confusion), real kid", async () => {
        const publicForms: [string, string | Uint8Array][] = [
          ["the JWKS entry as served", JSON.stringify(published)],
          ["the minimal public JWK", JSON.stringify(minimalJwk)],
          ["the PEM SPKI", pem],
          ["the PEM SPKI, trimmed", pem.trim()],
          ["the DER SPKI", new Uint8Array(der)],
          ["the x member", published.x ?? published.n ?? ""],
        ];
        if (alg === "RS256") {
          publicForms.push([
            "the PKCS#1 PEM",
            String(publicKey.export({ type: "pkcs1", format: "pem" })),
          ]);
        }
        if (alg === "EdDSA") {
          publicForms.push(["the raw 32-byte key", Buffer.from(published.x ?? "", "base64url")]);
        }
        const cases: [string, string][] = [];
        for (const [form, bytes] of publicForms) {
          cases.push([
            `HS256 keyed by ${form}`,
            forge({ ...header, alg: "HS256" }, claims, "HS256", bytes),
          ]);
          cases.push([
            `HS256 keyed by ${form}, no kid`,
            forge({ alg: "HS256", typ: "JWT" }, claims, "HS256", bytes),
          ]);
        }
        cases.push([
          "HS384 keyed by the PEM",
          forge({ ...header, alg: "HS384" }, claims, "HS384", pem),
        ]);
        cases.push([
          "HS512 keyed by the PEM",
          forge({ ...header, alg: "HS512" }, claims, "HS512", pem),
        ]);
        cases.push([
          "HS256 keyed by the server's SECRET_KEY",
          forge({ ...header, alg: "HS256" }, claims, "HS256", TEST_SECRET),
        ]);
        await refuseAll(targets, cases);
      });

      await t.step(
        "other algorithms with the real key, and algorithm-specific forgeries",
        async () => {
          const cases: [string, string][] = [];
          if (alg === "EdDSA") {
            cases.push([
              "alg Ed25519 (fully specified), real key",
              forge({ ...header, alg: "Ed25519" }, claims, "Ed25519", realKey),
            ]);
          }
          if (alg === "ES256") {
            const input = `${seg(header)}.${seg(claims)}`;
            cases.push(["psychic signature (r = s = 0)", `${input}.${b64u(new Uint8Array(64))}`]);
            cases.push([
              "DER-encoded ECDSA signature",
              `${input}.${signature("ES256-DER", realKey, input)}`,
            ]);
            cases.push([
              "alg ES384, real key",
              forge({ ...header, alg: "ES384" }, claims, "ES256", realKey),
            ]);
          }
          if (alg === "RS256") {
            cases.push([
              "alg PS256, real key",
              forge({ ...header, alg: "PS256" }, claims, "PS256", realKey),
            ]);
            cases.push([
              "alg RS512, real key",
              forge({ ...header, alg: "RS512" }, claims, "RS512", realKey),
            ]);
            cases.push([
              "RS512 signature under alg RS256",
              `${seg(header)}.${seg(claims)}.${
                signature("RS512", realKey, `${seg(header)}.${seg(claims)}`)
              }`,
            ]);
          }
          const other = generate(otherAlg);
          cases.push([
            `alg ${otherAlg}, attacker key, real kid`,
            forge({ ...header, alg: otherAlg }, claims, otherAlg, other),
          ]);
          await refuseAll(targets, cases);
        },
      );

      await t.step("claims, structure, kid and header attacks", async () => {
        await refuseAll(
          targets,
          claimAndStructureCases(header, claims, alg, realKey, nowSeconds, attacker),
        );
        await assertAccepted(await me(app, issued.token), "GET /me after the attacks");
      });

      await t.step(`a second algorithm in the key file: kid of a key of another alg`, async () => {
        using second = await makeApp({ JWT_ALG: otherAlg }, dir);
        const ring = second.keys();
        assert.equal(ring.verification.size, 2);
        assert.equal(ring.signing.alg, otherAlg);
        const otherKid = ring.signing.kid;
        const otherPrivate = JSON.parse(await Deno.readTextFile(`${dir}/keys.json`)).keys
          .find((k: { kid: string }) => k.kid === otherKid).private_jwk;
        const otherKey = createPrivateKey({ key: otherPrivate, format: "jwk" });
        const ringTargets = guardedTargets({
          issuer: ISSUER,
          keyRing: second.keys,
          now: app.clock.now,
        });
        // Tokens signed before the new key was added still verify; the new key's own too.
        for (const [where, send] of ringTargets) {
          await assertAccepted(
            await send(`Bearer ${issued.token}`),
            `old ${alg} token -> ${where}`,
          );
          const fresh = forge(
            { alg: otherAlg, typ: "JWT", kid: otherKid },
            claims,
            otherAlg,
            otherKey,
          );
          await assertAccepted(await send(`Bearer ${fresh}`), `new ${otherAlg} token -> ${where}`);
        }
        await refuseAll(ringTargets, [
          [
            `alg ${otherAlg} + kid of the ${alg} key, signed by the real ${otherAlg} key`,
            forge({ alg: otherAlg, typ: "JWT", kid }, claims, otherAlg, otherKey),
          ],
          [
            `alg ${alg} + kid of the ${otherAlg} key, signed by the real ${alg} key`,
            forge({ alg, typ: "JWT", kid: otherKid }, claims, alg, realKey),
          ],
          [
            `alg HS256 + kid of the ${otherAlg} key, keyed by its PEM`,
            forge(
              { alg: "HS256", typ: "JWT", kid: otherKid },
              claims,
              "HS256",
              String(createPublicKey(otherKey).export({ type: "spki", format: "pem" })),
            ),
          ],
        ]);

        // Retire the first key: its kid leaves the ring and its tokens are refused.
        const file = JSON.parse(await Deno.readTextFile(`${dir}/keys.json`));
        file.keys = file.keys.filter((k: { kid: string }) => k.kid !== kid);
        await Deno.writeTextFile(`${dir}/keys.json`, JSON.stringify(file));
        using third = await makeApp({ JWT_ALG: otherAlg }, dir);
        assert.ok(!third.keys().verification.has(kid));
        const retired = guardedTargets({ issuer: ISSUER, keyRing: third.keys, now: app.clock.now });
        await refuseAll(retired, [[`token of the retired ${alg} key`, issued.token]]);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Roles, revocation, rotation

Deno.test("roles: a role-gated requireAuth answers 403 insufficient_scope", async () => {
  const key = await importHmacKey(TEST_SECRET);
  const now = () => Date.UTC(2026, 0, 1);
  const iat = now() / 1000;
  const token = (role: unknown) =>
    forge(
      { alg: "HS256", typ: "JWT", kid: key.kid },
      { sub: "ada", role, iat, exp: iat + 600, iss: ISSUER, jti: "j", sid: "s" },
      "HS256",
      TEST_SECRET,
    );
  for (const cache of [false, true]) {
    const send = guarded(requireAuth({ issuer: ISSUER, key, roles: ["admin"], now, cache }));
    for (const role of ["user", "Admin", "admin ", "administrator"]) {
      const res = await send(`Bearer ${token(role)}`);
      assert.equal(res.status, 403, role);
      const body = await readError(res, role);
      assert.equal(body.code, "insufficient_role");
      assert.match(
        res.headers.get("www-authenticate") ?? "",
        /^Bearer realm="[^"]*", error="insufficient_scope"/,
      );
    }
    // A bad token on a gated route is still a 401, not a 403.
    await assertInvalidToken(await send(`Bearer ${token(["admin"])}`), "role array");
    await assertMissingToken(await send(undefined), "no token");
    await assertAccepted(await send(`Bearer ${token("admin")}`), "admin");
  }
});

Deno.test("revocation: a token of a logged-out session is refused", async () => {
  using app = await makeApp();
  await addUser(app, "ada", PASSWORD);
  const first = await login(app, "ada", PASSWORD);
  const second = await login(app, "ada", PASSWORD);
  await assertAccepted(await me(app, first.token), "before logout");
  const out = await app.request("/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${first.token}` },
  });
  assert.equal(out.status, 204);
  await assertInvalidToken(await me(app, first.token), "GET /me after logout");
  const again = await app.request("/logout", {
    method: "POST",
    headers: { Authorization: `Bearer ${first.token}` },
  });
  await assertInvalidToken(again, "POST /logout after logout");
  const refreshed = await app.post("/refresh", { refresh_token: first.refresh_token });
  assert.equal(refreshed.status, 401, "the session's refresh token is dead too");
  await assertAccepted(await me(app, second.token), "another session is untouched");

  // The cache never outlives revocation: isActive runs on every request.
  let active = true;
  const send = guarded(requireAuth({
    issuer: ISSUER,
    key: await importHmacKey(TEST_SECRET),
    now: app.clock.now,
    cache: true,
    isActive: () => active,
  }));
  await assertAccepted(await send(`Bearer ${second.token}`), "cached, active");
  active = false;
  await assertInvalidToken(await send(`Bearer ${second.token}`), "cached, revoked");
});

Deno.test("rotation: old tokens verify while their kid is in the ring, not after", async () => {
  const OLD = "old-secret-0123456789-abcdefghijklmnopqrst";
  const NEW = "new-secret-0123456789-abcdefghijklmnopqrst";
  const oldKey = await importHmacKey(OLD);
  const newKey = await importHmacKey(NEW);
  assert.notEqual(oldKey.kid, newKey.kid);
  const now = () => Date.UTC(2026, 0, 1);
  const iat = now() / 1000;
  const claims = { sub: "ada", role: "user", iat, exp: iat + 600, iss: ISSUER, jti: "j" };
  const oldToken = forge({ alg: "HS256", typ: "JWT", kid: oldKey.kid }, claims, "HS256", OLD);
  const newToken = forge({ alg: "HS256", typ: "JWT", kid: newKey.kid }, claims, "HS256", NEW);

  const both = guardedTargets({ issuer: ISSUER, key: [newKey, oldKey], now });
  for (const [where, send] of both) {
    await assertAccepted(await send(`Bearer ${oldToken}`), `old token, both keys -> ${where}`);
    await assertAccepted(await send(`Bearer ${newToken}`), `new token, both keys -> ${where}`);
  }
  const onlyNew = guardedTargets({ issuer: ISSUER, key: [newKey], now });
  await refuseAll(onlyNew, [
    ["old token after its key left the ring", oldToken],
    [
      "old token relabelled with the new kid",
      forge({ alg: "HS256", typ: "JWT", kid: newKey.kid }, claims, "HS256", OLD),
    ],
  ]);

  // The same through the server's configuration: PREVIOUS_SECRET_KEYS keeps the old kid.
  using before = await makeApp({ SECRET_KEY: OLD });
  await addUser(before, "ada", PASSWORD);
  const issued = (await login(before, "ada", PASSWORD)).token;
  assert.equal(decodePart(issued, 0).kid, oldKey.kid);
  using rotated = await makeApp({ SECRET_KEY: NEW, PREVIOUS_SECRET_KEYS: OLD });
  using dropped = await makeApp({ SECRET_KEY: NEW });
  assert.equal(rotated.keys().signing.kid, newKey.kid);
  for (
    const [where, send] of guardedTargets({
      issuer: ISSUER,
      keyRing: rotated.keys,
      now: before.clock.now,
    })
  ) {
    await assertAccepted(await send(`Bearer ${issued}`), `PREVIOUS_SECRET_KEYS -> ${where}`);
  }
  await refuseAll(
    guardedTargets({ issuer: ISSUER, keyRing: dropped.keys, now: before.clock.now }),
    [["token of a secret no longer configured", issued]],
  );

  // A mixed list: each kid only verifies its own algorithm.
  const edKey = generate("EdDSA");
  const edJwk = publicJwkOf(edKey);
  const edVerification: VerificationKey = {
    kid: await thumbprint(edJwk),
    alg: "EdDSA",
    key: await verifyKeyFromJwk("EdDSA", edJwk),
  };
  const mixed = guardedTargets({ issuer: ISSUER, key: [newKey, edVerification], now });
  const edToken = forge(
    { alg: "EdDSA", typ: "JWT", kid: edVerification.kid },
    claims,
    "EdDSA",
    edKey,
  );
  for (const [where, send] of mixed) {
    await assertAccepted(await send(`Bearer ${edToken}`), `EdDSA in a mixed list -> ${where}`);
    await assertAccepted(await send(`Bearer ${newToken}`), `HS256 in a mixed list -> ${where}`);
  }
  await refuseAll(mixed, [
    [
      "HS256 + kid of the EdDSA key, keyed by its JWK",
      forge(
        { alg: "HS256", typ: "JWT", kid: edVerification.kid },
        claims,
        "HS256",
        JSON.stringify(edJwk),
      ),
    ],
    [
      "HS256 + kid of the EdDSA key, right HMAC secret",
      forge({ alg: "HS256", typ: "JWT", kid: edVerification.kid }, claims, "HS256", NEW),
    ],
    [
      "EdDSA + kid of the HMAC key, real EdDSA key",
      forge({ alg: "EdDSA", typ: "JWT", kid: newKey.kid }, claims, "EdDSA", edKey),
    ],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Remote JWKS

interface JwksServer {
  fetch: FetchImplementation;
  calls: number;
  keys: Record<string, string>[];
  mode: "ok" | "500" | "throw" | "not-json";
}

function jwksServer(keys: Record<string, string>[]): JwksServer {
  const server: JwksServer = {
    calls: 0,
    keys,
    mode: "ok",
    fetch: (url) => {
      server.calls++;
      assert.equal(url, "https://auth.test/.well-known/jwks.json");
      if (server.mode === "throw") return Promise.reject(new TypeError("connection refused"));
      if (server.mode === "500") return Promise.resolve(new Response("oops", { status: 500 }));
      const body = server.mode === "not-json" ? "<html>" : JSON.stringify({ keys: server.keys });
      return Promise.resolve(
        new Response(body, { status: 200, headers: { "content-type": "application/json" } }),
      );
    },
  };
  return server;
}

Deno.test("remote JWKS: EdDSA, ES256, RS256 pass; unknown kids refetch at most once per cooldown", async (t) => {
  const JWKS_URL = "https://auth.test/.well-known/jwks.json";
  const now = () => Date.UTC(2026, 0, 1);
  const iat = now() / 1000;
  const claims = { sub: "ada", role: "user", iat, exp: iat + 600, iss: ISSUER, jti: "j" };
  const keys = {} as Record<Asymmetric, { key: KeyObject; jwk: Record<string, string> }>;
  for (const alg of ["EdDSA", "ES256", "RS256"] as const) {
    const key = generate(alg);
    keys[alg] = { key, jwk: { ...publicJwkOf(key), kid: `${alg}-1`, alg, use: "sig" } };
  }
  const token = (alg: Asymmetric, kid = `${alg}-1`, key = keys[alg].key) =>
    forge({ alg, typ: "JWT", kid }, claims, alg, key);
  const published = Object.values(keys).map((k) => k.jwk);

  await t.step("valid tokens of each algorithm pass, with one fetch", async () => {
    const server = jwksServer(published);
    const send = guarded(
      requireAuth({ issuer: ISSUER, jwksUrl: JWKS_URL, jwks: { fetch: server.fetch }, now }),
    );
    for (const alg of ["EdDSA", "ES256", "RS256"] as const) {
      await assertAccepted(await send(`Bearer ${token(alg)}`), alg);
      await assertAccepted(await send(`Bearer ${token(alg)}`), `${alg} again`);
    }
    assert.equal(server.calls, 1);
  });

  await t.step("attacks against a JWKS verifier", async () => {
    const server = jwksServer([...published, {
      kty: "oct",
      k: b64u("published-secret"),
      kid: "oct-1",
      alg: "HS256",
    }]);
    const targets: Target[] = [
      [
        "jwks",
        guarded(
          requireAuth({ issuer: ISSUER, jwksUrl: JWKS_URL, jwks: { fetch: server.fetch }, now }),
        ),
      ],
      [
        "jwks(cache)",
        guarded(
          requireAuth({
            issuer: ISSUER,
            jwksUrl: JWKS_URL,
            jwks: { fetch: server.fetch },
            now,
            cache: true,
          }),
        ),
      ],
    ];
    const other = generate("EdDSA");
    await refuseAll(targets, [
      [
        "HS256 keyed by a published JWK",
        forge(
          { alg: "HS256", typ: "JWT", kid: "EdDSA-1" },
          claims,
          "HS256",
          JSON.stringify(keys.EdDSA.jwk),
        ),
      ],
      [
        "HS256 with a published oct key",
        forge({ alg: "HS256", typ: "JWT", kid: "oct-1" }, claims, "HS256", "published-secret"),
      ],
      ["ES256 + kid of the EdDSA key", token("ES256", "EdDSA-1")],
      ["RS256 + kid of the ES256 key", token("RS256", "ES256-1")],
      ["attacker EdDSA key, real kid", token("EdDSA", "EdDSA-1", other)],
      ["alg none", `${seg({ alg: "none", typ: "JWT", kid: "EdDSA-1" })}.${seg(claims)}.`],
      [
        "jwk header, self-signed",
        forge(
          { alg: "EdDSA", typ: "JWT", kid: "EdDSA-1", jwk: publicJwkOf(other) },
          claims,
          "EdDSA",
          other,
        ),
      ],
      [
        "jku header, self-signed",
        forge(
          { alg: "EdDSA", typ: "JWT", kid: "EdDSA-1", jku: "https://attacker.example/jwks" },
          claims,
          "EdDSA",
          other,
        ),
      ],
      [
        "expired",
        forge(
          { alg: "EdDSA", typ: "JWT", kid: "EdDSA-1" },
          { ...claims, exp: iat - 1 },
          "EdDSA",
          keys.EdDSA.key,
        ),
      ],
      [
        "wrong issuer",
        forge(
          { alg: "EdDSA", typ: "JWT", kid: "EdDSA-1" },
          { ...claims, iss: "https://evil.test" },
          "EdDSA",
          keys.EdDSA.key,
        ),
      ],
    ]);
  });

  await t.step("an unknown kid refetches at most once per cooldown window", async () => {
    const server = jwksServer([keys.EdDSA.jwk]);
    const send = guarded(
      requireAuth({
        issuer: ISSUER,
        jwksUrl: JWKS_URL,
        jwks: { fetch: server.fetch, cooldown: 60_000 },
        now,
      }),
    );
    await assertAccepted(await send(`Bearer ${token("EdDSA")}`), "known kid");
    assert.equal(server.calls, 1);
    for (let i = 0; i < 20; i++) {
      await assertInvalidToken(
        await send(`Bearer ${token("EdDSA", `unknown-${i}`)}`),
        `unknown ${i}`,
      );
    }
    await Promise.all(
      Array.from(
        { length: 20 },
        async (_, i) =>
          await assertInvalidToken(
            await send(`Bearer ${token("EdDSA", `parallel-${i}`)}`),
            `parallel ${i}`,
          ),
      ),
    );
    assert.ok(server.calls <= 2, `${server.calls} fetches for 40 unknown kids in one window`);
    await assertAccepted(await send(`Bearer ${token("EdDSA")}`), "known kid still passes");
  });

  await t.step("with no cooldown a key published later is picked up by the refetch", async () => {
    const server = jwksServer([keys.EdDSA.jwk]);
    const send = guarded(
      requireAuth({
        issuer: ISSUER,
        jwksUrl: JWKS_URL,
        jwks: { fetch: server.fetch, cooldown: 0 },
        now,
      }),
    );
    await assertAccepted(await send(`Bearer ${token("EdDSA")}`), "first key");
    await assertInvalidToken(await send(`Bearer ${token("ES256")}`), "not yet published");
    assert.equal(server.calls, 2, "the unknown kid refetched once");
    server.keys = [keys.EdDSA.jwk, keys.ES256.jwk];
    await assertAccepted(await send(`Bearer ${token("ES256")}`), "published now");
    assert.equal(server.calls, 3);
    // Retired remotely: a cached token stops passing once the refetched set drops its kid.
    const cachedServer = jwksServer([keys.EdDSA.jwk, keys.ES256.jwk]);
    const cached = guarded(
      requireAuth({
        issuer: ISSUER,
        jwksUrl: JWKS_URL,
        jwks: { fetch: cachedServer.fetch, cooldown: 0 },
        now,
        cache: true,
      }),
    );
    await assertAccepted(await cached(`Bearer ${token("ES256")}`), "cached ES256");
    cachedServer.keys = [keys.EdDSA.jwk];
    await assertInvalidToken(
      await cached(`Bearer ${token("EdDSA", "trigger-refetch")}`),
      "unknown kid",
    );
    await assertInvalidToken(
      await cached(`Bearer ${token("ES256")}`),
      "ES256 after its key left the JWKS",
    );
  });

  await t.step(
    "a JWKS that fails or lies answers 401, never 5xx; failures back off 5 s",
    async () => {
      for (const mode of ["500", "throw", "not-json"] as const) {
        const server = jwksServer(published);
        server.mode = mode;
        let clock = now();
        const send = guarded(
          requireAuth({
            issuer: ISSUER,
            jwksUrl: JWKS_URL,
            jwks: { fetch: server.fetch },
            now: () => clock,
          }),
        );
        await assertInvalidToken(await send(`Bearer ${token("EdDSA")}`), `JWKS ${mode}`);
        const callsAfterFailure = server.calls;
        server.mode = "ok";
        // Within the back-off no fetch is made (a flood of tokens is not a flood of fetches)...
        await assertInvalidToken(
          await send(`Bearer ${token("EdDSA")}`),
          `JWKS ${mode}, backing off`,
        );
        assert.equal(server.calls, callsAfterFailure, `JWKS ${mode}: no fetch during back-off`);
        // ...and after it the verifier recovers.
        clock += 5_000;
        await assertAccepted(
          await send(`Bearer ${token("EdDSA")}`),
          `JWKS ${mode}, then recovered`,
        );
      }
      for (const bad of [{ keys: "nope" }, { keys: [{ kty: "EC", kid: "EdDSA-1" }] }, []]) {
        const server = jwksServer(published);
        server.fetch = () => {
          server.calls++;
          return Promise.resolve(Response.json(bad));
        };
        const send = guarded(
          requireAuth({ issuer: ISSUER, jwksUrl: JWKS_URL, jwks: { fetch: server.fetch }, now }),
        );
        await assertInvalidToken(
          await send(`Bearer ${token("EdDSA")}`),
          `JWKS ${JSON.stringify(bad)}`,
        );
      }
    },
  );
});

Deno.test("requireAuth: bad options throw TypeError at construction", async () => {
  const key = await importHmacKey(TEST_SECRET);
  const url = "https://auth.test/.well-known/jwks.json";
  const bad: [string, () => unknown][] = [
    [
      "HS256 with a JWKS",
      () => requireAuth({ issuer: ISSUER, jwksUrl: url, algorithms: ["HS256"] }),
    ],
    [
      "HS256 among others with a JWKS",
      () => requireAuth({ issuer: ISSUER, jwksUrl: url, algorithms: ["EdDSA", "HS256"] }),
    ],
    ["no key source", () => requireAuth({ issuer: ISSUER })],
    ["key and jwksUrl", () => requireAuth({ issuer: ISSUER, key, jwksUrl: url })],
    ["key and keyRing", () =>
      requireAuth({
        issuer: ISSUER,
        key,
        keyRing: () => {
          throw new Error("unused");
        },
      })],
    ["no issuer", () => requireAuth({ key } as unknown as RequireAuthOptions)],
    ["empty issuer", () => requireAuth({ issuer: "", key })],
    ["no algorithm", () => requireAuth({ issuer: ISSUER, key, algorithms: [] })],
    ["an empty key list", () => requireAuth({ issuer: ISSUER, key: [] })],
    ["no options", () => requireAuth({} as RequireAuthOptions)],
  ];
  for (const [name, build] of bad) {
    assert.throws(build, TypeError, name);
  }
  assert.equal(typeof requireAuth({ issuer: ISSUER, key }), "function");
  assert.equal(typeof requireAuth({ issuer: ISSUER, jwksUrl: url }), "function");
});
