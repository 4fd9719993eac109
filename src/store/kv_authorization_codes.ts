/**
 * {@link AuthorizationCodeStore} over Deno KV: `["authorization_codes", hash]` ->
 * `AuthorizationCodeRecord`. An unspent code's entry expires a minute after the code does (a
 * signed-in browser can ask for codes at will: they must not pile up); a spent one is kept
 * {@link CODE_RECORD_KEPT_MS} from its spending, so a replay within that time is still
 * recognised and what it issued revoked.
 *
 * @module
 */
import type {
  AuthorizationCodeRecord,
  AuthorizationCodeStore,
} from "../browser/authorization_code_store.ts";
import type { Versioned } from "../versioned.ts";
import { kvCall, versioned } from "./kv_layout.ts";

/** How long a code's record outlives the code: the window in which a replay is recognised. */
export const CODE_RECORD_KEPT_MS = 60 * 60 * 1000;
/** How long an unspent code's entry outlives the code (clock skew between instances). */
const UNSPENT_MARGIN_MS = 60 * 1000;

const codeKey = (hash: string): Deno.KvKey => ["authorization_codes", hash];

/** Authorization codes in Deno KV. */
export class KvAuthorizationCodeStore implements AuthorizationCodeStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  createCode(code: AuthorizationCodeRecord): Promise<void> {
    return kvCall("createCode", async () => {
      const key = codeKey(code.hash);
      // 256 random bits never collide; the check only keeps a bug from overwriting a record.
      const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, code, {
        expireIn: code.expiresAt - code.createdAt + UNSPENT_MARGIN_MS,
      });
      if (!(await op.commit()).ok) throw new Error("authorization code collision");
    });
  }

  getCode(hash: string): Promise<Versioned<AuthorizationCodeRecord> | undefined> {
    return kvCall(
      "getCode",
      async () => versioned(await this.#kv.get<AuthorizationCodeRecord>(codeKey(hash))),
    );
  }

  updateCode(code: AuthorizationCodeRecord, versionstamp: string): Promise<boolean> {
    return kvCall("updateCode", async () => {
      const key = codeKey(code.hash);
      const op = this.#kv.atomic().check({ key, versionstamp }).set(key, code, {
        expireIn: CODE_RECORD_KEPT_MS,
      });
      return (await op.commit()).ok;
    });
  }
}
