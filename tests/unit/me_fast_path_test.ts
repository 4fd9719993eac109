/**
 * `createMeAnswers` alone: the memo keeps at most `maxEntries` headers (the oldest go first), so
 * a client cycling through tokens cannot grow it, and only the canonical `Bearer <token>`, so one
 * token's other spellings (any case, any run of spaces: up to 64 KiB each) cannot either.
 */
import assert from "node:assert/strict";
import { base64url } from "jose";
import { parseTrustedProxies } from "../../src/client_address.ts";
import type { KeyRing } from "../../src/crypto/keys.ts";
import { createMeAnswers } from "../../src/http/me_fast_path.ts";
import { createLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";
import { createRequestChain } from "../../src/middleware/request_chain.ts";
import type { AccessClaims } from "../../src/tokens/access_token.ts";

const NOW = Date.UTC(2026, 0, 1);
const roles = ["user"] as const;

function memo(maxEntries: number, fastPath = true) {
  const trustProxy = parseTrustedProxies("")!;
  const chain = createRequestChain({
    logger: createLogger("silent"),
    trustProxy,
    metrics: createMetrics(),
    issuer: "http://127.0.0.1:10000",
  });
  // A ring that knows kid "k" (only `verification.has` is asked) and a gate that admits all.
  const keys = () => ({ verification: new Map([["k", {}]]) }) as unknown as KeyRing;
  return createMeAnswers({
    keys,
    now: () => NOW,
    gate: { peek: () => roles },
    chain,
    trustProxy,
    fastPath,
    maxEntries,
  });
}

/** A JWT-shaped header value with kid "k" (the memo only decodes its protected header). */
function header(n: number): string {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `Bearer ${encode({ alg: "HS256", kid: "k" })}.${encode({ n })}.c2ln`;
}

function claims(n: number): AccessClaims {
  return {
    sub: `u${n}`,
    role: "user",
    iat: 0,
    exp: NOW / 1000 + 60,
    iss: "i",
    jti: `j${n}`,
    sid: `s${n}`,
  };
}

const ask = (answers: ReturnType<typeof memo>, authorization: string) =>
  answers.answer(new Request("http://127.0.0.1:10000/me", { headers: { authorization } }), {});

Deno.test("the memo holds at most maxEntries headers, the oldest leaving first", async () => {
  const answers = memo(2);
  const all = [1, 2, 3].map((n) => ({ header: header(n), claims: claims(n) }));
  for (const { header, claims } of all) answers.body(header, claims, roles);
  assert.equal(ask(answers, all[0]!.header), undefined);
  for (const { header, claims } of all.slice(1)) {
    const res = ask(answers, header);
    assert.equal(res?.status, 200);
    assert.equal((await res!.json()).claims.sub, claims.sub);
  }
  // Answering the same header again replaces its entry: nothing else leaves.
  answers.body(all[2]!.header, all[2]!.claims, ["user", "editor"]);
  assert.notEqual(ask(answers, all[1]!.header), undefined);
});

Deno.test("only the canonical spelling is remembered: other spellings of a token hold nothing", () => {
  const answers = memo(10);
  const canonicals = Array.from({ length: 10 }, (_, n) => header(n + 1));
  canonicals.forEach((h, n) => answers.body(h, claims(n + 1), roles));
  const token = canonicals[0]!.slice("Bearer ".length);
  const others = [`bearer ${token}`, `BEARER ${token}`, `Bearer ${" ".repeat(4096)}${token}`];
  for (const other of others) {
    answers.body(other, claims(1), roles);
    assert.equal(ask(answers, other), undefined, JSON.stringify(other.slice(0, 12)));
  }
  // Nothing of theirs took a place: the ten canonical headers that filled the memo are all kept.
  for (const h of canonicals) assert.equal(ask(answers, h)?.status, 200);
});
