/** Second-factor store records for the store tests (contract and failure tests share them). */
import type { MfaChallenge, MfaRecord } from "../../src/mfa/mfa_store.ts";

export const NOW = Date.UTC(2026, 0, 1);

/** Ada's factors with `lastStep` as the last TOTP step used. */
export const factors = (lastStep: number): MfaRecord => ({
  userId: "ada",
  totp: { sealed: { iv: "iv", ciphertext: "ct" }, confirmedAt: NOW, lastStep },
  recoveryCodes: ["h1", "h2"],
  updatedAt: NOW,
});

/** A fresh login challenge of ada's. */
export const challenge: MfaChallenge = {
  userId: "ada",
  userUid: "u1",
  userVersionstamp: "v",
  role: "user",
  budget: { bucket: "login_account", subject: "ada" },
  failures: 0,
  expiresAt: NOW + 300_000,
};
