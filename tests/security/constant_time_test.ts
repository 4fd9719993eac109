/**
 * Secrets are compared in constant time. No functional test can see a timing leak of a
 * comparison (it is nanoseconds against a network round trip), so this one reads the source:
 * each place that compares a presented secret with a stored one must do it with
 * `equalConstantTime` (`src/crypto/digests.ts`, the one definition), on values of a fixed
 * length, and that function must not leave its loop early. A mutation that swaps in `===` or a
 * loop fails here (tools/mutants.ts: `oauth-client-compare-not-constant-time`,
 * `constant-time-compare-early-exit`).
 */
import assert from "node:assert/strict";
import { needs, READ } from "../helpers/permissions.ts";

const test = needs(READ);

const SITES = [
  ["src/oauth/client_service.ts", "const same = equalConstantTime(presented, expected);"],
  ["src/routes/metrics.ts", "!equalConstantTime(sha256(given), expectedDigest)"],
  ["src/users/device_tokens.ts", "a !== undefined && b !== undefined && equalConstantTime(a, b)"],
  ["src/tokens/refresh_token.ts", "return equalConstantTime(mac, macOf(key, family, counter));"],
  [
    "src/browser/cookies.ts",
    "return equalConstantTime(new TextEncoder().encode(token), expected);",
  ],
  [
    "src/browser/pkce.ts",
    "return equalConstantTime(sha256(verifier), base64url.decode(challenge));",
  ],
  ["src/mfa/totp.ts", "if (equalConstantTime(presented, expected) && step > lastUsedStep)"],
  ["src/mfa/recovery_codes.ts", "if (equalConstantTime(bytes, wanted) && found < 0) found = i;"],
  ["src/crypto/argon2_webcrypto.ts", "return equalConstantTime(derived, parsed.hash);"],
] as const;

const read = (file: string) => Deno.readTextFile(new URL(`../../${file}`, import.meta.url));

test("secret comparisons: client secrets, the metrics token, device tokens, refresh-token MACs, CSRF tokens, PKCE, TOTP, recovery codes and passwords use equalConstantTime", async () => {
  for (const [file, line] of SITES) {
    const text = await read(file);
    assert.ok(text.includes(line), `${file} no longer compares with: ${line}`);
    assert.match(
      text,
      /import \{[^}]*\bequalConstantTime\b[^}]*\} from "\.{1,2}\/(crypto\/)?digests\.ts"/,
    );
  }
});

test("equalConstantTime checks the lengths, then XORs every byte pair with no early exit", async () => {
  const text = await read("src/crypto/digests.ts");
  const start = text.indexOf("export function equalConstantTime(");
  const body = text.slice(start, text.indexOf("\n}\n", start));
  assert.ok(start >= 0 && body.length > 0, "the function was found");
  assert.ok(body.includes("if (a.length !== b.length) return false;"), body);
  assert.ok(
    body.includes("for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;"),
    body,
  );
  assert.ok(body.trimEnd().endsWith("return difference === 0;"), body);
  assert.equal(body.match(/\breturn\b/g)?.length, 2, body);
  assert.doesNotMatch(body, /\bbreak\b|\bcontinue\b|&&|\|\||\?/, body);
});
