/**
 * Secrets are compared in constant time. No functional test can see a timing leak of a
 * comparison (it is nanoseconds against a network round trip), so this one reads the source:
 * each place that compares a presented secret with a stored one must do it with
 * `timingSafeEqual`, on values of a fixed length. A mutation that swaps in `===` or a loop fails
 * here (tools/mutants.ts: `oauth-client-compare-not-constant-time`).
 */
import assert from "node:assert/strict";
import { needs, READ } from "../helpers/permissions.ts";

const test = needs(READ);

const SITES = [
  ["src/oauth/client_service.ts", "const same = timingSafeEqual(presented, expected);"],
  ["src/routes/metrics.ts", "!timingSafeEqual(await digest(given), await expectedDigest)"],
  ["src/users/device_tokens.ts", "a.length === b.length && timingSafeEqual(a, b)"],
] as const;

test("secret comparisons: client secrets, the metrics token and device tokens use timingSafeEqual", async () => {
  for (const [file, line] of SITES) {
    const text = await Deno.readTextFile(new URL(`../../${file}`, import.meta.url));
    assert.ok(text.includes(line), `${file} no longer compares with: ${line}`);
    assert.ok(text.includes("import { ") && /timingSafeEqual[^\n]*from "node:crypto"/.test(text));
  }
});
