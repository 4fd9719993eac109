/**
 * Key administration: list, rotate, retire and reencrypt the signing keys in the store. One
 * service with one set of rules, behind two doors: `deno task keys` (`cli/keys_cli.ts`) and the
 * admin API (`routes/admin_keys.ts`). Refusals are {@link KeyAdminError}s: an `ApiError` (so the
 * API answers its status and the CLI its exit code) that also says what was refused, so each
 * door can word it for its own users.
 *
 * @module
 */
import type { Config } from "../config/parse_config.ts";
import {
  ASYMMETRIC_ALGORITHMS,
  type AsymmetricAlgorithm,
  isAsymmetricAlgorithm,
} from "../tokens/algorithms.ts";
import { importHmacKey } from "../crypto/keys.ts";
import { ApiError, ContendedError, type ErrorCode } from "../errors.ts";
import {
  iso,
  type KeySlot,
  type KeyUse,
  lastSignedAt,
  retireRefusal,
  signerAt,
  slotsFor,
  stateOf,
  useOf,
} from "./key_set.ts";
import type { KeyStore } from "./key_store.ts";
import { appendKeys } from "./key_set_writes.ts";
import { openKeySet } from "./open_key_set.ts";
import { reencryptKeys, type ReencryptResult } from "./reencrypt_keys.ts";

/** The settings key administration reads. */
export type KeyAdminConfig = Pick<
  Config,
  "jwtAlg" | "tokenTtl" | "keyPublishAhead" | "secretKey" | "previousSecretKeys" | "keysPath"
>;

/** Dependencies of {@link createKeyAdmin}. */
export interface KeyAdminDeps {
  readonly store: KeyStore;
  readonly config: KeyAdminConfig;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** One line for the operator (notes from opening the set); stderr by default. */
  readonly note?: (line: string) => void;
}

/** One key as `keys list --json` and `GET /admin/keys` show it. */
export interface KeyInfo {
  readonly kid: string;
  readonly alg: string;
  /** What it signs: `access` tokens or `id_token`s (the RS256 key under ES256 and EdDSA). */
  readonly use: KeyUse;
  /** `next`, `active`, `retiring`; under HS256 also the secrets' own states. */
  readonly state: string;
  /** ISO times (`-` for the HS256 secrets, which have none). */
  readonly created_at: string;
  readonly activates_at: string;
  /** When it last signed (null: it signs now, or has not yet). */
  readonly last_signed_at: string | null;
  /** From when `retire` accepts it (null: not while it signs, or not yet signing). */
  readonly retirable_at: string | null;
}

/** One key {@link KeyAdmin.rotate} added (or found just made). */
export interface RotatedKey {
  readonly kid: string;
  readonly alg: AsymmetricAlgorithm;
  /** ISO time it signs from. */
  readonly activates_at: string;
  /** The first key of its algorithm and use: it signs at once (nothing was published ahead). */
  readonly first: boolean;
}

/** What {@link KeyAdmin.rotate} did. */
export interface RotateResult extends RotatedKey {
  /** `JWT_ALG`, when the key is of another algorithm (it signs only where that is set). */
  readonly other_than: string | null;
  /**
   * The ID-token key rotated with it (a rotation of `JWT_ALG` ES256 or EdDSA rotates both); null
   * when ID tokens are signed by the access-token key (RS256) or another algorithm was rotated.
   */
  readonly id_token: RotatedKey | null;
}

/** What {@link KeyAdmin.retire} did. */
export interface RetireResult {
  readonly kid: string;
  /**
   * Retired with `force` although tokens may still carry it: why it was not yet retirable (those
   * tokens now fail verification everywhere). Null when it was retirable.
   */
  readonly forced: string | null;
}

/** What a {@link KeyAdminError} refused. */
export type KeyRefusal =
  | { readonly kind: "hs256_rotate" }
  | { readonly kind: "unknown_alg"; readonly alg: string }
  | {
    readonly kind: "next_pending";
    readonly kid: string;
    readonly alg: AsymmetricAlgorithm;
    readonly use: KeyUse;
    readonly activatesAt: number;
  }
  | { readonly kind: "no_such_key"; readonly kid: string }
  | {
    readonly kind: "active";
    readonly kid: string;
    readonly alg: AsymmetricAlgorithm;
    readonly use: KeyUse;
  }
  | { readonly kind: "not_retirable"; readonly kid: string; readonly reason: string };

const REFUSAL_CODE: Record<KeyRefusal["kind"], ErrorCode> = {
  hs256_rotate: "validation_failed",
  unknown_alg: "validation_failed",
  next_pending: "conflict",
  no_such_key: "not_found",
  active: "conflict",
  not_retirable: "conflict",
};

/** A refused key change: `validation_failed` (400, exit 5), `not_found` (404, 3), `conflict` (409, 4). */
export class KeyAdminError extends ApiError {
  readonly refusal: KeyRefusal;
  constructor(refusal: KeyRefusal) {
    super(REFUSAL_CODE[refusal.kind], refusalMessage(refusal));
    this.name = "KeyAdminError";
    this.refusal = refusal;
  }
}

/**
 * The refusal in words for an API caller (the CLI words `force` and `alg` as its flags).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { refusalMessage } from "./key_admin.ts";
 * assert.equal(refusalMessage({ kind: "no_such_key", kid: "k1" }), "No key k1 in the store");
 * ```
 */
export function refusalMessage(
  refusal: KeyRefusal,
  words: { force: string; alg: string; retire: (kid: string) => string } = API_WORDS,
): string {
  switch (refusal.kind) {
    case "hs256_rotate":
      return "HS256 keys are secrets in .env: move SECRET_KEY into PREVIOUS_SECRET_KEYS, set a " +
        "new SECRET_KEY, restart";
    case "unknown_alg":
      return `${words.alg} must be one of ${ASYMMETRIC_ALGORITHMS.join(", ")}`;
    case "next_pending":
      return `${refusal.kid} is already published as the next ${refusal.alg} ${
        useWords(refusal.use)
      }key (signs from ${
        iso(refusal.activatesAt)
      }): run keys rotate again once it signs, or cancel it first with ${
        words.retire(refusal.kid)
      }`;
    case "no_such_key":
      return `No key ${refusal.kid} in the store`;
    case "active":
      return `${refusal.kid} is the active ${refusal.alg} ${
        useWords(refusal.use)
      }signing key: rotate first ` +
        "(KEY_PUBLISH_AHEAD=0 for an emergency)";
    case "not_retirable":
      return `${refusal.reason}; ${words.force} retires it now`;
  }
}

const API_WORDS = {
  force: "?force=true",
  alg: "alg",
  retire: (kid: string) => `DELETE /admin/keys/${kid}?force=true`,
};

const MAX_ATTEMPTS = 10;

/** Creates the key administration service. */
export function createKeyAdmin(deps: KeyAdminDeps) {
  const { store, config, now } = deps;
  const tokenTtlMs = config.tokenTtl * 1000;
  /** The instance's `JWT_ALG` when its keys live in the store. */
  const signingAlg = isAsymmetricAlgorithm(config.jwtAlg) ? config.jwtAlg : undefined;

  /** Every key: the HS256 secrets first (under HS256), then the stored keys in set order. */
  async function list(): Promise<KeyInfo[]> {
    const at = now();
    const [current, inUse] = await Promise.all([store.read(), store.inUse()]);
    const rows: KeyInfo[] = (current?.set.keys ?? []).map((key) => {
      const set = current!.set;
      const state = signingAlg
        ? stateOf(set, key, signingAlg, at)
        : key.activates_at > at
        ? "next"
        : "retiring";
      // The active key signs now: no "last signed" yet, and it is not retirable.
      const last = state === "active" ? undefined : lastSignedAt(set, key, at, inUse);
      return {
        kid: key.kid,
        alg: key.alg,
        use: useOf(key),
        state,
        created_at: iso(key.created_at),
        activates_at: iso(key.activates_at),
        last_signed_at: last === undefined ? null : iso(last),
        retirable_at: last === undefined ? null : iso(last + tokenTtlMs),
      };
    });
    if (config.jwtAlg !== "HS256") return rows;
    // One row per secret, named by its HMAC kid. Not the ring's verification map: it also holds
    // the kids of tokens before 2.16, plain digests of each secret that a pasted list would
    // offer for testing guesses of the secret offline.
    // A secret listed twice (or SECRET_KEY again in PREVIOUS_SECRET_KEYS) is one key: one row.
    const kids = new Set(
      await Promise.all(
        [config.secretKey, ...config.previousSecretKeys].map(async (s) =>
          (await importHmacKey(s)).kid
        ),
      ),
    );
    const secrets = [...kids].map((kid, i) => ({
      kid,
      alg: "HS256",
      use: "access" as const,
      state: i === 0 ? "active (SECRET_KEY)" : "retiring (PREVIOUS_SECRET_KEYS)",
      created_at: "-",
      activates_at: "-",
      last_signed_at: null,
      retirable_at: null,
    }));
    return [...secrets, ...rows];
  }

  /**
   * Publishes a new key of `alg` (default `JWT_ALG`) that signs `KEY_PUBLISH_AHEAD` from now,
   * and, for `JWT_ALG` ES256 or EdDSA, a new RS256 ID-token key beside it on the same schedule;
   * the first key of an algorithm and use signs at once. Opening the set first proves
   * `SECRET_KEY` against the stored keys (a key under another secret would break every
   * instance), imports `KEYS_PATH` when the store has no keys yet, and adds a missing ID-token
   * key. Refused when a next key of a slot it would rotate is already published.
   */
  async function rotate(alg: string = config.jwtAlg): Promise<RotateResult> {
    if (alg === "HS256") throw new KeyAdminError({ kind: "hs256_rotate" });
    if (!isAsymmetricAlgorithm(alg)) throw new KeyAdminError({ kind: "unknown_alg", alg });
    const before = await store.read();
    const opened = await openKeySet({ ...deps.config, store, alg, now, ...noteOption() });
    const otherThan = alg === config.jwtAlg ? null : config.jwtAlg;
    // Another algorithm than JWT_ALG: only its access-token key (no instance signs with it yet).
    const slots: KeySlot[] = otherThan === null ? slotsFor(alg) : [{ use: "access", alg }];
    const isFirst = (slot: KeySlot) => !before || !signerAt(before.set, slot.alg, now(), slot.use);
    for (const slot of slots.filter((slot) => !isFirst(slot))) {
      const pending = before!.set.keys.find((k) =>
        k.alg === slot.alg && useOf(k) === slot.use && k.activates_at > now()
      );
      if (pending) {
        throw new KeyAdminError({
          kind: "next_pending",
          kid: pending.kid,
          alg: slot.alg,
          use: slot.use,
          activatesAt: pending.activates_at,
        });
      }
    }
    // One schedule and one write: the ID-token key takes over with the access-token key, and no
    // instance reads the set with one of them new and the other not yet.
    const activatesAt = now() + config.keyPublishAhead * 1000;
    const added = await appendKeys(store, {
      slots: slots.filter((slot) => !isFirst(slot)),
      kek: opened.keks[0]!,
      now: now(),
      activatesAt,
    });
    const rotated = slots.map((slot): RotatedKey => {
      if (isFirst(slot)) {
        // openKeySet has just added it (or another instance had): it signs now.
        const signer = slot.use === "access" ? opened.signing : opened.idTokenSigning;
        return rotatedKey(signer.stored.kid, slot.alg, signer.stored.activates_at, true);
      }
      const key = added.shift()!;
      return rotatedKey(key.kid, slot.alg, key.activates_at, false);
    });
    return { ...rotated[0]!, other_than: otherThan, id_token: rotated[1] ?? null };
  }

  /**
   * Removes a key once no unexpired token can carry it (it stopped signing at least `TOKEN_TTL`
   * ago); `force` removes it earlier and says what that breaks. The active key of `JWT_ALG`, and
   * the active ID-token key under ES256 and EdDSA, are always refused.
   */
  async function retire(kid: string, options: { force?: boolean } = {}): Promise<RetireResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const at = now();
      const current = await store.read();
      const key = current?.set.keys.find((k) => k.kid === kid);
      if (!current || !key) throw new KeyAdminError({ kind: "no_such_key", kid });
      if (signingAlg && stateOf(current.set, key, signingAlg, at) === "active") {
        throw new KeyAdminError({ kind: "active", kid, alg: key.alg, use: useOf(key) });
      }
      const reason = retireRefusal(current.set, kid, {
        now: at,
        tokenTtlMs,
        inUse: await store.inUse(),
      });
      if (reason !== undefined && options.force !== true) {
        throw new KeyAdminError({ kind: "not_retirable", kid, reason });
      }
      const keys = current.set.keys.filter((k) => k.kid !== kid);
      if (await store.write({ version: 1, keys }, current.versionstamp, [kid])) {
        return { kid, forced: reason ?? null };
      }
    }
    throw new ContendedError("The key set kept changing; try again");
  }

  /** After a `SECRET_KEY` change: every key a previous secret decrypts, under `SECRET_KEY`. */
  function reencrypt(): Promise<ReencryptResult> {
    return reencryptKeys(store, config.secretKey, config.previousSecretKeys);
  }

  function noteOption() {
    return deps.note === undefined ? {} : { note: deps.note };
  }

  return { list, rotate, retire, reencrypt };
}

/** The key administration service's interface. */
export type KeyAdmin = ReturnType<typeof createKeyAdmin>;

function rotatedKey(
  kid: string,
  alg: AsymmetricAlgorithm,
  activatesAt: number,
  first: boolean,
): RotatedKey {
  return { kid, alg, activates_at: iso(activatesAt), first };
}

/** "ID-token " for an ID-token key, nothing for an access-token key. */
function useWords(use: KeyUse): string {
  return use === "id_token" ? "ID-token " : "";
}
