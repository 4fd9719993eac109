/**
 * What the passkey service needs from storage: WebAuthn credentials (by credential id, with an
 * index per user) and the one-use challenges of registrations and sign-ins. Implemented over
 * Deno KV by `store/kv_passkeys.ts`; `tests/helpers/fake_stores.ts` holds the in-memory fake.
 *
 * @module
 */
import type { Versioned } from "../versioned.ts";

/** A registered passkey (a WebAuthn public-key credential). Times are epoch milliseconds. */
export interface PasskeyRecord {
  /** The credential id, base64url (what the authenticator names it by). */
  readonly id: string;
  readonly userId: string;
  /** The user's never-reused internal id: a user created again under one name has none. */
  readonly userUid: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  /** The authenticator's signature counter as last seen (WebAuthn L2 section 6.1.1). */
  readonly counter: number;
  readonly transports: readonly string[];
  /** Backed up (synced) when registered: `amr` says `swk` for it, `hwk` otherwise. */
  readonly backedUp: boolean;
  readonly createdAt: number;
  readonly lastUsedAt?: number;
}

/** A challenge handed out with registration or sign-in options; it is used once. */
export interface PasskeyChallenge {
  readonly challenge: string;
  readonly purpose: "registration" | "authentication";
  /** Registration only: whose passkey it is. */
  readonly userUid?: string;
  readonly expiresAt: number;
}

/** Every method throws `StoreUnavailableError` when the store fails. */
export interface PasskeyStore {
  getPasskey(id: string): Promise<Versioned<PasskeyRecord> | undefined>;
  listPasskeys(userUid: string): Promise<PasskeyRecord[]>;
  /** Every passkey of every user, in no promised order (`store export` moves them). */
  allPasskeys(): AsyncIterable<PasskeyRecord>;
  /** Stores a new passkey and its index entry; false when the id is taken. */
  createPasskey(record: PasskeyRecord): Promise<boolean>;
  /** Rewrites a passkey (its counter) if it is still at `versionstamp`. */
  updatePasskey(record: PasskeyRecord, versionstamp: string): Promise<boolean>;
  /** Removes one of a user's passkeys; false when it is not theirs or not there. */
  deletePasskey(userUid: string, id: string): Promise<boolean>;
  /** Stores a challenge under `id`; it expires by itself. */
  putChallenge(id: string, challenge: PasskeyChallenge, now: number): Promise<void>;
  /** Reads and deletes a challenge in one commit: of two takers, one gets it. */
  takeChallenge(id: string): Promise<PasskeyChallenge | undefined>;
}
