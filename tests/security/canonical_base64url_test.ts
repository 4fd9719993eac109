/**
 * One spelling per token: a segment whose unused trailing bits are set decodes to the same bytes
 * as the canonical one (lenient decoders accept it), so without the canonical check two token
 * strings would carry one signature. Deterministic here; the fuzz suite only meets it by chance.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { importHmacKey, requireAuth } from "../../src/middleware/require_auth.ts";
import { TEST_SECRET } from "../helpers/app.ts";
import { forge } from "./_jws.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ISSUER = "https://auth.test";
const NOW = Date.UTC(2026, 0, 1);

/** The same bytes with the lowest unused bit of the last character set (length % 4 of 2 or 3). */
function respell(segment: string): string {
  assert.ok(segment.length % 4 === 2 || segment.length % 4 === 3, "segment has spare bits");
  const last = ALPHABET.indexOf(segment.at(-1)!);
  assert.equal(last & 1, 0, "canonical: the spare bits are zero");
  return segment.slice(0, -1) + ALPHABET[last | 1];
}

Deno.test("a token respelled with non-canonical base64url is refused", async () => {
  const key = await importHmacKey(TEST_SECRET);
  const app = new Hono();
  app.use("/r", requireAuth({ issuer: ISSUER, key, now: () => NOW }));
  app.get("/r", (c) => c.json({ sub: c.get("auth").sub }));
  const iat = Math.floor(NOW / 1000);
  const token = forge(
    { alg: "HS256", typ: "JWT", kid: key.kid },
    { sub: "ada", role: "user", iat, exp: iat + 600, iss: ISSUER, sid: "s1" },
    "HS256",
    TEST_SECRET,
  );
  const send = (t: string) => app.request("/r", { headers: { Authorization: `Bearer ${t}` } });
  assert.equal((await send(token)).status, 200, "the canonical token passes");

  const [header, payload, signature] = token.split(".") as [string, string, string];
  const respelled = `${header}.${payload}.${respell(signature)}`;
  assert.notEqual(respelled, token);
  // The respelled signature is the same bytes: a lenient decoder cannot tell them apart.
  assert.deepEqual(
    Uint8Array.from(
      atob(respell(signature).replace(/-/g, "+").replace(/_/g, "/") + "="),
      (c) => c.charCodeAt(0),
    ),
    Uint8Array.from(
      atob(signature.replace(/-/g, "+").replace(/_/g, "/") + "="),
      (c) => c.charCodeAt(0),
    ),
  );
  const res = await send(respelled);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error, "malformed token");
});
