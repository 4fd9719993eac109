/**
 * Header members that point at keys elsewhere or change how the token is read (`jku`, `x5u`,
 * `jwk`, `x5c`, `x5t`, `x5t#S256`, `b64`, `crit`) are refused by our own check, before any key
 * lookup: the answer names the header, and a remote-JWKS verifier fetches nothing for such a
 * token (jose would refuse some of them later, but only after the fetch).
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { Hono } from "hono";
import type { FetchImplementation } from "jose";
import { requireAuth } from "../../src/middleware/require_auth.ts";
import { forge, publicJwkOf } from "./_jws.ts";

const ISSUER = "https://auth.test";
const NOW = Date.UTC(2026, 0, 1);

Deno.test("forbidden headers: refused by name before any JWKS fetch", async () => {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = { ...publicJwkOf(privateKey), kid: "ed-1", alg: "EdDSA", use: "sig" };
  let fetches = 0;
  const fetch: FetchImplementation = () => {
    fetches++;
    return Promise.resolve(
      new Response(JSON.stringify({ keys: [jwk] }), {
        headers: { "content-type": "application/json" },
      }),
    );
  };
  const app = new Hono();
  app.use(
    "/r",
    requireAuth({ issuer: ISSUER, jwksUrl: `${ISSUER}/jwks`, jwks: { fetch }, now: () => NOW }),
  );
  app.get("/r", (c) => c.json({ sub: c.get("auth").sub }));
  const iat = Math.floor(NOW / 1000);
  const claims = { sub: "ada", role: "user", iat, exp: iat + 600, iss: ISSUER, sid: "s1" };
  const send = (header: Record<string, unknown>) =>
    app.request("/r", {
      headers: { Authorization: `Bearer ${forge(header, claims, "EdDSA", privateKey)}` },
    });

  const cases: [string, Record<string, unknown>][] = [
    ["crit [b64] with b64 false", { b64: false, crit: ["b64"] }],
    ["crit [exp]", { crit: ["exp"] }],
    ["crit [] (empty)", { crit: [] }],
    ["b64 true", { b64: true }],
    ["jku", { jku: `${ISSUER}/other-jwks` }],
    ["x5u", { x5u: `${ISSUER}/cert.pem` }],
    ["jwk", { jwk }],
    ["x5c", { x5c: ["MIIB"] }],
    ["x5t", { x5t: "abc" }],
    ["x5t#S256", { "x5t#S256": "abc" }],
  ];
  for (const [label, extra] of cases) {
    // An unknown kid as well: only our check stands between this token and a fetch.
    const res = await send({ alg: "EdDSA", typ: "JWT", kid: "unknown-kid", ...extra });
    assert.equal(res.status, 401, label);
    assert.equal((await res.json()).error, "token header is not allowed", label);
  }
  assert.equal(fetches, 0, "no JWKS fetch for a token with a forbidden header");

  // Faithful forging: the same recipe without the extra member passes (one fetch).
  const ok = await send({ alg: "EdDSA", typ: "JWT", kid: "ed-1" });
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.equal(fetches, 1);
});
