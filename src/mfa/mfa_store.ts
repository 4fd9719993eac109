/**
 * What the second-factor service needs from storage: a user's factors (one record, keyed by the
 * user's never-reused internal id, so a user removed and created again under the same name has
 * none), and the pending second steps of logins (`mfa_token`s). Implemented over Deno KV by
 * `store/kv_mfa.ts`; `tests/helpers/fake_stores.ts` holds the in-memory fake.
 *
 * Every rule that must hold under concurrency is one guarded commit here: spending a TOTP step
 * or a recovery code and consuming the login challenge it completes happen together, so two
 * presenters of one code (or of one challenge) cannot both pass.
 *
 * @module
 */
import type { SessionClient } from "../tokens/session_store.ts";
import type { Versioned } from "../versioned.ts";
import type { SealedSecret } from "./secret_box.ts";

/** A confirmed TOTP factor. */
export interface TotpFactor {
  readonly sealed: SealedSecret;
  readonly confirmedAt: number;
  /** The last time step accepted (RFC 6238 section 5.2: never accepted again, nor older). */
  readonly lastStep: number;
}

/** A user's second factors. Times are epoch milliseconds. */
export interface MfaRecord {
  /** The user's id when last written (for people reading the store; the key is the uid). */
  readonly userId: string;
  /** The active factor: once set, `/login` asks for a second step. */
  readonly totp?: TotpFactor;
  /** A secret handed out by `POST /me/mfa/totp`, waiting for its first code. */
  readonly pending?: { readonly sealed: SealedSecret; readonly createdAt: number };
  /** SHA-256 hashes of the unused recovery codes (`recovery_codes.ts`). */
  readonly recoveryCodes: readonly string[];
  readonly updatedAt: number;
}

/** A user's factors with the key they are stored under. */
export interface StoredFactors {
  readonly userUid: string;
  readonly record: MfaRecord;
}

/** The limit a login's wrong passwords spent from: its wrong codes spend from it too. */
export interface ChallengeBudget {
  readonly bucket: "login_account" | "login_device";
  readonly subject: string;
}

/** A login waiting for its second factor (what an `mfa_token` names). */
export interface MfaChallenge {
  readonly userId: string;
  readonly userUid: string;
  /** The user's versionstamp when the password was checked: any change since ends it. */
  readonly userVersionstamp: string;
  readonly role: string;
  /**
   * The OAuth client of a password grant, with the generation it had when it authenticated:
   * the session the second step starts is bound to it (`clientMatches`).
   */
  readonly oauthClient?: SessionClient;
  /** The login page's step: a hash of the browser's CSRF cookie, where alone it may pass. */
  readonly browser?: string;
  readonly budget: ChallengeBudget;
  /** Wrong codes so far; at `MAX_CHALLENGE_FAILURES` the challenge is deleted. */
  readonly failures: number;
  readonly expiresAt: number;
}

/** A second step that passed: what one commit must do. */
export interface ChallengeSuccess {
  readonly challengeId: string;
  readonly challengeVersionstamp: string;
  readonly userUid: string;
  /** The factors with the step or recovery code spent. */
  readonly factors: MfaRecord;
  readonly factorsVersionstamp: string;
}

/** Every method throws `StoreUnavailableError` when the store fails. */
export interface MfaStore {
  getFactors(userUid: string): Promise<Versioned<MfaRecord> | undefined>;
  /** Writes a user's factors if they are still at `versionstamp` (`null`: none yet). */
  putFactors(userUid: string, record: MfaRecord, versionstamp: string | null): Promise<boolean>;
  /** Removes every factor of a user; whether there was any. */
  deleteFactors(userUid: string): Promise<boolean>;
  /**
   * Every user's factors, in no promised order (`store export` moves them: a user who moved
   * without them would sign in with a password alone). Pending login challenges are not listed.
   */
  allFactors(): AsyncIterable<StoredFactors>;
  /** Stores a new challenge under its id (a hash of the token); it expires by itself. */
  createChallenge(id: string, challenge: MfaChallenge, now: number): Promise<void>;
  getChallenge(id: string): Promise<Versioned<MfaChallenge> | undefined>;
  /**
   * Records a wrong code: rewrites the challenge (or deletes it, when `challenge` is
   * `undefined`) if it is still at `versionstamp`.
   */
  failChallenge(
    id: string,
    challenge: MfaChallenge | undefined,
    versionstamp: string,
    now: number,
  ): Promise<boolean>;
  /**
   * One commit: deletes the challenge and writes the factors (the step or code spent), both
   * checked against the versionstamps they were read at. False when either changed.
   */
  completeChallenge(success: ChallengeSuccess): Promise<boolean>;
}
