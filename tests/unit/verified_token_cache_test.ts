import assert from "node:assert/strict";
import type { AccessClaims } from "../../src/tokens/access_token.ts";
import { VerifiedTokenCache } from "../../src/tokens/verified_token_cache.ts";

const claims = (exp: number): AccessClaims => ({
  sub: "ada",
  role: "user",
  iat: exp - 60,
  exp,
  iss: "https://auth.test",
  jti: crypto.randomUUID(),
  sid: "s1",
});

Deno.test("VerifiedTokenCache: bounded, oldest out first", () => {
  const cache = new VerifiedTokenCache(3);
  for (const token of ["a", "b", "c", "d"]) cache.set(token, claims(100), "k");
  assert.equal(cache.size, 3);
  assert.equal(cache.get("a", 0), undefined, "the oldest was evicted");
  assert.equal(cache.get("d", 0)?.kid, "k");
});

Deno.test("VerifiedTokenCache: only the exact string hits, and never at or past exp", () => {
  const cache = new VerifiedTokenCache();
  cache.set("token", claims(100), "k");
  assert.equal(cache.get("token ", 0), undefined);
  assert.equal(cache.get("Token", 0), undefined);
  assert.equal(cache.get("token", 99_999)?.claims.exp, 100);
  assert.equal(cache.get("token", 100_000), undefined);
  assert.equal(cache.size, 0, "an expired entry is dropped when met");
});

Deno.test("VerifiedTokenCache: refuses a size below one", () => {
  assert.throws(() => new VerifiedTokenCache(0), TypeError);
});
