/**
 * A user's second factors: TOTP enrolment (pending until its first code), recovery codes, their
 * removal, and the checks of a code against them. Codes are checked here and spent in the same
 * guarded commit that records them (the last TOTP step used, the recovery code removed), so a
 * code never passes twice, however many presenters race.
 *
 * The login side (the `mfa_token` challenge and its limits) is in `mfa_login.ts`.
 *
 * @module
 */
import { ApiError, ContendedError } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import { type UserRecord, userUid } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";
import type { MfaRecord, MfaStore } from "./mfa_store.ts";
import { findRecoveryCode, newRecoveryCodes } from "./recovery_codes.ts";
import type { PasskeyStore } from "../passkeys/passkey_store.ts";
import type { TotpEnrolment } from "../wire.ts";
import { qrSvg } from "./qr_svg.ts";
import type { SecretBox } from "./secret_box.ts";
import { base32Encode, matchTotp, otpauthUri, TOTP_SECRET_BYTES } from "./totp.ts";

/** The second-factor methods a login can be completed with. */
export type MfaMethod = "totp" | "recovery_code";

/** Who removed a user's factors (the metric's label). */
export type MfaResetBy = "user" | "admin" | "cli";

/** Dependencies of {@link createMfaService}. */
export interface MfaDeps {
  readonly store: MfaStore;
  readonly box: SecretBox;
  /** The name authenticator apps show for this server (the host of `ISSUER`). */
  readonly issuerLabel: string;
  readonly now: () => number;
  readonly onEvent?: EmitEvent;
  /** The user's passkeys: a reset ({@link MfaService.reset}) removes them with the rest. */
  readonly passkeys?: Pick<PasskeyStore, "listPasskeys" | "deletePasskey">;
}

/** A code presented for a factor: a TOTP code or a recovery code. */
export type PresentedCode = { readonly code: string } | { readonly recoveryCode: string };

/** What a matching code spends: the factors as they must be written, and how it matched. */
export interface SpentCode {
  readonly factors: MfaRecord;
  readonly method: MfaMethod;
}

const MAX_ATTEMPTS = 8;

/** Creates the second-factor service. */
export function createMfaService(deps: MfaDeps) {
  const emit: EmitEvent = (event) => deps.onEvent?.(event);
  const { store, box } = deps;

  /** The active methods of a user, or `undefined` when none is active (a pending one is not). */
  function methodsOf(record: MfaRecord | undefined): MfaMethod[] | undefined {
    if (!record?.totp) return undefined;
    return record.recoveryCodes.length > 0 ? ["totp", "recovery_code"] : ["totp"];
  }

  /**
   * The factors as they are after spending `presented`, or `undefined` when it does not match
   * (a wrong code, a TOTP step already used or older, a used recovery code).
   */
  async function spend(
    uid: string,
    record: MfaRecord,
    presented: PresentedCode,
  ): Promise<SpentCode | undefined> {
    if (!record.totp) return undefined;
    const now = deps.now();
    if ("code" in presented) {
      const opened = await box.openWith(record.totp.sealed, uid);
      if (!opened) {
        // SECRET_KEY changed without the old one in PREVIOUS_SECRET_KEYS: no code can be
        // checked (never a pass); a recovery code still works.
        throw new ApiError(
          "invalid_code",
          "the code cannot be checked: this server's SECRET_KEY no longer opens the TOTP secret " +
            "(use a recovery code, or ask an administrator to restore PREVIOUS_SECRET_KEYS)",
        );
      }
      const step = matchTotp(opened.secret, presented.code, now, record.totp.lastStep);
      if (step === undefined) return undefined;
      // Opened under a previous SECRET_KEY: sealed again under the current one, in the same
      // commit that spends the step.
      const sealed = opened.current ? record.totp.sealed : await box.seal(opened.secret, uid);
      return {
        factors: { ...record, totp: { ...record.totp, sealed, lastStep: step }, updatedAt: now },
        method: "totp",
      };
    }
    const index = findRecoveryCode(record.recoveryCodes, presented.recoveryCode);
    if (index < 0) return undefined;
    const recoveryCodes = record.recoveryCodes.filter((_, i) => i !== index);
    return { factors: { ...record, recoveryCodes, updatedAt: now }, method: "recovery_code" };
  }

  /** Reads, changes and writes a user's factors under its versionstamp, retrying lost races. */
  async function update<T>(
    user: UserRecord,
    change: (
      found: Versioned<MfaRecord> | undefined,
    ) => Promise<{ record: MfaRecord | null; answer: T }>,
  ): Promise<T> {
    const uid = userUid(user);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await store.getFactors(uid);
      const { record, answer } = await change(found);
      if (record === null) {
        await store.deleteFactors(uid);
        return answer;
      }
      if (await store.putFactors(uid, record, found?.versionstamp ?? null)) return answer;
    }
    throw new ContendedError("second factor update is contended");
  }

  /** Requires a matching code for the active TOTP factor and spends it (one commit). */
  function requireCode(
    found: Versioned<MfaRecord> | undefined,
    uid: string,
    presented: string | PresentedCode,
  ) {
    if (!found?.value.totp) throw new ApiError("not_found", "no active second factor");
    const code = typeof presented === "string" ? { code: presented } : presented;
    return spend(uid, found.value, code).then((spent) => {
      if (!spent) throw invalidCode();
      return spent.factors;
    });
  }

  return {
    methodsOf,
    spend,

    /** The user's factors as stored, with their versionstamp. */
    read(user: UserRecord): Promise<Versioned<MfaRecord> | undefined> {
      return store.getFactors(userUid(user));
    },

    /**
     * `POST /me/mfa/totp`: a new pending secret (replacing any pending one); 409 when TOTP is
     * already active (remove it first).
     */
    enrolTotp(user: UserRecord): Promise<TotpEnrolment> {
      const uid = userUid(user);
      return update(user, async (found) => {
        if (found?.value.totp) {
          throw new ApiError("conflict", "TOTP is already active; remove it first");
        }
        const raw = crypto.getRandomValues(new Uint8Array(TOTP_SECRET_BYTES));
        const secret = base32Encode(raw);
        const record: MfaRecord = {
          userId: user.id,
          pending: { sealed: await box.seal(raw, uid), createdAt: deps.now() },
          recoveryCodes: [],
          updatedAt: deps.now(),
        };
        const uri = otpauthUri({ secret, account: user.id, issuer: deps.issuerLabel });
        return { record, answer: { secret, otpauth_uri: uri, qr_svg: qrSvg(uri) } };
      });
    },

    /** `POST /me/mfa/totp/confirm`: the pending secret's first code makes it active. */
    async confirmTotp(user: UserRecord, code: string): Promise<{ recovery_codes: string[] }> {
      const uid = userUid(user);
      const answer = await update(user, async (found) => {
        const pending = found?.value.pending;
        if (!pending || found.value.totp) {
          throw new ApiError("not_found", "no pending TOTP enrolment; start one first");
        }
        const secret = await box.open(pending.sealed, uid);
        if (!secret) throw new Error("a pending TOTP secret does not open under SECRET_KEY");
        const step = matchTotp(secret, code, deps.now(), -1);
        if (step === undefined) {
          throw new ApiError("invalid_enrolment_code", "the code does not match the new secret");
        }
        const { codes, hashes } = newRecoveryCodes();
        const record: MfaRecord = {
          userId: user.id,
          totp: { sealed: pending.sealed, confirmedAt: deps.now(), lastStep: step },
          recoveryCodes: hashes,
          updatedAt: deps.now(),
        };
        return { record, answer: { recovery_codes: codes } };
      });
      emit({ type: "mfa_enrolled", user_id: user.id, method: "totp" });
      return answer;
    },

    /**
     * `DELETE /me/mfa/totp` with a current code or an unused recovery code (the way out for a
     * lost authenticator): removes TOTP and the recovery codes. Never the password alone: a
     * stolen access token and a phished password must not take the factor away.
     */
    async removeWithCode(user: UserRecord, presented: PresentedCode): Promise<void> {
      const uid = userUid(user);
      await update(user, async (found) => {
        await requireCode(found, uid, presented);
        return { record: null, answer: undefined };
      });
      emit({ type: "mfa_reset", user_id: user.id, by: "user" });
    },

    /**
     * Requires a current code for the active TOTP factor and spends it, changing nothing else
     * (a passkey registration proves the factor with it); 404 without one, 401 when wrong.
     */
    async spendCode(user: UserRecord, code: string): Promise<void> {
      const uid = userUid(user);
      await update(user, async (found) => ({
        record: await requireCode(found, uid, code),
        answer: undefined,
      }));
    },

    /**
     * Removes every factor of a user (the password was checked by the caller, or an admin or
     * the CLI asks); false when there was none.
     */
    async remove(user: UserRecord, by: MfaResetBy): Promise<boolean> {
      const removed = await store.deleteFactors(userUid(user));
      if (removed) emit({ type: "mfa_reset", user_id: user.id, by });
      return removed;
    },

    /**
     * Removes every factor of a user: TOTP, a pending enrolment, recovery codes and passkeys
     * (`deno task user mfa reset`, `DELETE /admin/users/{id}/mfa`: a user who lost them all);
     * false when there was none.
     */
    async reset(user: UserRecord, by: "admin" | "cli"): Promise<boolean> {
      const uid = userUid(user);
      let removed = await store.deleteFactors(uid);
      for (const passkey of (await deps.passkeys?.listPasskeys(uid)) ?? []) {
        if (await deps.passkeys!.deletePasskey(uid, passkey.id)) removed = true;
      }
      if (removed) emit({ type: "mfa_reset", user_id: user.id, by });
      return removed;
    },

    /** `POST /me/mfa/recovery-codes` with a current code: a new set; the old one dies. */
    async regenerateRecoveryCodes(
      user: UserRecord,
      code: string,
    ): Promise<{ recovery_codes: string[] }> {
      const uid = userUid(user);
      const answer = await update(user, async (found) => {
        const spent = await requireCode(found, uid, code);
        const { codes, hashes } = newRecoveryCodes();
        return {
          record: { ...spent, recoveryCodes: hashes },
          answer: { recovery_codes: codes },
        };
      });
      emit({ type: "mfa_recovery_codes_renewed", user_id: user.id });
      return answer;
    },
  };
}

/** The second-factor service's interface. */
export type MfaService = ReturnType<typeof createMfaService>;

/** The 401 of a code that does not match an active factor. */
export function invalidCode(): ApiError {
  return new ApiError("invalid_code", "the code is wrong, expired or already used");
}
