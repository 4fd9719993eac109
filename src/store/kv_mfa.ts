/**
 * {@link MfaStore} over Deno KV (keys: `kv_layout.ts`): `["mfa", userUid]` holds a user's
 * factors, `["mfa_challenges", id]` a login's pending second step (expiring with it).
 *
 * @module
 */
import type {
  ChallengeSuccess,
  MfaChallenge,
  MfaRecord,
  MfaStore,
  StoredFactors,
} from "../mfa/mfa_store.ts";
import type { Versioned } from "../versioned.ts";
import { asStoreError, KEYS, kvCall, until, versioned } from "./kv_layout.ts";

/** Second factors and login challenges in Deno KV. */
export class KvMfaStore implements MfaStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  getFactors(userUid: string): Promise<Versioned<MfaRecord> | undefined> {
    return kvCall(
      "getFactors",
      async () => versioned(await this.#kv.get<MfaRecord>(KEYS.mfa(userUid))),
    );
  }

  putFactors(userUid: string, record: MfaRecord, versionstamp: string | null): Promise<boolean> {
    const key = KEYS.mfa(userUid);
    return kvCall("putFactors", async () => {
      return (await this.#kv.atomic().check({ key, versionstamp }).set(key, record).commit()).ok;
    });
  }

  deleteFactors(userUid: string): Promise<boolean> {
    const key = KEYS.mfa(userUid);
    return kvCall("deleteFactors", async () => {
      const found = (await this.#kv.get(key)).versionstamp !== null;
      await this.#kv.delete(key);
      return found;
    });
  }

  async *allFactors(): AsyncGenerator<StoredFactors> {
    try {
      for await (const entry of this.#kv.list<MfaRecord>({ prefix: KEYS.mfas })) {
        yield { userUid: String(entry.key[1]), record: entry.value };
      }
    } catch (err) {
      throw asStoreError("allFactors", err);
    }
  }

  createChallenge(id: string, challenge: MfaChallenge, now: number): Promise<void> {
    return kvCall("createChallenge", async () => {
      await this.#kv.set(KEYS.mfaChallenge(id), challenge, until(challenge.expiresAt, now));
    });
  }

  getChallenge(id: string): Promise<Versioned<MfaChallenge> | undefined> {
    return kvCall(
      "getChallenge",
      async () => versioned(await this.#kv.get<MfaChallenge>(KEYS.mfaChallenge(id))),
    );
  }

  failChallenge(
    id: string,
    challenge: MfaChallenge | undefined,
    versionstamp: string,
    now: number,
  ): Promise<boolean> {
    const key = KEYS.mfaChallenge(id);
    return kvCall("failChallenge", async () => {
      const op = this.#kv.atomic().check({ key, versionstamp });
      if (challenge) op.set(key, challenge, until(challenge.expiresAt, now));
      else op.delete(key);
      return (await op.commit()).ok;
    });
  }

  completeChallenge(success: ChallengeSuccess): Promise<boolean> {
    const challengeKey = KEYS.mfaChallenge(success.challengeId);
    const factorsKey = KEYS.mfa(success.userUid);
    return kvCall("completeChallenge", async () => {
      // One commit: of two presenters of one challenge, or of one code, only one passes.
      const op = this.#kv.atomic()
        .check({ key: challengeKey, versionstamp: success.challengeVersionstamp })
        .check({ key: factorsKey, versionstamp: success.factorsVersionstamp })
        .delete(challengeKey)
        .set(factorsKey, success.factors);
      return (await op.commit()).ok;
    });
  }
}
