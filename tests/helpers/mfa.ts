/**
 * Helpers for second-factor tests: an "authenticator app" (npm:otpauth, not our TOTP code) made
 * from the otpauth URI the server hands out, and enrolment through the HTTP API.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import * as OTPAuth from "npm:otpauth@^9.4.1";
import type { TestApp } from "./app.ts";

/** An authenticator app holding the secret of an `otpauth://` URI. */
export class Authenticator {
  readonly #totp: OTPAuth.TOTP;
  constructor(uri: string) {
    const parsed = OTPAuth.URI.parse(uri);
    assert.ok(parsed instanceof OTPAuth.TOTP);
    this.#totp = parsed;
  }
  /** The code at epoch ms `at`. */
  code(at: number): string {
    return this.#totp.generate({ timestamp: at });
  }
}

/**
 * Enrols TOTP for the holder of `token`, whose password is `password` (enrolment starts with it;
 * in-process); the app and the recovery codes.
 */
export async function enrolTotp(
  t: TestApp,
  token: string,
  password: string,
): Promise<{ app: Authenticator; recoveryCodes: string[]; secret: string }> {
  const auth = { Authorization: `Bearer ${token}` };
  const started = await t.post("/me/mfa/totp", { password }, auth);
  assert.equal(started.status, 200, await started.clone().text());
  const { secret, otpauth_uri } = await started.json();
  const app = new Authenticator(otpauth_uri);
  const confirmed = await t.post("/me/mfa/totp/confirm", { code: app.code(t.clock.ms) }, auth);
  assert.equal(confirmed.status, 200, await confirmed.clone().text());
  const { recovery_codes } = await confirmed.json();
  return { app, recoveryCodes: recovery_codes, secret };
}

/** The payload of a JWT, unverified (tests look at claims they verify elsewhere). */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}
