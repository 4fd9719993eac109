/**
 * Every Deno KV key the server uses, in one place, and the one wrapper that turns a failing KV
 * into `StoreUnavailableError`.
 *
 * Layout (all values are plain JSON-like objects):
 * - `["users", userId]` -> `UserRecord` (`users/user_store.ts`), by `kv_users.ts`
 * - `["sessions", sid]` -> `SessionRecord` (`tokens/session_store.ts`), by `kv_sessions.ts`:
 *   the whole session, including the SHA-256 of its current refresh token and of that token's
 *   parent. Rewritten by each rotation; expires with the session (sliding `REFRESH_TTL`, never
 *   past `SESSION_MAX_AGE`). A session holds this key and one index key, however often it is
 *   refreshed: no key per refresh token.
 * - `["user_sessions", userUid, sid]` -> `{ createdAt, expiresAt, maxExpiresAt }` of the session
 *   (rewritten by each rotation, in its commit), the index `GET /sessions` and the session cap
 *   read: the cap counts live sessions and picks the oldest from it alone (keys written before
 *   2.23.0 hold `true`: their sessions are read); keyed by the user's never-reused internal id;
 *   expires at the session's absolute end
 * - `["session_cap", userUid]` -> `{ at, live }`: epoch ms of the user's last new session and
 *   at most how many of the user's sessions are live (a login below that bound's cap lists no
 *   index; 2.22.0 stored `at` alone): every new session rewrites it in its commit and checks it
 *   unchanged since it read the user's index (the same commit ends the oldest live sessions at
 *   the cap), so concurrent logins never exceed `MAX_SESSIONS_PER_USER`; expires with the newest
 *   session
 * - `["limits", bucket, subject]` -> a GCRA timestamp (ms; `limits/gcra.ts`), expiring when it
 *   runs back to the present, by `kv_counters.ts` (the fixed-window counters of 2.4 were
 *   `["limits", bucket, subject, windowStart]` and expire by themselves)
 * - `["oauth_clients", clientId]` -> `ClientRecord` (`oauth/client_store.ts`), by `kv_clients.ts`
 * - `["signing_keys", "set"]` -> `StoredKeySet` (`keys/key_store.ts`): the whole asymmetric key
 *   set, private halves AES-256-GCM under a key derived from `SECRET_KEY`; its versionstamp is
 *   the set's version, which every instance polls. By `kv_keys.ts`
 * - `["signing_keys", "in_use", kid]` -> epoch ms at which an instance last said it signs with
 *   `kid`; deleted with the key on retire
 * - `["served_issuer"]` -> the issuer (`ISSUER`) the last server started on this store served, so
 *   a start under another one says that earlier tokens are now refused (`kv_stores.ts`)
 * - `["mfa", userUid]` -> `MfaRecord` (`mfa/mfa_store.ts`): a user's second factors (TOTP secret
 *   sealed under `SECRET_KEY`, its last used step, recovery code hashes), by `kv_mfa.ts`
 * - `["mfa_challenges", id]` -> `MfaChallenge`: a login waiting for its second factor, keyed by
 *   the SHA-256 of its `mfa_token`, expiring with it, by `kv_mfa.ts`
 * - `["passkeys", credentialId]` -> `PasskeyRecord` (`passkeys/passkey_store.ts`): a WebAuthn
 *   credential (public key, sign counter), by `kv_passkeys.ts`; `["user_passkeys", userUid,
 *   credentialId]` -> `true`, its owner's index; `["passkey_challenges", id]` -> a one-use
 *   challenge of registration or sign-in options, expiring after 5 minutes
 * - `["health"]` -> never written; `/readyz` reads it
 *
 * Each store receives its `Deno.Kv`, so tests pass `Deno.openKv(":memory:")`. Writes that must
 * not race are atomic commits guarded by versionstamps, so several processes sharing one KV file
 * or one KV Connect store behave as one server.
 *
 * @module
 */
import { ContendedError, StoreUnavailableError } from "../errors.ts";
import { type RetryOptions, retryTransient } from "./busy_retry.ts";

/** The keys, by record. */
export const KEYS = {
  user: (userId: string): Deno.KvKey => ["users", userId],
  users: ["users"] as Deno.KvKey,
  session: (sid: string): Deno.KvKey => ["sessions", sid],
  userSession: (userUid: string, sid: string): Deno.KvKey => ["user_sessions", userUid, sid],
  userSessions: (userUid: string): Deno.KvKey => ["user_sessions", userUid],
  sessionCap: (userUid: string): Deno.KvKey => ["session_cap", userUid],
  limit: (bucket: string, subject: string): Deno.KvKey => ["limits", bucket, subject],
  client: (clientId: string): Deno.KvKey => ["oauth_clients", clientId],
  clients: ["oauth_clients"] as Deno.KvKey,
  signingKeySet: ["signing_keys", "set"] as Deno.KvKey,
  keyInUse: (kid: string): Deno.KvKey => ["signing_keys", "in_use", kid],
  keysInUse: ["signing_keys", "in_use"] as Deno.KvKey,
  servedIssuer: ["served_issuer"] as Deno.KvKey,
  health: ["health"] as Deno.KvKey,
  mfa: (userUid: string): Deno.KvKey => ["mfa", userUid],
  mfas: ["mfa"] as Deno.KvKey,
  mfaChallenge: (id: string): Deno.KvKey => ["mfa_challenges", id],
  passkey: (id: string): Deno.KvKey => ["passkeys", id],
  passkeys: ["passkeys"] as Deno.KvKey,
  userPasskey: (userUid: string, id: string): Deno.KvKey => ["user_passkeys", userUid, id],
  userPasskeys: (userUid: string): Deno.KvKey => ["user_passkeys", userUid],
  passkeyChallenge: (id: string): Deno.KvKey => ["passkey_challenges", id],
} as const;

/** Most mutations one KV atomic commit may hold. */
export const MAX_ATOMIC_MUTATIONS = 500;

/** Lost optimistic-commit races in a row before giving up with `ContendedError`. */
export const MAX_COMMIT_ATTEMPTS = 32;

/**
 * Runs one store operation. A transient busy error (SQLite's "database is locked" when another
 * process holds the file's write lock) runs it again, bounded and jittered (`busy_retry.ts`);
 * any other failure of the KV itself, or a busy one that outlasts the tries, becomes
 * `StoreUnavailableError` (the API answers 503 `unavailable`). `ContendedError` passes through.
 * Every operation re-reads what its commit checks, so running it again is safe.
 */
export async function kvCall<T>(
  what: string,
  operation: () => Promise<T>,
  retry?: RetryOptions,
): Promise<T> {
  try {
    return await retryTransient(operation, retry);
  } catch (err) {
    throw asStoreError(what, err);
  }
}

/** The error a KV failure during `what` is reported as. */
export function asStoreError(what: string, err: unknown): Error {
  if (err instanceof ContendedError || err instanceof StoreUnavailableError) return err;
  const reason = (err instanceof Error ? err.message : String(err)).slice(0, 200);
  return new StoreUnavailableError(`store failed (${what}): ${reason}`, {
    cause: err,
    operation: what,
    reason,
  });
}

/** Sets `expireIn` so an entry lasts until `at` (at least 1 ms). */
export function until(at: number, now: number): { expireIn: number } {
  return { expireIn: Math.max(1, Math.ceil(at - now)) }; // KV wants whole milliseconds
}

/** A KV entry as a {@link Versioned} value, or `undefined` when absent. */
export function versioned<T>(
  entry: Deno.KvEntryMaybe<T>,
): { value: T; versionstamp: string } | undefined {
  return entry.versionstamp === null
    ? undefined
    : { value: entry.value, versionstamp: entry.versionstamp };
}
