/**
 * The mutants `deno task mutate` runs: each is one small source edit that breaks one security
 * property the README promises. The suite must fail with every one of them applied.
 *
 * To add one: pick the property, make the smallest edit that breaks it (and still type-checks),
 * and keep `search` short and local (a line or a few tokens) so it survives unrelated
 * refactors. `search` must occur exactly once in `file`, or the harness stops before running
 * anything: a refactor can break a mutant loudly, never disable it silently.
 *
 * Left out as equivalent (the edit changes no observable behaviour, so no test can catch it):
 * - dropping `requireJson`'s check: `http/api_router.ts` answers 415 by itself for every route
 *   whose JSON body is `required` (all of ours), so only the message changes;
 * - dropping `exp` from `requiredClaims`: `checkClaimTypes` refuses a token without a numeric
 *   `exp` anyway (and the reverse);
 * - dropping `known.alg === alg` in the resolvers: the allowlist and jose's own check of the
 *   key's algorithm refuse the token anyway;
 * - `equalConstantTime` -> `===`: not observable by a functional test; a source test
 *   (tests/security/constant_time_test.ts) pins the comparison sites and the function's loop
 *   instead, and `oauth-client-compare-not-constant-time` and `constant-time-compare-early-exit`
 *   prove it.
 *
 * Removed or merged when main was restructured (issues 10-16), one line each:
 * - `rotation-token-versionstamp`: refresh tokens have no records any more (issue 11: one
 *   session record, children derived from parents); `rotation-session-versionstamp` holds it.
 * - `refresh-grace-reusable`: the grace window no longer forgives once; any presenter of the
 *   parent gets the current token within it (`reuse-interval-unbounded` is its bound).
 * - `refresh-grace-after-child-used`: once the child is used the old token is a grandparent,
 *   which revokes (`reuse-older-token-forgiven`).
 * - `refresh-grace-window-long`: became `reuse-interval-unbounded`.
 * - `login-locked-account-no-dummy`: a refused login checks no password at all now (issue 12);
 *   tests/security/login_dummy_hash_test.ts asserts it, the limit mutants break it.
 * - `gate-revoked-session-live`, `refresh-revoked-session-slow-path`: one definition now
 *   (`isSessionLive`): `session-live-ignores-revocation` and `refresh-revoked-session`.
 * - `gate-disabled-user-live`, `refresh-disabled-user-slow-path`: one definition now
 *   (`isSessionUsable`): `session-usable-disabled-user` and `refresh-skips-user-check`.
 * - `refresh-token-not-random`: the first token's secret part is random as before, but a
 *   zeroed secret is not observable (the family id is); `refresh-family-not-random`.
 * - `gate-lost-role-live` (the gate's `entry.roles.includes(claims.role)`): equivalent now: a
 *   token's role is its session's, which `isSessionUsable` checks (`session-usable-lost-role`).
 * - `login-locked` fixed-window counters: limits are GCRA cells now (`gcra-burst-doubled`).
 *
 * @module
 */

/** One source edit that breaks one promised property. */
export interface Mutant {
  /** Short unique id, kebab-case. */
  readonly name: string;
  /** The property it breaks, in the README's terms. */
  readonly property: string;
  /** Path from the repository root. */
  readonly file: string;
  /** Exact text, which must occur exactly once in `file`. */
  readonly search: string;
  readonly replace: string;
}

export const MUTANTS: readonly Mutant[] = [
  // ---- access token verifier ----
  {
    name: "verifier-alg-allowlist",
    property: "only the configured algorithms are accepted, whatever the token header says",
    file: "src/tokens/access_token.ts",
    search: `typeof alg !== "string" || !(options.algorithms as readonly string[]).includes(alg)`,
    replace: `typeof alg !== "string"`,
  },
  {
    name: "verifier-exp-ignored",
    property: "expired tokens are refused (exp checked against the current time)",
    file: "src/tokens/access_token.ts",
    search: "currentDate: new Date(options.now),",
    replace: "currentDate: new Date(0),",
  },
  {
    name: "verifier-iss-unchecked",
    property: "iss must be the configured issuer",
    file: "src/tokens/access_token.ts",
    search: "      issuer: options.issuer,\n",
    replace: "",
  },
  {
    name: "verifier-aud-unchecked",
    property: "aud must match AUDIENCE when it is set",
    file: "src/tokens/access_token.ts",
    search: "? { audience: options.audience } : {}",
    replace: "? {} : {}",
  },
  {
    name: "verifier-typ-unchecked",
    property: "typ must be JWT",
    file: "src/tokens/access_token.ts",
    search: `typ: "JWT",\n      requiredClaims`,
    replace: "requiredClaims",
  },
  {
    name: "verifier-unknown-kid-falls-back",
    property: "the kid must name a known key (no fallback to the signing key)",
    file: "src/tokens/access_token.ts",
    search: "const known = keys().verification.get(kid);",
    replace: "const known = keys().verification.get(kid) ?? keys().signing;",
  },
  {
    name: "verifier-static-key-unknown-kid",
    property: "requireAuth({ key }): the kid must name one of the given keys",
    file: "src/middleware/require_auth.ts",
    search: "const entry = known.get(kid);",
    replace: "const entry = known.get(kid) ?? list[0];",
  },
  {
    name: "verifier-jku-allowed",
    property: "tokens pointing at keys elsewhere (jku, x5u, jwk, x5c) are refused",
    file: "src/tokens/access_token.ts",
    search: `const FORBIDDEN_HEADERS = ["jku", "x5u", "jwk", "x5c",`,
    replace: `const FORBIDDEN_HEADERS = [`,
  },
  {
    name: "verifier-crit-allowed",
    property: "tokens with crit / b64 headers are refused",
    file: "src/tokens/access_token.ts",
    search: `"b64", "crit"];`,
    replace: `];`,
  },
  {
    name: "verifier-base64url-not-canonical",
    property: "only the canonical base64url spelling of each segment is accepted",
    file: "src/tokens/access_token.ts",
    search: "return base64url.encode(base64url.decode(segment)) === segment;",
    replace: "return base64url.decode(segment).length >= 0;",
  },
  {
    name: "verifier-no-length-cap",
    property: "tokens over 8 KiB are refused before any parsing",
    file: "src/tokens/access_token.ts",
    search: "token.length > MAX_TOKEN_LENGTH ||",
    replace: "",
  },
  {
    name: "verifier-role-claim-type",
    property: "sub, role and iss must be non-empty strings",
    file: "src/oidc/claims.ts",
    search: 'role: {\n    type: "text",',
    replace: 'role: {\n    type: "string",',
  },
  {
    name: "verifier-jwks-hs256",
    property: "a JWKS verifier never accepts HS256",
    file: "src/middleware/require_auth.ts",
    search: `if (algorithms.includes("HS256")) throw`,
    replace: `if (algorithms.length < 0) throw`,
  },
  {
    name: "verifier-cache-outlives-key",
    property: "a cached token stops verifying once its key leaves the ring",
    file: "src/middleware/require_auth.ts",
    search: "if (cached && isKnownKid(cached.kid)) return",
    replace: "if (cached) return",
  },
  {
    name: "verifier-roles-ignored",
    property: "a role-gated requireAuth answers 403 to other roles",
    file: "src/middleware/require_auth.ts",
    search: "if (roles && !roles.has(claims.role))",
    replace: "if (roles && roles.size === 0)",
  },
  {
    name: "verifier-is-active-ignored",
    property: "requireAuth's isActive (session revoked?) refuses with 401",
    file: "src/middleware/require_auth.ts",
    search: "!(await options.isActive(claims))",
    replace: "!(await options.isActive(claims) || true)",
  },
  {
    name: "signer-ttl",
    property: "access tokens live exactly TOKEN_TTL (exp - iat), within the session's end",
    file: "src/tokens/access_token.ts",
    search: "Math.min(iat + options.ttl, subject.notAfter",
    replace: "Math.min(iat + options.ttl * 1000, subject.notAfter",
  },

  // ---- requireAuth subjects and scopes (issue 14) ----
  {
    name: "require-auth-subjects-ignored",
    property: "requireAuth({ subjects }) refuses the other kind of token (403 subject_not_allowed)",
    file: "src/middleware/require_auth.ts",
    search:
      'if (subjects !== "any" && isServiceAccountToken(claims) !== (subjects === "clients")) {',
    replace:
      'if (subjects !== "any" && isServiceAccountToken(claims) !== (subjects === "clients") && !claims) {',
  },
  {
    name: "require-auth-default-subjects-any",
    property:
      "requireAuth without subjects/scopes accepts user tokens only, never service-account tokens",
    file: "src/middleware/require_auth.ts",
    search: 'const subjects = options.subjects ?? (scopes ? "clients" : "users");',
    replace: 'const subjects = options.subjects ?? "any";',
  },
  {
    name: "require-auth-scopes-ignored",
    property:
      "requireAuth({ scopes }) refuses a token lacking one of them (403 insufficient_scope)",
    file: "src/middleware/require_auth.ts",
    search: "const missing = scopes.filter((scope) => !granted.has(scope));",
    replace: "const missing = scopes.filter((scope) => !granted.has(scope) && !scope);",
  },

  // ---- session gate (bearer tokens of ended sessions) and epochs (issue 11) ----
  {
    name: "session-live-ignores-revocation",
    property: "a token or refresh of a revoked (logged-out) session is refused",
    file: "src/tokens/session_store.ts",
    search: "session !== undefined && session.revokedAt === undefined && session.expiresAt > now",
    replace: "session !== undefined && session.expiresAt > now",
  },
  {
    name: "session-usable-disabled-user",
    property:
      "a disabled user's sessions are unusable (gate and refresh), even before any revocation",
    file: "src/tokens/session_store.ts",
    search: "userUid(user) === session.userUid && !user.disabled &&",
    replace: "userUid(user) === session.userUid &&",
  },
  {
    name: "session-usable-lost-role",
    property:
      "a token whose role the user lost is refused (gate and refresh), even before any revocation",
    file: "src/tokens/session_store.ts",
    search: "!user.disabled &&\n    user.roles.includes(session.role) &&",
    replace: "!user.disabled &&",
  },
  {
    name: "session-epoch-kept-any",
    property: "a self-service password change keeps only the session that made it (epoch check)",
    file: "src/tokens/session_store.ts",
    search: "kept !== undefined && kept.sid === session.sid && session.epoch >= kept.epoch",
    replace: "kept !== undefined && session.epoch >= kept.epoch",
  },
  {
    name: "session-epoch-check-loosened",
    property:
      "a session from before the user's latest epoch bump (password change, disable, role loss) is unusable everywhere",
    file: "src/tokens/session_store.ts",
    search: "return session.epoch === sessionEpoch(user) || isKept(session, keptSession(user));",
    replace: "return session.epoch <= sessionEpoch(user) || isKept(session, keptSession(user));",
  },
  {
    name: "session-epoch-start",
    property: "a session started now ends at the user's next epoch bump (password change, disable)",
    file: "src/tokens/sessions.ts",
    search: "      epoch: sessionEpoch(user),\n",
    replace: "      epoch: sessionEpoch(user) + 1,\n",
  },
  {
    name: "session-epoch-refresh",
    property: "a refreshed (rebound) session still ends at the user's next epoch bump",
    file: "src/tokens/sessions.ts",
    search: "epoch: user ? sessionEpoch(user) : before.epoch,",
    replace: "epoch: user ? sessionEpoch(user) + 1 : before.epoch,",
  },
  {
    name: "gate-floor-ignored",
    property:
      "a session gate that saw a revocation of the user never accepts an older session again",
    file: "src/tokens/session_gate.ts",
    search: "return epoch < floor.epoch && !isKept({ sid, epoch }, floor.kept);",
    replace: "return epoch < floor.epoch && !floor;",
  },

  // ---- refresh tokens and sessions ----
  {
    name: "refresh-reuse-keeps-session",
    property: "presenting a spent (older) refresh token revokes the session",
    file: "src/tokens/sessions.ts",
    search: "      await deps.store.revokeSession(sid, now);\n",
    replace: "",
  },
  {
    name: "reuse-interval-unbounded",
    property: "the parent gets the current token back only within REFRESH_GRACE_SECONDS",
    file: "src/tokens/sessions.ts",
    search:
      "if (hash === session.parentHash && now - session.refreshedAt < deps.graceSeconds * 1000) {",
    replace: "if (hash === session.parentHash) {",
  },
  {
    name: "reuse-older-token-forgiven",
    property: "only the parent is forgiven: an older token of the family revokes the session",
    file: "src/tokens/sessions.ts",
    search: "if (hash === session.parentHash && now - session.refreshedAt",
    replace: "if (hash !== session.currentHash && now - session.refreshedAt",
  },
  {
    name: "reuse-interval-decided-on-first-read",
    property:
      "a grace answer is decided on a fresh snapshot: a logout acknowledged before it wins (review 2)",
    file: "src/tokens/sessions.ts",
    search: "(the next attempt).\n        if (attempt === 0) continue;\n",
    replace: "(the next attempt).\n",
  },
  {
    name: "refresh-expired-accepted",
    property: "a refresh token of an expired session (REFRESH_TTL, sliding) is refused",
    file: "src/tokens/sessions.ts",
    search: "if (!isSessionLive(session, now)) throw invalidRefresh();",
    replace: "",
  },
  {
    name: "refresh-revoked-session",
    property: "a revoked session's refresh token is refused",
    file: "src/tokens/sessions.ts",
    search:
      "if (session.revokedAt !== undefined) throw sessionEnded();\n      if (!isSessionLive(session, now)) throw invalidRefresh();",
    replace: "if (session.expiresAt <= now || session.maxExpiresAt <= now) throw invalidRefresh();",
  },
  {
    name: "refresh-skips-user-check",
    property: "a refresh checks the user (enabled, role, epoch, same uid) on the slow path",
    file: "src/tokens/sessions.ts",
    search: "if (isSessionUsable(session, user?.value, now)) return;",
    replace: 'if (session.sid !== "\\u0000") return;',
  },
  {
    name: "refresh-token-other-client",
    property:
      "a refresh token works only with the OAuth client it was issued to (none at /refresh)",
    file: "src/tokens/sessions.ts",
    search: "if (session.clientId !== clientId) throw wrongClient(session.clientId, clientId);",
    replace: "",
  },
  {
    name: "rotation-session-versionstamp",
    property:
      "no rotation commits past a concurrent rotation or revocation (session versionstamp checked): no fork, no revival",
    file: "src/store/kv_sessions.ts",
    search:
      "        .check({ key: KEYS.session(session.sid), versionstamp: sessionVersionstamp })\n",
    replace: "",
  },
  {
    name: "rotation-user-versionstamp",
    property: "no rotation commits past a change to the user (user versionstamp checked)",
    file: "src/store/kv_sessions.ts",
    search: "        .check({ key: KEYS.user(session.userId), versionstamp: userVersionstamp })\n",
    replace: "",
  },
  {
    name: "login-session-user-versionstamp",
    property: "a login racing a password change or removal stores no session",
    file: "src/store/kv_sessions.ts",
    search:
      "        op.check({ key: KEYS.user(session.userId), versionstamp: userVersionstamp });\n",
    replace: "",
  },
  {
    name: "refresh-family-not-random",
    property: "refresh tokens (their family id) are random",
    file: "src/tokens/refresh_token.ts",
    search: "return crypto.getRandomValues(new Uint8Array(FAMILY_BYTES));",
    replace: "return new Uint8Array(FAMILY_BYTES);",
  },
  {
    name: "session-cap-ignored",
    property: "MAX_SESSIONS_PER_USER: a login beyond it ends the oldest session (Deno KV, fakes)",
    file: "src/tokens/session_store.ts",
    search: "    .slice(0, ending);",
    replace: "    .slice(0, 0);",
  },
  {
    name: "session-cap-index-count-loose",
    property:
      "MAX_SESSIONS_PER_USER: the index count that skips the cap check never lets one more in",
    file: "src/store/kv_sessions.ts",
    search: "if (index.length < max) return { ending: [], live: index.length };",
    replace: "if (index.length <= max) return { ending: [], live: index.length };",
  },
  {
    name: "session-max-age-ignored",
    property: "SESSION_MAX_AGE ends a session however often it is refreshed",
    file: "src/tokens/sessions.ts",
    search: "const maxExpiresAt = Math.min(now + maxAgeMs,",
    replace: "const maxExpiresAt = Math.min(now + maxAgeMs * 1000,",
  },

  // ---- limits (issue 12: GCRA in the store, refusals from memory, device tokens) and the flood gate ----
  {
    name: "limit-login-client",
    property: "LOGIN_LIMIT_PER_CLIENT answers 429",
    file: "src/users/login_service.ts",
    search: "await limiter.take([...perClient, budget])",
    replace: "await limiter.take([budget])",
  },
  {
    name: "limit-login-account",
    property: "LOGIN_LIMIT_PER_ACCOUNT answers 429",
    file: "src/users/login_service.ts",
    search: "await limiter.take([...perClient, budget])",
    replace: "await limiter.take([...perClient])",
  },
  {
    name: "limit-refresh-client",
    property: "REFRESH_LIMIT_PER_CLIENT answers 429",
    file: "src/tokens/refresh_service.ts",
    search: "if (limit.limited) {",
    replace: "if (limit.limited && limit.retryAfter < 0) {",
  },
  {
    name: "gcra-burst-doubled",
    property: "a limit allows exactly its max attempts per window (GCRA burst = max)",
    file: "src/limits/gcra.ts",
    search: "if (next - now <= cell.windowMs) return",
    replace: "if (next - now <= 2 * cell.windowMs) return",
  },
  {
    name: "limit-memory-refusal-ignored",
    property: "a subject the store refused is refused from memory until its wait ends",
    file: "src/limits/rate_limiter.ts",
    search: "        if (until > at) {\n",
    replace: "        if (until > at && at < 0) {\n",
  },
  {
    name: "limit-in-flight-unbounded",
    property: "concurrent attempts beyond a limit's max are refused before the store counts them",
    file: "src/limits/rate_limiter.ts",
    search: "export const MAX_IN_FLIGHT = 64;",
    replace: "export const MAX_IN_FLIGHT = 1_000_000;",
  },
  {
    name: "flood-gate-open",
    property: "a client over its login limit is refused before routing (flood gate)",
    file: "src/flood_gate.ts",
    search: "if (refusal === undefined) return undefined;",
    replace: 'if (refusal === undefined || !refusal.source.startsWith("x")) return undefined;',
  },
  {
    name: "flood-gate-path-undecoded",
    property: "the flood gate sees every spelling the router routes to /login (/%6Cogin)",
    file: "src/flood_gate.ts",
    search: 'return getPath(request) === "/login";',
    replace: 'return new URL(request.url).pathname === "/login";',
  },
  {
    name: "device-token-signature-unchecked",
    property: "a device token's HMAC signature is checked",
    file: "src/users/device_tokens.ts",
    search:
      'if (!sameBytes(decode(signature), mac(`${PREFIX}.${payload}`))) return { problem: "invalid" };',
    replace: "",
  },
  {
    name: "device-token-other-user",
    property: "a device token is bound to the user it was issued to",
    file: "src/users/device_tokens.ts",
    search: 'if (claims.u !== userId) return { problem: "other_user" };',
    replace: "",
  },
  {
    name: "device-token-expiry-ignored",
    property: "an expired device token is not trusted",
    file: "src/users/device_tokens.ts",
    search: 'if (claims.e * 1000 <= options.now()) return { problem: "expired" };',
    replace: "",
  },
  {
    name: "device-token-password-change",
    property: "a password change makes the user's device tokens untrusted (hash fingerprint)",
    file: "src/users/login_service.ts",
    search: "if (!user || !devices.fingerprintMatches(claim, user.value.passwordHash)) {",
    replace: "if (!user) {",
  },
  {
    name: "device-token-factors-unchecked",
    property:
      "a device token minted before the user's second factor existed buys no code guesses: codes are bounded per account, not per token minted",
    file: "src/users/login_service.ts",
    search: 'if (!devices.factorsMatch(claim, factors)) return void seen("factors_changed");',
    replace: "",
  },
  {
    name: "device-token-factor-stamp-ignores-enrolment",
    property:
      "a replaced second factor (removed and enrolled again) ends the device tokens of the old one",
    file: "src/mfa/mfa_login.ts",
    search: "return record?.totp ? `totp/${record.totp.confirmedAt}` : undefined;",
    replace: 'return record?.totp ? "totp" : undefined;',
  },
  {
    name: "device-token-after-code-unbound",
    property:
      "a device token from a login with the second factor keeps its device out of the account's lock (JSON API)",
    file: "src/mfa/mfa_login.ts",
    search: "factors: activeFactorStamp(factors.value),",
    replace: "factors: undefined,",
  },
  {
    name: "device-cookie-after-code-unbound",
    property:
      "the login page's device cookie from a sign-in with the second factor keeps the browser out of the account's lock",
    file: "src/routes/login_page.ts",
    search: "{ user, proof: passed, client }",
    replace: "{ user, proof: { ...passed, factors: undefined }, client }",
  },
  {
    name: "device-token-shares-account-budget",
    property:
      "a trusted device has its own login budget: an attacker locking the account does not lock it out",
    file: "src/users/login_service.ts",
    search: ': { bucket: "login_device", subject: device, rate: limits.perAccount };',
    replace: ': { bucket: "login_account", subject: userId, rate: limits.perAccount };',
  },
  {
    name: "limit-ipv6-per-address",
    property: "IPv6 clients are limited per /64, not per address",
    file: "src/client_address.ts",
    search: "if (!parsed || parsed.version === 4) return address;",
    replace: `if (!parsed || parsed.version === 4 || address !== "") return address;`,
  },

  // ---- proxy trust ----
  {
    name: "proxy-untrusted-peer-believed",
    property: "X-Forwarded-For is believed only from a TRUST_PROXY peer",
    file: "src/client_address.ts",
    search: "!isTrusted(trusted, peer) || ",
    replace: "",
  },
  {
    name: "proxy-leftmost-hop",
    property: "the client is the rightmost untrusted hop, not the client-written leftmost",
    file: "src/client_address.ts",
    search: "if (!isTrusted(trusted, hop)) return normalize(hop);",
    replace: "if (!isTrusted(trusted, hop)) return normalize(hops[0] ?? hop);",
  },

  // ---- configuration and files ----
  {
    name: "config-short-secret",
    property: "SECRET_KEY must be at least 32 bytes",
    file: "src/config/secrets.ts",
    search: "const MIN_SECRET_BYTES = 32;",
    replace: "const MIN_SECRET_BYTES = 8;",
  },
  {
    name: "config-placeholder-secret",
    property: "the placeholder SECRET_KEY of .env.example is refused",
    file: "src/config/secrets.ts",
    search: "if (PLACEHOLDER_SECRETS.has(secret.toLowerCase())) {",
    replace: "if (PLACEHOLDER_SECRETS.size < 0) {",
  },
  {
    name: "config-repetitive-secret",
    property: "a repetitive SECRET_KEY is refused",
    file: "src/config/secrets.ts",
    search: "if (new Set(secret).size < 10) {",
    replace: "if (new Set(secret).size < 1) {",
  },
  {
    name: "config-previous-secrets-unchecked",
    property: "PREVIOUS_SECRET_KEYS obey the same rules as SECRET_KEY",
    file: "src/config/secrets.ts",
    search: "items(value).map((s) => requireSecret(s, name))",
    replace: "items(value)",
  },
  {
    name: "env-file-world-readable",
    property: "the first run writes .env (SECRET_KEY) with mode 0600",
    file: "src/config/load_config.ts",
    search: "{ createNew: true, mode: 0o600 }",
    replace: "{ createNew: true, mode: 0o644 }",
  },
  {
    name: "env-line-not-read-back",
    property:
      "a first-run .env line reads back exactly (a METRICS_TOKEN with # or quotes is never truncated)",
    file: "src/config/env_file.ts",
    search: 'if (read[name] === value && read.ENV_LINE_BEFORE === "1"',
    replace: 'if (read[name] !== undefined && read.ENV_LINE_BEFORE === "1"',
  },
  {
    name: "key-file-world-readable",
    property: "secret files (.env, key file) are written with mode 0600",
    file: "src/files.ts",
    search: "export async function replaceFile(path: string, text: string, mode = 0o600)",
    replace: "export async function replaceFile(path: string, text: string, mode = 0o644)",
  },

  // ---- keys, key store and JWKS (issue 13) ----
  {
    name: "jwks-publishes-d",
    property: "the JWKS never publishes a private member",
    file: "src/crypto/keys.ts",
    search: `const PRIVATE_MEMBERS = ["d", `,
    replace: `const PRIVATE_MEMBERS = [`,
  },
  {
    name: "jwks-publishes-hmac-secret",
    property: "with HS256 the JWKS is empty (the secret is never published)",
    file: "src/crypto/keys.ts",
    search: "  return { signing, verification, jwks: { keys: [] } };",
    replace:
      '  return { signing, verification, jwks: { keys: [{ kty: "oct", k: base64url.encode(new TextEncoder().encode(secret)) }] } };',
  },
  {
    name: "key-secret-not-proven",
    property: "SECRET_KEY must decrypt the stored key set before anything is written to it",
    file: "src/keys/key_set_writes.ts",
    search: "if (keys.length > 0 && !(await decryptsAny(keys, keks))) {",
    replace: "if (keys.length < 0 && !(await decryptsAny(keys, keks))) {",
  },
  {
    name: "key-encryption-ignores-secret",
    property:
      "stored private keys are encrypted under SECRET_KEY (another secret cannot decrypt them)",
    file: "src/keys/key_encryption.ts",
    search: '    new TextEncoder().encode(secret),\n    "HKDF",',
    replace: '    new TextEncoder().encode(secret.slice(0, 0)),\n    "HKDF",',
  },
  {
    name: "key-aad-unbound",
    property: "a stored private key is bound to its kid and alg (AES-GCM associated data)",
    file: "src/keys/key_set.ts",
    search: "  return `${key.kid}.${key.alg}`;",
    replace: "  return `${key.kid.slice(0, 0)}`;",
  },
  {
    name: "key-next-signs-early",
    property: "a published-ahead key signs only from its activation time",
    file: "src/keys/key_set.ts",
    search: "if (key.alg !== alg || useOf(key) !== use || key.activates_at > now) continue;",
    replace: "if (key.alg !== alg || useOf(key) !== use) continue;",
  },
  {
    name: "key-rotate-no-publish-ahead",
    property: "keys rotate publishes the new key KEY_PUBLISH_AHEAD before it signs",
    file: "src/keys/key_admin.ts",
    search: "const activatesAt = now() + config.keyPublishAhead * 1000;",
    replace: "const activatesAt = now();",
  },
  {
    name: "key-retire-too-early",
    property:
      "a key is retired only once no unexpired token can carry it (last signed + TOKEN_TTL)",
    file: "src/keys/key_set.ts",
    search: "if (now < safeFrom) {",
    replace: "if (now < last) {",
  },
  {
    name: "readyz-keys-out-of-date-ignored",
    property: "/readyz answers 503 keys_out_of_date when this instance cannot follow the key set",
    file: "src/routes/health.ts",
    search: "if (outOfDate !== undefined) {",
    replace: 'if (outOfDate !== undefined && outOfDate === "\\u0000") {',
  },

  // ---- OAuth clients (issue 14) ----
  {
    name: "oauth-client-secret-unchecked",
    property: "a client authenticates only with its own secret",
    file: "src/oauth/client_service.ts",
    search: "return entry && !secretless && same && secret.length <= MAX_SECRET_LENGTH",
    replace: "return entry",
  },
  {
    name: "oauth-client-compare-not-constant-time",
    property: "client secrets are compared in constant time (equalConstantTime of digests)",
    file: "src/oauth/client_service.ts",
    search: "const same = equalConstantTime(presented, expected);",
    replace: "const same = presented.every((byte, i) => byte === expected[i]);",
  },
  {
    name: "oauth-two-auth-methods",
    property:
      "a request uses one client authentication method (Basic and client_secret together: 400)",
    file: "src/routes/oauth/oauth_request.ts",
    search:
      '    if (postedSecret !== undefined) {\n      throw new OAuthError("invalid_request", "use one client authentication method, not two");\n    }\n',
    replace: "",
  },
  {
    name: "oauth-basic-id-mismatch",
    property: "a posted client_id must match the Basic credentials",
    file: "src/routes/oauth/oauth_request.ts",
    search: "if (postedId !== undefined && postedId !== basic.clientId) {",
    replace:
      'if (postedId !== undefined && postedId !== basic.clientId && postedId === "\\u0000") {',
  },
  {
    name: "oauth-registered-client-unauthenticated",
    property:
      "a registered client_id without its secret is refused (invalid_client), never treated as public",
    file: "src/routes/oauth/oauth_request.ts",
    search: "if (await clients.exists(credentials.clientId)) {",
    replace:
      'if (credentials.clientId === "\\u0000" && await clients.exists(credentials.clientId)) {',
  },
  {
    name: "oauth-introspect-no-client",
    property: "/oauth/introspect requires client authentication",
    file: "src/routes/oauth.ts",
    search: "const { body, client, address } = await start(c, true);",
    replace: "const { body, client, address } = await start(c, false);",
  },
  {
    name: "client-generation-unchecked",
    property: "a rotated client secret makes the client's earlier tokens inactive (client_gen)",
    file: "src/oauth/client_service.ts",
    search: "return client !== undefined && client.generation === claims.client_gen &&",
    replace: "return client !== undefined &&",
  },
  {
    name: "client-removed-token-active",
    property: "a removed client's tokens are inactive",
    file: "src/oauth/client_service.ts",
    search: "return client !== undefined && client.generation === claims.client_gen &&",
    replace: "return client === undefined || client.generation === claims.client_gen &&",
  },

  // ---- admin authorisation and user changes ----
  {
    name: "admin-routes-any-user",
    property: "the admin API requires the admin role",
    file: "src/routes/admin.ts",
    search: "const middleware = requireAdmin;",
    replace: "const middleware = ctx.requireUser;",
  },
  {
    name: "admin-last-admin-removable",
    property: "the last enabled admin cannot be removed, disabled or demoted",
    file: "src/users/user_service.ts",
    search: "if (user.value.id !== exceptId && isActiveAdmin(user.value)) {",
    replace: "if (isActiveAdmin(user.value)) {",
  },
  {
    name: "password-change-keeps-sessions",
    property: "a password change ends every session of the user",
    file: "src/users/user_service.ts",
    search: "const endsSessions = passwordHash !== undefined || change.endSessions",
    replace: "const endsSessions = change.endSessions",
  },
  {
    name: "disable-keeps-sessions",
    property: "disabling a user ends every session of the user (re-enabling revives none)",
    file: "src/users/user_service.ts",
    search: "(proposed.disabled && !before.disabled) || lostRole;",
    replace: "lostRole;",
  },
  {
    name: "login-disabled-user",
    property: "a disabled user cannot log in",
    file: "src/users/user_service.ts",
    search: "!password.isWellFormed() || found.value.disabled) {",
    replace: "!password.isWellFormed()) {",
  },
  {
    name: "password-lone-surrogate",
    property: "a password with a lone surrogate never matches (backends read it as U+FFFD)",
    file: "src/users/user_service.ts",
    search: "!matches || !password.isWellFormed() ||",
    replace: "!matches ||",
  },

  // ---- passwords and timing parity ----
  {
    name: "login-unknown-user-no-dummy",
    property: "an unknown user's login costs a (dummy) argon2id verification",
    file: "src/users/user_service.ts",
    search: ": await hasher.verifyDummy(password);",
    replace: ": false;",
  },
  {
    name: "password-malformed-hash-lets-in",
    property: "a malformed stored hash never lets anyone in",
    file: "src/crypto/passwords.ts",
    search: "return false; // a malformed stored hash never lets anyone in",
    replace: "return true;",
  },
  {
    name: "password-no-rehash",
    property: "a hash weaker than the current parameters is upgraded at login",
    file: "src/users/user_service.ts",
    search: "if (hasher.needsRehash(found.value.passwordHash)) {",
    replace: "if (hasher.needsRehash(found.value.passwordHash) && userId === '') {",
  },
  {
    name: "password-rehash-memory-ignored",
    property: "needsRehash reports a hash with less memory than the current parameters",
    file: "src/crypto/passwords.ts",
    search: "stored.memoryCost < params.memoryCost ||",
    replace: "",
  },
  {
    name: "password-weak-params-allowed",
    property: "argon2id parameters below OWASP's minimum are refused",
    file: "src/crypto/passwords.ts",
    search: "params.memoryCost < OWASP_MINIMUM.memoryCost ||",
    replace: "",
  },
  {
    name: "phc-memory-unbounded",
    property: "a stored hash above the memory bound (256 MiB) is unusable, never verified",
    file: "src/crypto/argon2_phc.ts",
    search: "memoryCost: { min: 8, max: 262_144 },",
    replace: "memoryCost: { min: 8, max: 4_194_304 },",
  },
  {
    name: "timing-padding-dropped",
    property:
      "a verify of a hash with other parameters lasts as long as a current one (timing padding)",
    file: "src/crypto/passwords.ts",
    search: "atLeast(currentCost.pick(), () => backend.verify(phc, password))",
    replace: "backend.verify(phc, password)",
  },
  {
    name: "password-min-length",
    property: "passwords shorter than 8 characters are refused",
    file: "src/users/user_rules.ts",
    search: "if (password.length < MIN_PASSWORD_LENGTH) {",
    replace: "if (password.length < 1) {",
  },

  // ---- metrics ----
  {
    name: "metrics-token-any",
    property: "with METRICS_TOKEN set, /metrics needs that bearer token",
    file: "src/routes/metrics.ts",
    search: "!equalConstantTime(sha256(given), expectedDigest)",
    replace: "!equalConstantTime(sha256(given), sha256(given))",
  },

  // ---- requests, bodies, headers, logs ----
  {
    name: "body-limit-16k",
    property: "bodies over 16 KiB are refused with 413",
    file: "src/middleware/json_body.ts",
    search: "export const MAX_BODY_BYTES = 16 * 1024;",
    replace: "export const MAX_BODY_BYTES = 16 * 1024 * 1024;",
  },
  {
    name: "body-limit-admin-routes",
    property: "every route that takes a JSON body has the 16 KiB limit and the JSON check",
    file: "src/app.ts",
    search: 'const JSON_BODY_PATHS = ["/login", "/refresh", "/admin/*", "/me/password"] as const;',
    replace: 'const JSON_BODY_PATHS = ["/login"] as const;',
  },
  {
    name: "headers-cache-no-store",
    property: "every answer carries Cache-Control: no-store (tokens are never cached)",
    file: "src/middleware/security_headers.ts",
    search: '["cache-control", "no-store"],',
    replace: '["cache-control", "private"],',
  },
  {
    name: "log-password",
    property: "passwords are never logged",
    file: "src/users/login_service.ts",
    search: 'emit({ type: "login_failed", user_id: userId, client });',
    replace: 'emit({ type: "login_failed", user_id: userId, client: client + password });',
  },

  // ---- issue 23: security round 3 ----
  {
    name: "oauth-client-login-budget-per-address",
    property:
      "a confidential client's password grants count against its own budget, not its backend's address",
    file: "src/users/login_service.ts",
    search: "if (check.clientId === undefined) return [clientLimit(check.client)];",
    replace: "if (check.clientId !== null) return [clientLimit(check.client)];",
  },
  {
    name: "oauth-client-login-budget-unlimited",
    property: "an authenticated OAuth client's password grants have a budget of their own",
    file: "src/users/login_service.ts",
    search: "check.endUserAddress === undefined ? [own] :",
    replace: "check.endUserAddress === undefined ? [] :",
  },
  {
    name: "end-user-address-not-counted",
    property: "the end-user address a trusted client names is counted under the per-address limit",
    file: "src/users/login_service.ts",
    search: ": [own, clientLimit(check.endUserAddress)];",
    replace: ": [own];",
  },
  {
    name: "end-user-address-from-any-client",
    property: "only a client named in TRUST_FORWARDING_CLIENTS may name an end-user address",
    file: "src/routes/oauth.ts",
    search: "if (!config.trustForwardingClients.includes(client.clientId)) return undefined;",
    replace: 'if (client.clientId === "\\u0000") return undefined;',
  },
  {
    name: "oauth-client-refresh-budget-per-address",
    property: "a confidential client's refreshes count against its own budget, not its address",
    file: "src/tokens/refresh_service.ts",
    search: "const limits: [RefreshLimit, string, Rate][] = clientId === undefined",
    replace: "const limits: [RefreshLimit, string, Rate][] = clientId !== null",
  },
  {
    name: "refresh-end-user-address-not-counted",
    property: "a trusted client's end user is counted under the per-address refresh limit",
    file: "src/tokens/refresh_service.ts",
    search:
      '      limits.push(["refresh_client", limitSubject(endUserAddress), deps.perClient]);\n',
    replace: "",
  },
  {
    name: "reuse-unproven-token-revokes",
    property:
      "a token with a session's family id but a secret half the server never issued ends nothing",
    file: "src/tokens/sessions.ts",
    search: "      if (!isIssued(refreshToken, session)) throw invalidRefresh();\n",
    replace: "",
  },
  {
    name: "revoke-unproven-token",
    property: "/logout and /oauth/revoke end a session only for a token the server issued",
    file: "src/tokens/sessions.ts",
    search: "if (!found || !isIssued(refreshToken, found.value)) return undefined;",
    replace: "if (!found) return undefined;",
  },
  {
    name: "reuse-older-token-mac-ignored",
    property: "an older token the server issued (proven by its MAC) is still reuse and revokes",
    file: "src/tokens/refresh_token.ts",
    search: "return equalConstantTime(mac, macOf(key, family, counter));",
    replace: "return mac.length < 0;",
  },
  {
    name: "revoke-refresh-token-any-client",
    property: "a refresh token is revoked only by the client it was issued to (RFC 7009 2.1)",
    file: "src/tokens/sessions.ts",
    search:
      "return undefined;\n    if (found.value.clientId !== clientId) throw wrongClient(found.value.clientId, clientId);\n    return await revoke(sid, reason) ?? found.value;",
    replace: "return undefined;\n    return await revoke(sid, reason) ?? found.value;",
  },
  {
    name: "revoke-access-token-any-client",
    property: "a session's access token is revoked only by the client it was issued to",
    file: "src/tokens/sessions.ts",
    search:
      "if (!found) return false;\n    if (found.value.clientId !== clientId) throw wrongClient(found.value.clientId, clientId);",
    replace: "if (!found) return false;",
  },
  {
    name: "refresh-token-mac-unkeyed",
    property: "a refresh token (first or child) cannot be computed without SECRET_KEY",
    file: "src/tokens/refresh_token.ts",
    search: "hmacSha256(key, MAC_LABEL, family, counter)",
    replace: 'hmacSha256("", MAC_LABEL, family, counter)',
  },
  {
    name: "sid-reveals-family",
    property: "an access token's sid reveals nothing of its refresh token's family id",
    file: "src/tokens/refresh_token.ts",
    search: 'const hex = sha256Hex("sid/v1", family);',
    replace: 'const hex = [...family].map((b) => b.toString(16).padStart(2, "0")).join("");',
  },
  {
    name: "refresh-grace-skips-user-check",
    property: "the grace answer re-checks the user (enabled, role held, epoch) like a rotation",
    file: "src/tokens/sessions.ts",
    search:
      '        await requireUsable(session, user, now);\n        emit({ type: "refreshed", sid, sub: session.userId, grace: true });',
    replace: '        emit({ type: "refreshed", sid, sub: session.userId, grace: true });',
  },
  {
    name: "refresh-grant-not-required",
    property: "a client without the refresh_token grant cannot refresh",
    file: "src/routes/oauth/grants.ts",
    search: '  allow(client, "refresh_token");\n',
    replace: "",
  },
  {
    name: "client-secret-truncated-compare",
    property: "a client secret is compared at full strength (all 32 bytes of its SHA-256)",
    file: "src/oauth/client_service.ts",
    search: "const same = equalConstantTime(presented, expected);",
    replace: "const same = equalConstantTime(presented.subarray(0, 2), expected.subarray(0, 2));",
  },
  {
    name: "log-grace-refresh-token",
    property: "no refresh token reaches a log line, the grace answer included",
    file: "src/tokens/sessions.ts",
    search: 'emit({ type: "refreshed", sid, sub: session.userId, grace: true });',
    replace: 'emit({ type: "refreshed", sid, sub: session.userId + refreshToken, grace: true });',
  },
  {
    name: "log-rejected-device-token",
    property: "no device token reaches a log line, a rejected one included",
    file: "src/users/login_service.ts",
    search: 'emit({ type: "device_token", user_id: userId, client, outcome });',
    replace: 'emit({ type: "device_token", user_id: userId + token, client, outcome });',
  },
  {
    name: "device-token-unkeyed",
    property: "a device token cannot be minted without SECRET_KEY",
    file: "src/users/device_tokens.ts",
    search: "const key = hmacSha256(options.secret, KEY_LABEL);",
    replace: 'const key = hmacSha256("", KEY_LABEL);',
  },
  {
    name: "session-client-generation-not-stored",
    property: "a session started through an OAuth client records that client's generation",
    file: "src/tokens/sessions.ts",
    search: "...(client?.generation !== undefined ? { clientGen: client.generation } : {}),",
    replace: "",
  },
  {
    name: "client-match-ignores-generation",
    property:
      "a client's session ends when the client is removed (and re-added) or its secret rotated",
    file: "src/tokens/session_store.ts",
    search: "? client.generation === session.clientGen",
    replace: "? client.clientId === session.clientId",
  },
  {
    name: "client-match-legacy-any-registration",
    property:
      "a session stored before client generations survives no re-registration of its client id",
    file: "src/tokens/session_store.ts",
    search: ": client.createdAt <= session.createdAt;",
    replace: ": client.createdAt >= 0;",
  },
  {
    name: "refresh-ignores-client-generation",
    property: "a refresh through a removed-and-re-added or rotated client is refused",
    file: "src/tokens/sessions.ts",
    search: "      if (!clientMatches(session, client)) throw sessionEnded();\n",
    replace: "",
  },
  {
    name: "gate-ignores-session-client",
    property: "/me and introspection refuse a session whose OAuth client was removed or rotated",
    file: "src/tokens/session_gate.ts",
    search: "return clientMatches(session, client?.value);",
    replace: "return client !== null;",
  },
  {
    name: "gate-client-change-cached",
    property: "this instance's gate forgets a client's sessions at once when the client changes",
    file: "src/tokens/session_gate.ts",
    search: "if (entry.clientId === event.client_id) checked.delete(sid);",
    replace: "if (entry.clientId === event.type) checked.delete(sid);",
  },
  {
    name: "token-outlives-session",
    property: "no access token outlives its session's absolute end (SESSION_MAX_AGE)",
    file: "src/tokens/sessions.ts",
    search: "        notAfter,\n        ...(session.amr",
    replace: "        ...(session.amr",
  },
  {
    name: "token-exp-cap-ignored",
    property: "exp is the earlier of iat + TOKEN_TTL and the session's absolute end",
    file: "src/tokens/access_token.ts",
    search: "Math.min(iat + options.ttl, subject.notAfter ?? Infinity)",
    replace: "iat + options.ttl",
  },
  {
    name: "expires-in-not-capped",
    property: "expires_in says when the token really expires (capped with exp)",
    file: "src/tokens/access_token.ts",
    search: "return { token, expiresIn: exp - iat, claims };",
    replace: "return { token, expiresIn: options.ttl, claims };",
  },
  {
    name: "oauth-revoke-unlimited",
    property: "/oauth/revoke is rate limited (per address, or per authenticated client)",
    file: "src/routes/oauth.ts",
    search:
      "    services.oauthLimits.count(address, provenClientId(client));\n    await revokeToken(",
    replace: "    await revokeToken(",
  },
  {
    name: "oauth-introspect-unlimited",
    property: "/oauth/introspect is rate limited per authenticated client",
    file: "src/routes/oauth.ts",
    search:
      "    services.oauthLimits.count(address, provenClientId(client));\n    const answer = await introspectToken(",
    replace: "    const answer = await introspectToken(",
  },
  {
    name: "oauth-client-credentials-unlimited",
    property: "the client_credentials grant is rate limited per client",
    file: "src/oauth/grant_types.ts",
    search: "endpointLimited: true,",
    replace: "endpointLimited: false,",
  },
  {
    name: "oauth-refused-after-read",
    property:
      "an address or client over the OAuth endpoint limits is refused before any store read",
    file: "src/routes/oauth.ts",
    search: "    services.oauthLimits.refuseEarly(address, credentials.clientId);\n",
    replace: "",
  },
  {
    name: "oauth-failed-auth-not-counted",
    property: "a failed client authentication counts against the caller's address",
    file: "src/routes/oauth.ts",
    search:
      'if (err instanceof OAuthError && err.code === "invalid_client") {\n        services.oauthLimits.countFailure(address);',
    replace: 'if (err instanceof OAuthError && err.code === "invalid_client") {',
  },
  {
    name: "memory-limiter-peek-loose",
    property: "the early refusal refuses exactly when the next attempt would be over the limit",
    file: "src/limits/memory_rate_limiter.ts",
    search: "return { limited: count >= rate.max, retryAfter };",
    replace: "return { limited: count > rate.max, retryAfter };",
  },
  {
    name: "proxy-hop-ipv4-port-unread",
    property: "a trusted proxy's ip:port hop names the client (not the proxy's own budget)",
    file: "src/client_address.ts",
    search: String.raw`/^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/.exec(hop)`,
    replace: "null",
  },
  {
    name: "proxy-hop-ipv6-brackets-unread",
    property: "a trusted proxy's [v6] and [v6]:port hops name the client",
    file: "src/client_address.ts",
    search: String.raw`/^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(hop) ??`,
    replace: String.raw`/^\[(x)\](?::(\d{1,5}))?$/.exec(hop) ??`,
  },
  {
    name: "proxy-hop-port-range",
    property: "a hop with a port outside 0-65535 is no address",
    file: "src/client_address.ts",
    search: "Number(match[2] ?? 0) > 65_535",
    replace: "Number(match[2] ?? 0) > 99_999",
  },
  {
    name: "proxy-hop-unparsable-not-reported",
    property: "a trusted proxy's unreadable hop is reported (the server warns)",
    file: "src/client_address.ts",
    search: '      onUnparsable?.(hops[i] ?? "");\n',
    replace: "",
  },
  {
    name: "proxy-hop-warning-repeated",
    property: "the unreadable-hop warning is written once, not once a request (no log flood)",
    file: "src/client_ip.ts",
    search: "  if (warned.has(trustProxy)) return;\n",
    replace: "",
  },
  {
    name: "store-files-left-readable",
    property: "store files an earlier version left readable (auth.kv, -wal, -shm) become 0600",
    file: "src/store/store_file_modes.ts",
    search: "if (info && (info.mode! & 0o077) !== 0) await Deno.chmod(file, 0o600);",
    replace: "if (info && (info.mode! & 0o077) !== 0) await Deno.chmod(file, 0o644);",
  },
  {
    name: "store-dir-left-readable",
    property: "the store's directory is 0700, whoever created it",
    file: "src/store/store_file_modes.ts",
    search: "    await Deno.chmod(dir, 0o700);\n",
    replace: "",
  },
  {
    name: "metrics-open-beyond-loopback",
    property: "beyond loopback, /metrics is refused without a METRICS_TOKEN",
    file: "src/routes/metrics.ts",
    search: 'if (access === "refused") {',
    replace: 'if (access === "refused" && expected !== undefined) {',
  },
  {
    name: "metrics-short-token-beyond-loopback",
    property: "beyond loopback, a METRICS_TOKEN under 32 bytes does not open /metrics",
    file: "src/routes/metrics.ts",
    search: ".length >= MIN_NETWORK_METRICS_TOKEN_BYTES;",
    replace: ".length >= 1;",
  },
  {
    name: "metrics-loopback-too-wide",
    property: "only localhost, 127.0.0.0/8 and ::1 count as loopback for /metrics",
    file: "src/routes/metrics.ts",
    search: 'return host === "localhost" ||',
    replace: "return host.length > 0 ||",
  },
  {
    name: "first-run-env-shows-left-out-value",
    property:
      "a setting the first-run .env cannot record is never shown, not even in a comment (it may be a token)",
    file: "src/config/env_file.ts",
    search: "line ?? `# ${name} from the environment is not recorded:",
    replace: "line ?? `# ${name}=${env[name]} from the environment is not recorded:",
  },
  {
    name: "key-encryption-constant-iv",
    property: "a signing key encrypted at rest gets a fresh random IV every time",
    file: "src/keys/key_encryption.ts",
    search: "const iv = crypto.getRandomValues(new Uint8Array(12));",
    replace: "const iv = new Uint8Array(12);",
  },
  {
    name: "key-encryption-hkdf-salt-changed",
    property: "a key set stored by an earlier version still decrypts (HKDF salt pinned)",
    file: "src/keys/key_encryption.ts",
    search: 'new TextEncoder().encode("auth-server/signing-keys")',
    replace: 'new TextEncoder().encode("auth-server/signing-keys/v2")',
  },
  {
    name: "key-encryption-hkdf-info-changed",
    property: "a key set stored by an earlier version still decrypts (HKDF info pinned)",
    file: "src/keys/key_encryption.ts",
    search: 'new TextEncoder().encode("AES-256-GCM key encryption v1")',
    replace: 'new TextEncoder().encode("AES-256-GCM key encryption v2")',
  },
  {
    name: "sessions-end-another-users",
    property: "DELETE /sessions/{sid} ends only the signed-in user's own sessions",
    file: "src/tokens/sessions.ts",
    search: "if (!found || !isSessionUsable(found.value, user, deps.now())) return false;",
    replace: "if (!found) return false;",
  },
  {
    name: "me-password-current-unchecked",
    property: "POST /me/password needs the current password (a stolen access token is not enough)",
    file: "src/routes/sessions.ts",
    search: "await services.login.checkCredentials({",
    replace: "await (async (_: unknown) => {})({",
  },
  {
    name: "password-grant-not-required",
    property: "a client without the password grant cannot sign users in",
    file: "src/routes/oauth/grants.ts",
    search: '  allow(client, "password");\n',
    replace: "",
  },
  {
    name: "client-credentials-scope-superset",
    property: "client_credentials grants only scopes the client was given",
    file: "src/oauth/client_service.ts",
    search: "return asked.every((scope) => allowed.includes(scope)) ? asked : undefined;",
    replace: "return asked;",
  },
  {
    name: "introspect-lost-scope-active",
    property: "a service-account token with a scope its client no longer has introspects inactive",
    file: "src/oauth/client_service.ts",
    search: '(claims.scope ?? "").split(" ").every((s) => s === "" || client.scopes.includes(s));',
    replace: "true;",
  },
  {
    name: "login-role-not-held",
    property: "a login asks only for a role the user holds (403 role_not_allowed otherwise)",
    file: "src/users/login_service.ts",
    search: "if (granted === undefined || !user.roles.includes(granted)) {",
    replace: "if (granted === undefined) {",
  },
  {
    name: "end-user-address-malformed-ignored",
    property: "a trusted client's malformed End-User-Address is refused, not ignored",
    file: "src/routes/oauth.ts",
    search: "    if (address === undefined) {\n      throw new OAuthError(",
    replace:
      '    if (address === undefined && header === "\\u0000") {\n      throw new OAuthError(',
  },
  // ---- issue 20: PostgreSQL store (the contract suite in tests/store/ kills these) ----
  {
    name: "pg-rotation-stamp-unchecked",
    property: "of two rotations of one read, exactly one commits (PostgreSQL)",
    file: "src/store/pg_sessions.ts",
    search: "WHERE sid = ${session.sid} AND stamp = ${sessionVersionstamp} AND gone_at",
    replace: "WHERE sid = ${session.sid} AND gone_at",
  },
  {
    name: "pg-session-cap-unlocked",
    property: "MAX_SESSIONS_PER_USER holds under concurrent logins (PostgreSQL)",
    file: "src/store/pg_sessions.ts",
    search: "SELECT pg_advisory_xact_lock(hashtextextended(",
    replace: "SELECT (hashtextextended(",
  },
  {
    name: "pg-guard-unchecked",
    property: "the last-admin guard: a change commits only while every guard is unchanged",
    file: "src/store/pg_users.ts",
    search: "rows.every((row) => expected.get(row.id) === row.stamp)",
    replace: "rows.every((row) => expected.has(row.id))",
  },
  {
    name: "kv-session-cap-key-unchecked",
    property: "MAX_SESSIONS_PER_USER holds under concurrent logins (Deno KV)",
    file: "src/store/kv_sessions.ts",
    search: ".check({ key: sessionKey, versionstamp: null }).check(cap);",
    replace: ".check({ key: sessionKey, versionstamp: null });",
  },

  // ---- issue 22: second factor ----
  {
    name: "totp-replay-accepted",
    property: "a TOTP code accepted once is never accepted again (RFC 6238 section 5.2)",
    file: "src/mfa/totp.ts",
    search: "&& step > lastUsedStep) matched ??= step;",
    replace: "&& step >= lastUsedStep) matched ??= step;",
  },
  {
    name: "totp-drift-two-steps",
    property: "TOTP accepts one step of drift either way, never two",
    file: "src/mfa/totp.ts",
    search: "export const TOTP_DRIFT_STEPS = 1;",
    replace: "export const TOTP_DRIFT_STEPS = 2;",
  },
  {
    name: "mfa-token-guesses-unbounded",
    property: "an mfa_token dies at its fifth wrong code (the sixth guess is refused)",
    file: "src/mfa/mfa_login.ts",
    search: "failures >= MAX_CHALLENGE_FAILURES ? undefined : { ...pending, failures }",
    replace: "{ ...pending, failures }",
  },
  {
    name: "mfa-token-never-expires",
    property: "an mfa_token lives 5 minutes",
    file: "src/mfa/mfa_login.ts",
    search: "if (!entry || entry.value.expiresAt <= deps.now()) throw invalidMfaToken();",
    replace: "if (!entry) throw invalidMfaToken();",
  },
  {
    name: "mfa-token-reusable",
    property: "an mfa_token gives one success",
    file: "src/store/kv_mfa.ts",
    search: "        .delete(challengeKey)\n",
    replace: "",
  },
  {
    name: "mfa-code-check-not-atomic",
    property:
      "two presenters of one TOTP code at once: one passes (check and record in one commit)",
    file: "src/store/kv_mfa.ts",
    search: "        .check({ key: factorsKey, versionstamp: success.factorsVersionstamp })\n",
    replace: "",
  },
  {
    name: "mfa-wrong-codes-free",
    property: "wrong codes spend the account's (or device's) login failure budget",
    file: "src/mfa/mfa_login.ts",
    search: "    await steps.spendAttempt(userId, request.client, budget);\n",
    replace: "",
  },
  {
    name: "recovery-code-reusable",
    property: "a recovery code works once",
    file: "src/mfa/mfa_service.ts",
    search: "const recoveryCodes = record.recoveryCodes.filter((_, i) => i !== index);",
    replace: "const recoveryCodes = [...record.recoveryCodes];",
  },
  {
    name: "login-skips-second-factor",
    property: "/login for a user with an active factor answers mfa_required, never tokens",
    file: "src/users/login_service.ts",
    search: "if (second) return { mfa: second };",
    replace: "if (second && !second) return { mfa: second };",
  },
  {
    name: "pending-enrolment-active",
    property: "a pending (unconfirmed) TOTP enrolment changes nothing at login",
    file: "src/mfa/mfa_service.ts",
    search: "if (!record?.totp) return undefined;",
    replace: "if (!record?.totp && !record?.pending) return undefined;",
  },
  {
    name: "require-auth-mfa-ignored",
    property:
      "requireAuth({ mfa: true }) (and ADMIN_REQUIRE_MFA) refuses a token without a second factor",
    file: "src/middleware/require_auth.ts",
    search: "if (options.mfa && !isMultiFactor(claims.amr)) {",
    replace: "if (options.mfa && !claims.amr) {",
  },
  {
    name: "amr-password-counts-as-mfa",
    property: "a password alone (amr [pwd]) is not a second factor",
    file: "src/tokens/amr.ts",
    search: "return second && first;",
    replace: "return first;",
  },
  {
    name: "mfa-delete-code-unchecked",
    property: "removing TOTP needs a current code or an unused recovery code",
    file: "src/mfa/mfa_service.ts",
    search: "        await requireCode(found, uid, presented);\n",
    replace: "",
  },
  {
    name: "mfa-log-code",
    property: "no second-factor code, secret or mfa_token in a log line",
    file: "src/mfa/mfa_login.ts",
    search: '          client: request.client,\n          outcome: next ? "failed" : "exhausted",',
    replace:
      '          client: request.client + JSON.stringify(request),\n          outcome: next ? "failed" : "exhausted",',
  },
  {
    name: "passkey-counter-unchecked",
    property: "a passkey whose sign counter did not grow (a cloned authenticator) is refused",
    file: "src/passkeys/passkey_service.ts",
    search: "            counter: passkey.counter,",
    replace: "            counter: 0,",
  },
  {
    name: "passkey-challenge-reusable",
    property: "a passkey challenge answers one response",
    file: "src/store/kv_passkeys.ts",
    search: "        .delete(key).commit();",
    replace: "        .commit();",
  },
  // ---- issue 21: browser sign-in ----
  {
    name: "code-reuse-keeps-tokens",
    property: "a code presented twice revokes the tokens issued from it",
    file: "src/browser/authorization_codes.ts",
    search: 'await deps.sessions.revoke(current.value.issuedSid, "authorization code reused");',
    replace: "void current.value.issuedSid;",
  },
  {
    name: "code-reusable",
    property: "an authorization code is spent once",
    file: "src/browser/authorization_codes.ts",
    search: "if (code.usedAt !== undefined) {",
    replace: "if (code.usedAt === -1) {",
  },
  {
    name: "code-any-client",
    property: "a code is bound to the client it was issued to",
    file: "src/browser/authorization_codes.ts",
    search: "if (code.clientId !== exchange.client.clientId) {",
    replace: "if (false) {",
  },
  {
    name: "code-any-redirect-uri",
    property: "a code is bound to the redirect URI of its authorization request",
    file: "src/browser/authorization_codes.ts",
    search: "if (exchange.redirectUri !== code.redirectUri) {",
    replace: "if (false) {",
  },
  {
    name: "code-never-expires",
    property: "a code lives 60 seconds",
    file: "src/browser/authorization_codes.ts",
    search: "if (deps.now() >= code.expiresAt)",
    replace: "if (false)",
  },
  {
    name: "code-stored-in-clear",
    property: "codes are stored only as hashes",
    file: "src/browser/authorization_codes.ts",
    search: "return sha256Base64url(code);",
    replace: "return code;",
  },
  {
    name: "pkce-verifier-unchecked",
    property: "the code_verifier must answer the code_challenge (S256)",
    file: "src/browser/authorization_codes.ts",
    search: "if (!verifiesS256(code.codeChallenge, exchange.codeVerifier)) {",
    replace: "if (exchange.codeVerifier === code.codeChallenge) {",
  },
  {
    name: "pkce-downgrade",
    property: "a verifier for a code issued without a challenge is refused",
    file: "src/browser/authorization_codes.ts",
    search: "} else if (exchange.codeVerifier !== undefined) {",
    replace: "} else if (false) {",
  },
  {
    name: "pkce-plain-accepted",
    property: "code_challenge_method plain (or none) is refused",
    file: "src/browser/authorization_request.ts",
    search: 'if (method !== "S256") {',
    replace: 'if (method !== "S256" && method !== "plain" && method !== undefined) {',
  },
  {
    name: "pkce-optional-for-public",
    property: "a public client must use PKCE",
    file: "src/browser/authorization_request.ts",
    search: "    if (client.public) {\n",
    replace: "    if (false) {\n",
  },
  {
    name: "redirect-uri-prefix-match",
    property: "redirect URIs are compared as exact strings (no prefix match)",
    file: "src/oauth/redirect_uris.ts",
    search: "if (registered.includes(presented)) return true;",
    replace: "if (registered.some((uri) => presented.startsWith(uri))) return true;",
  },
  {
    name: "redirect-uri-case-insensitive",
    property: "redirect URIs are compared case-sensitively",
    file: "src/oauth/redirect_uris.ts",
    search: "if (registered.includes(presented)) return true;",
    replace:
      "if (registered.some((u) => u.toLowerCase() === presented.toLowerCase())) return true;",
  },
  {
    name: "redirect-uri-url-equivalence",
    property: "redirect URIs are not matched by URL equivalence (userinfo, default port)",
    file: "src/oauth/redirect_uris.ts",
    search: "if (registered.includes(presented)) return true;",
    replace:
      "if (registered.some((u) => { try { const p = new URL(presented); return u === p.origin + p.pathname; } catch { return false; } })) return true;",
  },
  {
    name: "authorize-unregistered-uri-redirected",
    property: "an unknown client or unregistered redirect URI is shown on a page, never redirected",
    file: "src/routes/authorize.ts",
    search: '? messagePage(ctx, 400, "Sign-in failed", read.page)',
    replace:
      '? redirect(new URLSearchParams(query).get("redirect_uri") ?? `${config.issuer}/`, 302)',
  },
  {
    name: "logout-open-redirect",
    property: "post_logout_redirect_uri must be registered for the client, exactly",
    file: "src/routes/end_session.ts",
    search: "if (!registered?.includes(target)) {",
    replace: "if (false) {",
  },
  {
    name: "logout-csrf",
    property: "a logout without a matching id_token_hint asks the person first (CSRF form)",
    file: "src/routes/end_session.ts",
    search: 'const confirmed = posted && get("confirm") === "yes" &&',
    replace: 'const confirmed = true || posted && get("confirm") === "yes" &&',
  },
  {
    name: "logout-confirm-csrf-unchecked",
    property: "the sign-out confirmation needs its CSRF token",
    file: "src/routes/end_session.ts",
    search:
      'csrfTokenMatches(csrfKey, readCookie(c.req.header("Cookie"), names.csrf), get("csrf_token"));',
    replace: "true;",
  },
  {
    name: "id-token-hint-unverified",
    property: "an id_token_hint must carry this server's signature",
    file: "src/oidc/id_token_hint.ts",
    search: "const { payload } = await compactVerify(token, key.key, { algorithms: [key.alg] });",
    replace:
      "const payload = new TextEncoder().encode(new TextDecoder().decode(Uint8Array.from(atob(token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/')), (ch) => ch.charCodeAt(0))));",
  },
  {
    name: "login-form-csrf-unchecked",
    property: "the login form needs its CSRF token, bound to the browser's CSRF cookie",
    file: "src/routes/login_page.ts",
    search: '!csrfTokenMatches(csrfKey, csrfCookie, form.get("csrf_token") ?? "")',
    replace: "false",
  },
  {
    name: "login-page-frameable",
    property: "the sign-in pages cannot be framed (frame-ancestors 'none')",
    file: "src/browser/login_page.ts",
    search: "\"frame-ancestors 'none'; base-uri 'none'\"",
    replace: "\"base-uri 'none'\"",
  },
  {
    name: "authorize-state-dropped",
    property: "state is echoed on the code answer",
    file: "src/browser/authorize_flow.ts",
    search: "{ code, state: request.state }",
    replace: "{ code }",
  },
  {
    name: "authorize-iss-dropped",
    property: "every authorization answer carries iss (RFC 9207)",
    file: "src/browser/authorization_request.ts",
    search: "{ ...params, iss: issuer }",
    replace: "{ ...params }",
  },
  {
    name: "public-client-authenticates-with-secret",
    property: "a public client has no secret: none authenticates it (nor lets it introspect)",
    file: "src/routes/oauth.ts",
    search: "if (required && (!client || client.public === true)) {",
    replace: "if (required && !client) {",
  },
  {
    name: "browser-session-ignores-epoch",
    property: "a password change, disable or epoch bump ends the browser session",
    file: "src/browser/browser_sessions.ts",
    search: "sessionEpoch(user) === session.epoch",
    replace: "true",
  },
  {
    name: "browser-session-no-max-age",
    property: "SESSION_MAX_AGE ends the browser session",
    file: "src/browser/browser_sessions.ts",
    search: "now < session.expiresAt && ",
    replace: "",
  },

  // ---- issue 20: Deno KV on one machine, all cores ----
  {
    name: "busy-retry-any-error",
    property: "only SQLite's transient busy errors are retried; a closed or failing store is not",
    file: "src/store/busy_retry.ts",
    search: "return TRANSIENT_MESSAGE.test(err.message);",
    replace: "return true;",
  },
  {
    name: "busy-retry-unbounded",
    property: "a busy store is retried a bounded number of times, then answers 503",
    file: "src/store/busy_retry.ts",
    search: "if (attempt >= policy.attempts) throw",
    replace: "if (attempt >= Infinity) throw",
  },
  {
    name: "busy-retry-removed",
    property: "processes sharing one KV file: a busy commit is retried, not answered with 503",
    file: "src/store/kv_layout.ts",
    search: "return await retryTransient(operation, retry);",
    replace: "return await operation();",
  },
  {
    name: "store-failure-log-suppressed",
    property: "every 503 the store causes logs its cause at error level",
    file: "src/app.ts",
    search: "if (storeFailed) services.events.emit(storeFailed);",
    replace: "void storeFailed;",
  },
  {
    name: "store-failure-log-unthrottled",
    property: "at most one store_failed line per cause per second",
    file: "src/log_throttle.ts",
    search: "at - seen.at < intervalMs",
    replace: "at - seen.at < 0",
  },
  {
    name: "store-failure-log-secret",
    property: "a password in a store's error (a database URL) is never logged",
    file: "src/store_failure.ts",
    search: '"$1:***@")',
    replace: '"$&")',
  },
  {
    name: "all-cores-no-reuse-port",
    property: "deno task start:all-cores serves one port from several processes (Linux)",
    file: "src/server.ts",
    search: "reusePort: shared.reusePort,",
    replace: "reusePort: false,",
  },
  {
    name: "reuse-port-anywhere",
    property: "AUTH_REUSE_PORT=1 is refused where SO_REUSEPORT does not spread connections",
    file: "src/reuse_port.ts",
    search: 'if (os !== "linux") {',
    replace: 'if (os === "aix") {',
  },
  // ---- issue 25: settings, the verifier's messages, the CLI's working directory ----
  {
    name: "verifier-alg-refusal-echo",
    property: "a refused algorithm is named only when the server could sign with it: attacker " +
      "header text is never echoed in the 401 or WWW-Authenticate",
    file: "src/tokens/access_token.ts",
    search: "if (!(SIGNING_ALGORITHMS as readonly unknown[]).includes(alg)) {",
    replace: 'if (typeof alg !== "string") {',
  },
  {
    name: "first-run-env-unvalidated",
    property: "a first-run .env is written only once the configuration is valid",
    file: "src/config/load_config.ts",
    search: "parseConfig(mergeEnvironment({ ...parseEnv(fresh) }, options.env).vars);",
    replace: "mergeEnvironment({ ...parseEnv(fresh) }, options.env);",
  },
  {
    name: "cli-runs-anywhere",
    property: "a CLI run outside the server's directory (no .env, no deno.json) refuses instead " +
      "of creating an empty store there",
    file: "src/cli/cli_config.ts",
    search: 'if (pathExists(join(cwd, ".env")) !== false) return undefined;',
    replace: 'if (pathExists(join(cwd, ".env")) !== false || cwd !== "") return undefined;',
  },
  {
    name: "env-unknown-names-silent",
    property: "a name in .env that is no setting (a typo, the wrong case) is warned about",
    file: "src/config/load_config.ts",
    search: "const unknownNames = Object.keys(fileVars).filter((name) => !known.has(name));",
    replace:
      "const unknownNames = Object.keys(fileVars).filter((name) => !known.has(name.toUpperCase()));",
  },
  // ---- store transfer ----
  {
    name: "transfer-drops-second-factors",
    property: "store export moves each user's TOTP factor and recovery-code hashes: after a " +
      "move the password alone does not sign them in",
    file: "src/store/transfer.ts",
    search: 'if (exported.has(userUid)) yield line({ kind: "mfa", userUid, record });',
    replace: 'if (exported.has("")) yield line({ kind: "mfa", userUid, record });',
  },
  {
    name: "transfer-drops-passkeys",
    property: "store export moves each user's passkeys",
    file: "src/store/transfer.ts",
    search: 'if (exported.has(record.userUid)) yield line({ kind: "passkey", record });',
    replace: 'if (exported.has("")) yield line({ kind: "passkey", record });',
  },
  {
    name: "transfer-import-skips-factors",
    property: "store import writes each user's second factors into the target",
    file: "src/store/transfer.ts",
    search:
      "if (!(await stores.mfa.putFactors(entry.userUid, entry.record, null))) throw duplicate();",
    replace: "if (entry.userUid === undefined) throw duplicate();",
  },
  {
    name: "transfer-lenient-totp",
    property: "store import refuses a second-factor line whose TOTP factor is malformed (a " +
      "factor that does not read back would leave its user on a password alone)",
    file: "src/store/transfer.ts",
    search: "totp !== undefined &&",
    replace: "totp !== undefined && totp !== null &&",
  },

  // ---- review of the 2.20 merge ----
  {
    name: "mfa-enrolment-keeps-older-sessions",
    property:
      "confirming a second factor ends every session that proved the password alone (token and browser), but the caller's",
    file: "src/routes/mfa.ts",
    search: "await services.users.update(user.id, { endSessions: true, ...keep });",
    replace: "void keep;",
  },
  {
    name: "pg-nul-is-outage",
    property: "text PostgreSQL cannot hold (a NUL character) is a 400, never a 503 store outage",
    file: "src/store/pg_client.ts",
    search: 'const BAD_INPUT_STATES = new Set(["22021", "22P05"]);',
    replace: "const BAD_INPUT_STATES = new Set<string>([]);",
  },
  // ---- issue 24 (openapi): requests validated without the OpenAPI generator ----
  {
    name: "route-validation-off",
    property: "every bad request field is refused with 400 validation_failed, never handled",
    file: "src/http/api_router.ts",
    search: 'throw new ApiError("validation_failed", validationMessage(result.error.issues[0]));',
    replace: "return value as never;",
  },
  {
    name: "route-query-unvalidated",
    property: "a documented query parameter is validated (the document cannot drift)",
    file: "src/http/api_router.ts",
    search: "  if (request?.query) validators.push(",
    replace: "  if (request?.query && (false as boolean)) validators.push(",
  },
  {
    name: "route-media-type-gate-off",
    property: "a route with a JSON body refuses another Content-Type with 415",
    file: "src/http/api_router.ts",
    search: 'if (refused) throw new HTTPException(415, { message: "Unsupported Media Type" });',
    replace: "void refused;",
  },
  // ---- issue 24 (config): one table of configuration variables ----
  {
    name: "config-secret-in-override-note",
    property: "the value of a variable the table marks secret is never shown, not even in the " +
      "note that the environment overrides .env",
    file: "src/config/notes.ts",
    search: 'const values = isSecret(name) ? "" :',
    replace: 'const values = false ? "" :',
  },
  {
    name: "store-unavailable-unmapped",
    property: "a store failure is answered 503 unavailable with Retry-After, never 500: the " +
      "internal codes map to the API's in one table",
    file: "src/errors.ts",
    search: "store_unavailable: () =>",
    replace: "store_busy: () =>",
  },

  // ---- issue 22 (signin): the login page's second factor and passkeys ----
  {
    name: "login-page-skips-second-factor",
    property: "the login page asks a user with an active factor for it; never a session after " +
      "the password alone",
    file: "src/routes/login_page.ts",
    search: "      if (step) {",
    replace: '      if (step && step.mfa_token === "") {',
  },
  {
    name: "login-page-step-unbound",
    property: "a login page's second step passes only in the browser it was issued to (never in " +
      "another browser, nor at POST /login/mfa)",
    file: "src/mfa/mfa_login.ts",
    search: "    if (entry.value.browser !== browser) throw invalidMfaToken();\n",
    replace: "",
  },
  {
    name: "login-page-step-amr-password-only",
    property: "a sign-in with a second factor on the login page carries amr [pwd, otp]",
    file: "src/routes/login_page.ts",
    search: "{ user, proof: passed, client }",
    replace: '{ user, proof: { ...passed, amr: ["pwd"] }, client }',
  },
  {
    name: "passkey-second-factor-any-user",
    property: "a passkey is the second factor only of its owner's login",
    file: "src/mfa/mfa_login.ts",
    search: "return signIn.userUid === uid ? signIn : passkeyRefused();",
    replace: "return signIn;",
  },
  {
    name: "passkey-sign-in-unlimited",
    property: "passkey sign-in (POST /passkeys/authentication) spends the client's login limit",
    file: "src/routes/passkeys.ts",
    search: "      await services.login.spendClientAttempt(client);\n",
    replace: "",
  },
  {
    name: "login-page-passkey-unlimited",
    property: "passkey sign-in on the login page spends the client's login limit",
    file: "src/routes/login_page.ts",
    search: "        await services.login.spendClientAttempt(client);\n",
    replace: "",
  },
  {
    name: "mfa-reset-keeps-passkeys",
    property: "an admin's or the CLI's second-factor reset removes every factor, passkeys too",
    file: "src/mfa/mfa_service.ts",
    search: "if (await deps.passkeys!.deletePasskey(uid, passkey.id)) removed = true;",
    replace: "void passkey;",
  },
  {
    name: "passkey-page-absolute-paths",
    property: "the /passkeys page works under an ISSUER with a path prefix (its calls go under it)",
    file: "src/passkeys/passkey_page.ts",
    search: "await fetch(base + path, {",
    replace: "await fetch(path, {",
  },

  // ---- review B: adding a factor, /me code budgets, credential ids ----
  {
    name: "totp-enrolment-without-password",
    property: "starting TOTP enrolment takes the password: an access token alone adds no factor",
    file: "src/routes/mfa.ts",
    search: 'await proofs.requirePassword(c, claims, c.req.valid("json"));',
    replace: 'c.req.valid("json");',
  },
  {
    name: "passkey-registration-without-proof",
    property: "passkey registration options take the password: an access token alone adds no " +
      "passkey",
    file: "src/routes/passkeys.ts",
    search: 'await proofs.requirePresence(c, claims, user, c.req.valid("json"));',
    replace: 'c.req.valid("json");',
  },
  {
    name: "passkey-registration-password-alone-beside-totp",
    property: "while TOTP is active, adding a passkey takes a current code as well as the password",
    file: "src/routes/me_proofs.ts",
    search: "if (!(await services.mfa.read(user))?.value.totp) return;",
    replace: "if (proof.code === undefined) return;",
  },
  {
    name: "me-code-checks-on-account-budget",
    property: "codes checked at /me/mfa/* spend from the session's budget: wrong passwords from " +
      "elsewhere do not lock the signed-in user's session out",
    file: "src/routes/me_proofs.ts",
    search: '? { bucket: "me_session", subject: claims.sid }',
    replace: '? { bucket: "login_account", subject: claims.sub }',
  },
  {
    name: "me-code-checks-unlimited",
    property: "codes checked at /me/mfa/* spend from a budget: a stolen access token is no code " +
      "oracle",
    file: "src/routes/me_proofs.ts",
    search: "    await services.login.steps.spendAttempt(claims.sub, client(c), budget);\n",
    replace: "",
  },
  {
    name: "credential-id-unchecked",
    property: "a credential id that is not base64url of at most 1,023 bytes is 400, never a " +
      "store error",
    file: "src/passkeys/credential_id.ts",
    search: "= /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/;",
    replace: "= /^[^]*$/;",
  },

  // ---- issue 24 (perf): the request chain, bounded hashing ----
  {
    name: "headers-bare-response-missed",
    property: "every answer carries the security headers, one built without the context too",
    file: "src/middleware/security_headers.ts",
    search: "for (const [name, value] of list) if (!headers.has(name)) headers.set(name, value);",
    replace: "void list;",
  },
  {
    name: "request-log-line-dropped",
    property: "every request the app answers has its log line (at LOG_LEVEL=info)",
    file: "src/middleware/request_chain.ts",
    search: "if (requestId !== undefined) log.end(answer, answerHeaders, requestId, elapsedMs);",
    replace: "",
  },
  {
    name: "hash-slots-unbounded",
    property: "password hashes run at most as many at once as there are cores (19 MiB each)",
    file: "src/crypto/passwords.ts",
    search: "options.maxConcurrent ?? Math.max(1, navigator.hardwareConcurrency)",
    replace: "options.maxConcurrent ?? 1024",
  },

  // ---- issue 20 (fleet): several hosts in DATABASE_URL ----
  {
    name: "pg-multi-host-accepted",
    property: "a DATABASE_URL naming several hosts is refused at start (the driver may pick a " +
      "hot standby, and hangs when no host can take writes)",
    file: "src/store/database_url.ts",
    search: 'if (hosts !== undefined && hosts.includes(",")) return MULTI_HOST_PROBLEM;',
    replace: 'if (hosts !== undefined && hosts.includes(",,")) return MULTI_HOST_PROBLEM;',
  },
  {
    name: "session-commits-race-in-process",
    property: "logins of one user at the session cap never fail for a store reason: a new " +
      "session's commit that lost to another login of the user reads again and retries " +
      "(bounded), it does not refuse the login (issue 24, sessioncommit: moved from the " +
      "in-process turns, which are gone, to the Deno KV commit)",
    file: "src/store/kv_sessions.ts",
    search: "if (taken.versionstamp !== null || userChanged) {",
    replace: "if (taken.versionstamp !== null || userChanged || attempt >= 0) {",
  },
  // ---- issue 24 (wire): one definition per wire list (grant types, claims) ----
  {
    name: "grant-type-inherited-name",
    property: "grant_type names only a grant of GRANTS: an inherited name (constructor, " +
      "toString) is 400 unsupported_grant_type, never dispatched",
    file: "src/oauth/grant_types.ts",
    search: "return Object.hasOwn(GRANTS, name);",
    replace: "return name in GRANTS;",
  },
  {
    name: "public-client-password-grant",
    property: "a public client (no secret) may not have the password grant",
    file: "src/oauth/grant_types.ts",
    search: 'answered (as at /login)",\n    },\n    publicClients: false,',
    replace: 'answered (as at /login)",\n    },\n    publicClients: true,',
  },
  {
    name: "claim-audience-type-unchecked",
    property: "an access token's aud is a string or an array of strings, even where no " +
      "AUDIENCE is configured",
    file: "src/oidc/claims.ts",
    search: 'return typeof value === "string" || isStrings(value);',
    replace: "return true;",
  },
  {
    name: "claim-array-unbounded",
    property: "an array claim (amr) holds at most 16 strings",
    file: "src/oidc/claims.ts",
    search: "return isStrings(value) && value.length <= MAX_CLAIM_ITEMS;",
    replace: "return isStrings(value);",
  },

  // ---- issue 21 (oidckeys): one sign-in, one logout ----
  {
    name: "end-session-keeps-token-sessions",
    property: "RP-initiated logout ends the token sessions its sign-in issued to applications",
    file: "src/routes/end_session.ts",
    search: "if (ended) {",
    replace: 'if (ended && ended.key === "\\u0000") {',
  },
  {
    name: "logout-keeps-sign-in",
    property: "POST /logout of a code-flow session ends its browser session and sibling sessions",
    file: "src/browser/sign_out.ts",
    search: "if (ended.browserSessionKey === undefined) return;",
    replace: 'if (ended.browserSessionKey !== "\\u0000") return;',
  },
  {
    name: "code-session-outlives-browser-session",
    property: "a token session from a code ends no later than its browser session",
    file: "src/tokens/sessions.ts",
    search: "browser?.expiresAt ?? Infinity",
    replace: "Infinity",
  },
  {
    name: "code-exchange-outlives-logout",
    property: "a code exchanged while its sign-in is logged out leaves no live session",
    file: "src/browser/authorization_codes.ts",
    search: "if (!(await deps.browserSessions.getBrowserSession(code.browserSessionKey))) {",
    replace: "if (false) {",
  },
  {
    name: "authorize-unlimited",
    property: "/authorize has a per-address limit (429 page with Retry-After)",
    file: "src/routes/authorize.ts",
    search: "if (wait !== undefined) return tooManyRequests(ctx, wait);",
    replace: "if (wait !== undefined && wait < 0) return tooManyRequests(ctx, wait);",
  },
  {
    name: "end-session-unlimited",
    property: "/end-session has a per-address limit (429 page with Retry-After)",
    file: "src/routes/end_session.ts",
    search: "if (wait !== undefined) return tooManyRequests(ctx, wait);",
    replace: "if (wait !== undefined && wait < 0) return tooManyRequests(ctx, wait);",
  },
  // ---- issue 21 (lead, after the review): a logout reaches every session of a sign-in ----
  {
    name: "sign-in-replaced-keeps-apps",
    property: "another user's sign-in in a browser ends the sign-in it replaces, its " +
      "applications' sessions too (a later logout could not reach them)",
    file: "src/browser/authorize_flow.ts",
    search: "  if (replaced && !continued) {",
    replace: '  if (replaced && !continued && replaced.value.key === "") {',
  },
  {
    name: "sign-out-deletes-first",
    property: "a sign-out that fails partway can be retried: the browser session is deleted " +
      "only after the token sessions it issued are revoked",
    file: "src/browser/sign_out.ts",
    search: "    await revokeIssued(signIn.userUid, keys, reason);\n    // The latest last",
    replace: "    // The latest last",
  },
  // ---- the browser sign-in review: native clients, re-authentication, id_token_hint ----
  {
    name: "public-client-silent-sso",
    property: "a public client never gets a code from single sign-on without the person's " +
      "confirmation (RFC 8252 section 8.6); prompt=none answers interaction_required",
    file: "src/browser/authorize_flow.ts",
    search: "return request.client.public === true;",
    replace: "return false;",
  },
  {
    name: "continue-skips-sign-in-check",
    property: "a Continue confirmation issues no code for a request that asks for a new sign-in " +
      "(prompt=login, max_age, another user's id_token_hint)",
    file: "src/routes/login_page.ts",
    search: " || mustSignIn(request, live, services.now())",
    replace: "",
  },
  {
    name: "continue-other-browser-session",
    property: "a Continue confirmation counts only for the browser session it was shown for",
    file: "src/routes/login_page.ts",
    search: 'form.get("session") !== live.session.sid || ',
    replace: "",
  },
  {
    name: "authorize-id-token-hint-ignored",
    property: "single sign-on only for the user an id_token_hint names (login_required otherwise)",
    file: "src/browser/authorize_flow.ts",
    search: "request.hintedSubject !== oidcSubject(live.session.userUid)",
    replace: "false",
  },
  {
    name: "browser-line-successor-not-followed",
    property: "a logout through any session of a re-authenticated sign-in ends the whole line " +
      "(the replaced sessions lead to the latest)",
    file: "src/browser/browser_sessions.ts",
    search: "&& hop < MAX_HOPS",
    replace: "&& hop < 0",
  },
  {
    name: "browser-line-forks",
    property: "of two re-authentications of one browser at once, the one that loses the race " +
      "continues the winner: one line, which one logout ends",
    file: "src/browser/browser_sessions.ts",
    search: "      if (marked) break;",
    replace: "      if (marked || attempt >= 0) break;",
  },
  {
    name: "browser-line-loser-unstored",
    property: "the sign-in that lost the race stores the line it continues (a logout through " +
      "its cookie reads that list)",
    file: "src/browser/browser_sessions.ts",
    search:
      "predecessors: [...passed, ...listed] };\n        await deps.store.createBrowserSession(session);",
    replace: "predecessors: [...passed, ...listed] };",
  },
  {
    name: "stale-tab-sign-in-ends-line",
    property: "the same user signing in from a tab whose cookie another tab's re-authentication " +
      "replaced continues the line: the applications' sessions live on",
    file: "src/browser/browser_sessions.ts",
    search: "return (await lineFrom(deps.store, browserSessionKey(cookieValue))).found;",
    replace: "return await deps.store.getBrowserSession(browserSessionKey(cookieValue));",
  },
  {
    name: "continue-page-autofocus",
    property: "the Continue page of a public client gives no button the focus (no stray Enter " +
      "confirms an impostor's request)",
    file: "src/browser/login_page.ts",
    search: '<button type="submit" name="decision" value="continue">',
    replace: '<button type="submit" name="decision" value="continue" autofocus>',
  },
  {
    name: "authorize-id-token-hint-forged",
    property: "an id_token_hint that this server did not sign is refused (invalid_request)",
    file: "src/browser/authorization_request.ts",
    search: "if (hintToken !== undefined && hint === undefined) {",
    replace: "if (false) {",
  },
  {
    name: "reauthentication-old-cookie-lives",
    property: "signing in again gives the browser a new session cookie; the replaced one signs " +
      "nobody in (no session fixation)",
    file: "src/browser/browser_sessions.ts",
    search: "    session.successor === undefined &&\n",
    replace: "",
  },
  {
    name: "reauthentication-escapes-logout",
    property: "the token sessions issued before a re-authentication end with the sign-in's logout",
    file: "src/browser/sign_out.ts",
    search: "for (const predecessor of found?.value.predecessors ?? []) keys.add(predecessor.key);",
    replace: "",
  },
  // ---- issue 24 (sessioncommit) ----
  // The session cap in one store commit: the commit that stores a new session ends the user's
  // oldest live sessions (tests/store/session_store_contract_test.ts on every engine,
  // tests/unit/sessions_test.ts, tests/app/sessions_test.ts). The KV cap key unchecked and the
  // PostgreSQL lock dropped are `kv-session-cap-key-unchecked` and `pg-session-cap-unlocked`.
  {
    name: "kv-session-cap-key-not-rewritten",
    property: "MAX_SESSIONS_PER_USER holds under concurrent logins (Deno KV): every new " +
      "session rewrites the user's cap key, so a login that read the index before it fails",
    file: "src/store/kv_sessions.ts",
    search: ".set(capKey, capValue, until(session.maxExpiresAt, now))",
    replace: ".set(KEYS.sessionCap(session.sid), capValue, until(session.maxExpiresAt, now))",
  },
  {
    name: "pg-limit-cell-not-locked",
    property: "login and refresh limits hold on PostgreSQL: a take reads and locks every " +
      "cell it spends from, the ones that exist included",
    file: "src/store/pg_counters.ts",
    search: "DO UPDATE SET tat = limits.tat",
    replace: "DO NOTHING",
  },
  {
    name: "recent-rotation-other-token",
    property: "a refresh is decided on a read of the store unless it presents the current token " +
      "of the session this instance rotated last: a chain another instance moved on is no replay",
    file: "src/tokens/recent_rotations.ts",
    search: "entry.value.currentHash !== hash || ",
    replace: "",
  },
  {
    name: "recent-rotation-ended-record",
    property: "a remembered rotation whose own record has ended is no answer: a read decides " +
      "(another instance may have kept the session, and the token is then a replay)",
    file: "src/tokens/recent_rotations.ts",
    search: " || !isSessionLive(entry.value, now)",
    replace: "",
  },
  {
    name: "pg-session-cap-lock-per-login",
    property: "MAX_SESSIONS_PER_USER holds under concurrent logins (PostgreSQL): the lock is " +
      "the user's, not one per login",
    file: "src/store/pg_sessions.ts",
    search: "lockUserSessions(tx, session.userUid)",
    replace: "lockUserSessions(tx, session.sid)",
  },
  {
    name: "kv-session-cap-oldest-not-ended",
    property: "MAX_SESSIONS_PER_USER: the session the cap ends is revoked in the new " +
      "session's commit, its refresh and access tokens refused (Deno KV)",
    file: "src/store/kv_sessions.ts",
    search: ".set(KEYS.session(old.sid), { ...old, revokedAt: now }, until(old.expiresAt, now))",
    replace: ".set(KEYS.session(old.sid), old, until(old.expiresAt, now))",
  },
  {
    name: "pg-session-cap-oldest-not-ended",
    property: "MAX_SESSIONS_PER_USER: a login beyond it ends the oldest session (PostgreSQL)",
    file: "src/store/pg_sessions.ts",
    search: "LIMIT greatest(0, (SELECT count(*) FROM live) - ${max} + 1)",
    replace: "LIMIT 0",
  },
  {
    name: "session-cap-newest-ended",
    property: "MAX_SESSIONS_PER_USER ends the oldest sessions, not the newest (Deno KV, fakes)",
    file: "src/tokens/session_store.ts",
    search: ".sort((a, b) => a.createdAt - b.createdAt || (a.sid",
    replace: ".sort((a, b) => b.createdAt - a.createdAt || (a.sid",
  },
  {
    name: "pg-session-cap-newest-ended",
    property: "MAX_SESSIONS_PER_USER ends the oldest sessions, not the newest (PostgreSQL)",
    file: "src/store/pg_sessions.ts",
    search: 'ORDER BY created_at, sid COLLATE "C"',
    replace: 'ORDER BY created_at DESC, sid COLLATE "C"',
  },
  {
    name: "session-cap-end-unannounced",
    property: "a session the cap ends is refused at once by the session gate (its cached " +
      "answer forgotten), logged and counted, as any revocation",
    file: "src/tokens/sessions.ts",
    search: "for (const old of ended) {",
    replace: "for (const old of ended.slice(ended.length)) {",
  },
  // Found by the review of the session-cap commit: the per-create checks of the bursts see it.
  {
    name: "kv-session-cap-key-read-late",
    property: "concurrent logins of one user never pass MAX_SESSIONS_PER_USER, even for a " +
      "moment: the commit checks the cap key as it was read before the index it guards, so a " +
      "login that commits between the index read and this commit is seen",
    file: "src/store/kv_sessions.ts",
    search: ".check({ key: sessionKey, versionstamp: null }).check(cap);",
    // The commit checks the cap key as read after the index: a login between the two is missed.
    replace: ".check({ key: sessionKey, versionstamp: null })\n" +
      "          .check(await this.#kv.get(capKey));",
  },
  {
    name: "kv-session-cap-far-lowered-one-commit",
    property: "a login after MAX_SESSIONS_PER_USER was lowered far ends every session beyond it " +
      "(Deno KV: more than one commit's checks), never a 503 on every login",
    file: "src/store/kv_sessions.ts",
    search: "if (ending.length > MAX_ENDED_PER_COMMIT) {",
    replace: "if (ending.length > 100_000 + MAX_ENDED_PER_COMMIT) {",
  },
  {
    name: "session-cap-ended-announced-first-only",
    property: "every session a login ends at the cap is announced (the gate refuses its access " +
      "tokens at once, the log and the metric count it), not only the first",
    file: "src/tokens/sessions.ts",
    search: "for (const old of ended) {",
    replace: "for (const old of ended.slice(0, 1)) {",
  },
  // ---- issue 21 (idkeys) ----
  {
    name: "id-token-signed-with-access-key",
    property: "under JWT_ALG ES256 and EdDSA, ID tokens are signed with the RS256 ID-token key " +
      "the discovery document lists, not with the access-token key",
    file: "src/routes/oauth/code_grant.ts",
    search: "idToken = await signIdToken(key, {",
    replace: "idToken = await signIdToken(services.keys().signing, {",
  },
  {
    name: "id-token-key-is-access-key",
    property: "under JWT_ALG ES256 and EdDSA the discovery document lists RS256 for ID tokens " +
      "(OpenID Connect Discovery 1.0 section 3) and ID tokens are RS256",
    file: "src/oidc/id_token.ts",
    search: "  return ring.idTokenSigning;",
    replace: "  return ring.idTokenSigning && ring.signing;",
  },
  {
    name: "access-verifier-accepts-id-token-key",
    property: "a token signed by the RS256 ID-token key is no access token at the server",
    file: "src/keys/key_ring_view.ts",
    search: 'if (useOf(stored) === "access") verification.set(stored.kid, entry);',
    replace: "verification.set(stored.kid, entry);",
  },
  {
    name: "jwks-verifier-accepts-id-token-key",
    property: "a resource service's requireAuth over the JWKS refuses a token signed by the " +
      "ID-token key",
    file: "src/middleware/require_auth.ts",
    search: "return entries.length === 0 || idTokenKey ? undefined : key;",
    replace: "return entries.length === 0 ? undefined : key;",
  },
  {
    name: "key-rotate-skips-id-token-key",
    property:
      "keys rotate (CLI and /admin/keys) rotates the ID-token key with the access-token key",
    file: "src/keys/key_admin.ts",
    search: 'otherThan === null ? slotsFor(alg) : [{ use: "access", alg }];',
    replace: '[{ use: "access", alg }];',
  },
  {
    name: "id-token-key-retirable-while-active",
    property: "the active ID-token key is never retired (not even with force)",
    file: "src/keys/key_set.ts",
    search: "const active = slotsFor(alg).some((slot) =>",
    replace: "const active = slotsFor(alg).slice(0, 1).some((slot) =>",
  },
  {
    name: "id-token-key-not-marked-in-use",
    property: "instances mark the ID-token key in use, so keys retire counts from when it " +
      "really stopped signing",
    file: "src/keys/live_key_ring.ts",
    search: "await this.#marks.mark([ring.signing.kid, ring.idTokenSigning!.kid]);",
    replace: "await this.#marks.mark([ring.signing.kid]);",
  },
  // Found by the review of the ID-token key (issue 21).
  {
    name: "id-token-at-hash-of-access-alg",
    property: "an ID token's at_hash is hashed under the ID token's own alg (RS256: SHA-256), " +
      "not the access token's (EdDSA: SHA-512)",
    file: "src/oidc/id_token.ts",
    search: "at_hash: accessTokenHash(claims.accessToken, key.alg),",
    replace: "at_hash: accessTokenHash(\n      claims.accessToken,\n" +
      '      JSON.parse(atob(claims.accessToken.split(".")[0]!.replace(/-/g, "+")' +
      '.replace(/_/g, "/"))).alg,\n    ),',
  },
  // The ID token's sub was the user id, reassigned when a name is reused (review A).
  {
    name: "id-token-sub-is-user-id",
    property: "an ID token's sub is the user's stable subject (its uid), never the user id, " +
      "which a user created under a removed user's name takes over (OpenID Connect Core 2, 5.7)",
    file: "src/oidc/id_token.ts",
    search: "sub: oidcSubject(claims.userUid),",
    replace: "sub: claims.userId,",
  },
  {
    name: "userinfo-sub-is-user-id",
    property: "/userinfo's sub is the ID token's (the user's stable subject), not the user id",
    file: "src/routes/userinfo.ts",
    search: "sub: oidcSubject(userUid),",
    replace: "sub: claims.sub,",
  },
  {
    name: "oidc-subject-legacy-is-name",
    property: "the subject of a user stored before uids existed is a 43-character hash, not " +
      "its name (at most 255 ASCII characters, Core 2)",
    file: "src/oidc/subject.ts",
    search: "UUID.test(userUid) ? userUid : sha256Base64url(userUid)",
    replace: 'UUID.test(userUid) ? userUid : userUid.replace(/^id:/, "")',
  },
  {
    name: "key-retire-force-takes-active",
    property: "the active signing key (and the active ID-token key) is never retired, not even " +
      "with force: a server would sign with a key its JWKS no longer has",
    file: "src/keys/key_admin.ts",
    search: 'if (signingAlg && stateOf(current.set, key, signingAlg, at) === "active") {',
    replace:
      'if (\n        signingAlg && stateOf(current.set, key, signingAlg, at) === "active" &&\n' +
      "        options.force !== true\n      ) {",
  },
  // ---- issue 24 (capindex, lead) ----
  {
    name: "session-cap-index-ignores-idle-end",
    property: "at the session cap a session counts as live only until its sliding end: one that " +
      "idled out leaves room, so no live session is ended for it",
    file: "src/store/kv_sessions.ts",
    search: "if (isIndexed(value) && isSessionLive(value, now)) {",
    replace: "if (isIndexed(value) && value.maxExpiresAt > now) {",
  },
  {
    name: "session-cap-index-idle-trusted",
    property: "MAX_SESSIONS_PER_USER holds in a store shared with 2.22.0 instances: a session " +
      "idle by its index key but not past its absolute end is counted by its record (an older " +
      "instance's refresh rewrites the record only)",
    file: "src/store/kv_sessions.ts",
    search: "} else if (!isIndexed(value) || value.maxExpiresAt > now) {",
    replace: "} else if (!isIndexed(value)) {",
  },
  {
    name: "session-cap-bound-loose",
    property: "MAX_SESSIONS_PER_USER: the cap key's live bound skips the index only when there " +
      "is room for one more",
    file: "src/store/kv_sessions.ts",
    search: "(bound !== undefined && bound < maxSessions)",
    replace: "(bound !== undefined && bound <= maxSessions)",
  },
  {
    name: "session-cap-bound-not-raised",
    property: "MAX_SESSIONS_PER_USER: every new session raises the cap key's live bound in its " +
      "commit, so logins that skip the index cannot pass the cap",
    file: "src/store/kv_sessions.ts",
    search: ": found.live - found.ending.length + 1;",
    replace: ": found.live - found.ending.length;",
  },
  // ---- issue 24 (nocrypto) ----
  // src/crypto/digests.ts is the one definition of the digests and of the constant-time
  // compare every secret comparison uses (client secrets, refresh-token MACs, device tokens,
  // CSRF tokens, PKCE, TOTP, recovery codes, the metrics token, passwords).
  {
    name: "constant-time-compare-length-mismatch-equal",
    property: "a presented secret or MAC of another length never equals the expected one",
    file: "src/crypto/digests.ts",
    search: "if (a.length !== b.length) return false;",
    replace: "if (a.length !== b.length) return true;",
  },
  {
    name: "constant-time-compare-first-byte-only",
    property: "a secret or MAC is compared over all its bytes, not a prefix",
    file: "src/crypto/digests.ts",
    search: "for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;",
    replace: "for (let i = 0; i < Math.min(a.length, 1); i++) difference |= a[i]! ^ b[i]!;",
  },
  {
    name: "constant-time-compare-early-exit",
    property: "secrets are compared in constant time (no exit at the first differing byte)",
    file: "src/crypto/digests.ts",
    search: "for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;",
    replace: "for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;",
  },
  {
    name: "hmac-key-ignored",
    property: "every MAC (refresh tokens, device tokens, CSRF tokens) is keyed by SECRET_KEY",
    file: "src/crypto/digests.ts",
    search: "const mac = hmac.create(nobleSha256, bytesOf(key));",
    replace: "const mac = hmac.create(nobleSha256, bytesOf(key).subarray(0, 0));",
  },
  // ---- issue 24 (mefast) ----
  {
    name: "me-fast-exp-unchecked",
    property: "a repeated GET /me is never answered without Hono at or after the token's exp",
    file: "src/http/me_fast_path.ts",
    search: "if (now() >= claims.exp * 1000 || !keys().verification.has(entry.kid)) return",
    replace: "if (!keys().verification.has(entry.kid)) return",
  },
  {
    name: "me-fast-kid-unchecked",
    property: "a repeated GET /me is never answered without Hono once its key left the ring",
    file: "src/http/me_fast_path.ts",
    search: "if (now() >= claims.exp * 1000 || !keys().verification.has(entry.kid)) return",
    replace: "if (now() >= claims.exp * 1000) return",
  },
  {
    name: "me-fast-gate-not-asked",
    property: "a revoked session's GET /me is refused at once, the fast path's repeats too",
    file: "src/http/me_fast_path.ts",
    search: "if (gate.peek(claims) !== entry.roles) return undefined;",
    replace: "void gate;",
  },
  {
    name: "me-fast-stale-roles",
    property: "a repeated GET /me answers the user's current roles, never those it was built from",
    file: "src/http/me_fast_path.ts",
    search: "if (gate.peek(claims) !== entry.roles) return undefined;",
    replace: "if (gate.peek(claims) === undefined) return undefined;",
  },
  {
    name: "gate-peek-stale",
    property: "another instance's revocation stops GET /me's fast path within the gate's second",
    file: "src/tokens/session_gate.ts",
    search: "const entry = fresh(claims.sid, claims.sub, options.now());",
    replace: "const entry = checked.get(claims.sid);",
  },
  {
    name: "me-fast-any-header",
    property: "GET /me's fast path answers only the exact Authorization header it was given",
    file: "src/http/me_fast_path.ts",
    search: "const entry = authorization === null ? undefined : byHeader.get(authorization);",
    replace: "const entry = byHeader.values().next().value;",
  },
  {
    name: "me-fast-any-method",
    property: "GET /me's fast path answers GET only (HEAD, POST and the rest are Hono's)",
    file: "src/http/me_fast_path.ts",
    search: 'request.method !== "GET" || !isBareMePath',
    replace: "!isBareMePath",
  },
  {
    name: "me-fast-any-path",
    property: "GET /me's fast path answers the bare target /me only (no query, slash, sub-path)",
    file: "src/http/me_fast_path.ts",
    search: "!isBareMePath(request.url)",
    replace: '!request.url.includes("/me")',
  },
  {
    name: "me-fast-under-cors",
    property: "with CORS_ORIGINS every GET /me carries the CORS headers (no fast path)",
    file: "src/app.ts",
    search: "fastPath: config.corsOrigins.length === 0,",
    replace: "fastPath: true,",
  },
  {
    name: "me-fast-unrecorded",
    property: "a GET /me answered without Hono has its log line and histogram series",
    file: "src/http/me_fast_path.ts",
    search: "entry.done(started, () =>",
    replace: "((..._: unknown[]) => {})(started, () =>",
  },
  {
    name: "prepared-answer-unlogged",
    property: "an answer made from a prepared line (GET /me without Hono) is in the request log",
    file: "src/middleware/request_chain.ts",
    search: "line?.(elapsedMs, client());",
    replace: "void [line, client];",
  },
  {
    name: "request-log-path-unescaped",
    property: "a request's path cannot forge fields of its log line (log injection)",
    file: "src/middleware/request_log.ts",
    search: "JSON.stringify(path.slice(0, 256))",
    replace: '`"${path.slice(0, 256)}"`',
  },
  {
    name: "request-log-path-uncut",
    property: "a request's path is cut to 256 characters in its log line",
    file: "src/middleware/request_log.ts",
    search: "JSON.stringify(path.slice(0, 256))",
    replace: "JSON.stringify(path)",
  },
  {
    name: "request-log-sub-unescaped",
    property: "a token's sub cannot forge fields of the request log line (log injection)",
    file: "src/middleware/request_log.ts",
    search: '`,"sub":${JSON.stringify(sub)}}`',
    replace: '`,"sub":"${sub}"}`',
  },
  {
    name: "me-fast-no-security-headers",
    property: "a GET /me answered without Hono carries every security header",
    file: "src/http/me_fast_path.ts",
    search: '[...chain.headers, ["content-type", ME_CONTENT_TYPE]]',
    replace: '[["content-type", ME_CONTENT_TYPE] as const]',
  },
  {
    name: "me-memo-unbounded",
    property: "GET /me's memo of answered headers is bounded (a flood of tokens cannot grow it)",
    file: "src/http/me_fast_path.ts",
    search: "if (known === undefined && byHeader.size >= maxEntries) {",
    replace: "if (known === undefined && byHeader.size < 0) {",
  },
  // ---- review of 2.23.0 (lead) ----
  {
    name: "gate-revocation-during-client-read",
    property: "a revocation announced while the gate reads a session's OAuth client refuses " +
      "the token (the gate and GET /me's fast path), not for the gate's next second",
    file: "src/tokens/session_gate.ts",
    search:
      "    const clientCurrent = isSessionUsable(session, user, at) && await clientIsCurrent(session);\n    // What this instance has seen revoked is asked after the last read: a revocation announced\n    // while the client was read counts.\n    const live = clientCurrent && !revoked.has(sid) &&\n      !isBehind(userId, sid, session?.userUid, session?.epoch ?? -1);",
    replace:
      "    const live = isSessionUsable(session, user, at) && !revoked.has(sid) &&\n      !isBehind(userId, sid, session?.userUid, session?.epoch ?? -1) &&\n      await clientIsCurrent(session);",
  },
  {
    name: "me-memo-any-spelling",
    property: "GET /me's memo keeps only the canonical `Bearer <token>`: one token's other " +
      "spellings (case, spaces, up to 64 KiB each) cannot fill memory",
    file: "src/http/me_fast_path.ts",
    search: " || authorization !== `Bearer ${token}`) {",
    replace: ") {",
  },
  {
    name: "host-header-unchecked",
    property:
      "a Host that is no host (`h/admin/users?`) is refused before routing: it cannot move " +
      "the path Hono routes by past a proxy that filters by path",
    file: "src/server.ts",
    search: 'isPlainHost(request.headers.get("host"))',
    replace: "true",
  },
  {
    name: "host-header-anything-plain",
    property: "only a host name or address and a port pass as a plain Host",
    file: "src/http/host_header.ts",
    search: "return host === null || PLAIN_HOST.test(host);",
    replace: "return host === null || PLAIN_HOST.test(host) || host.length > 0;",
  },
  {
    name: "key-list-shows-secret-digest",
    property: "under HS256 the key list names each secret by its HMAC kid, never by a digest of " +
      "the secret (the RFC 7638 thumbprint that tokens before 2.16 carried)",
    file: "src/keys/key_admin.ts",
    search: "(await importHmacKey(s)).kid",
    replace: 'btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", ' +
      'new TextEncoder().encode(JSON.stringify({ k: btoa(s).replace(/=+$/, "")' +
      '.replace(/[+]/g, "-").replace(/[/]/g, "_"), kty: "oct" })))))).replace(/=+$/, "")' +
      '.replace(/[+]/g, "-").replace(/[/]/g, "_")',
  },
  {
    name: "new-user-id-invisible-allowed",
    property: "a new user id has no invisible or direction characters (`admin\\u200b` is not " +
      "another `admin`)",
    file: "src/users/user_rules.ts",
    search: "if (INVISIBLE.test(id)) return",
    replace: "if (INVISIBLE.test(id) && false) return",
  },
  {
    name: "new-user-id-edge-space-allowed",
    property: "a new user id does not begin or end with white space",
    file: "src/users/user_rules.ts",
    search: "if (id.trim() !== id) return",
    replace: "if (id.trim() !== id && false) return",
  },
  {
    name: "new-user-id-compatibility-form-allowed",
    property: "a new user id is in NFKC (no full-width `ａｄｍｉｎ`, one encoding of each accent)",
    file: "src/users/user_rules.ts",
    search: 'if (id.normalize("NFKC") !== id) {',
    replace: 'if (id.normalize("NFKC") !== id && false) {',
  },
  {
    name: "user-service-add-look-alike",
    property: "every way of creating a user (admin API, CLI, bootstrap) refuses look-alike ids",
    file: "src/users/user_service.ts",
    search: "requireValid(newUserIdProblem(userId) ??",
    replace: "requireValid((newUserIdProblem(userId) && undefined) ??",
  },
  {
    name: "code-replay-revokes-unbound",
    property: "a spent authorization code revokes what it issued only when presented with its " +
      "bindings (its client, redirect URI, PKCE verifier): a leaked code replayed by another " +
      "client ends nothing",
    file: "src/browser/authorization_codes.ts",
    search: "        checkBindings(code, exchange);\n        return await replayed(entry);",
    replace: "        return await replayed(entry);",
  },
  {
    name: "code-grant-refusals-unlimited",
    property: "refused authorization_code exchanges count against the OAuth endpoint limit, " +
      "and a caller over it is refused before any store read",
    file: "src/oauth/grant_types.ts",
    search: 'endpointLimited: "refusals",',
    replace: "endpointLimited: false,",
  },
  {
    name: "code-grant-refusals-lock-confidential-client",
    property: "a confidential client's refused code exchanges are not counted: codes forwarded " +
      "through its callback cannot lock it out of the OAuth endpoints",
    file: "src/oauth/endpoint_limits.ts",
    search: 'if (clientId === undefined) limiter.hit("oauth_address"',
    replace: 'if (clientId === undefined || true) limiter.hit("oauth_address"',
  },
  {
    name: "trace-reaches-routes",
    property: "TRACE and TRACK (any case) are refused with 405 before any route or body limit: " +
      "never a 500, never a 404",
    file: "src/app.ts",
    search: "if (isForbiddenMethod(c.req.method)) throw methodNotAllowed(c.req.method);",
    replace: "",
  },
  {
    name: "body-limit-rebuilds-forbidden-method",
    property: "the body limit answers a method no Request can carry with 405, not by failing to " +
      "rebuild the request (defence in depth: the app refuses such methods first, so only a test " +
      "of the limit alone can see it)",
    file: "src/middleware/json_body.ts",
    search: "if (isForbiddenMethod(raw.method)) throw methodNotAllowed(raw.method);",
    replace: "",
  },
  {
    name: "body-read-bad-resource-is-500",
    property: "a client that goes away mid-body (Deno's BadResource) gets 400, not a 500 and an " +
      "error-level log line anyone can flood",
    file: "src/http/read_body.ts",
    search: "  Deno.errors.BadResource,\n",
    replace: "",
  },
  {
    name: "body-read-http-error-is-500",
    property: "a body that breaks off with Deno's Http error is a client's break too: 400",
    file: "src/http/read_body.ts",
    search: "  Deno.errors.Http,\n",
    replace: "",
  },
  {
    name: "body-limit-read-unguarded",
    property: "a chunked body broken off while the body limit reads it is 400, not 500",
    file: "src/middleware/json_body.ts",
    search: "await readBody(async () => {",
    replace: "await ((read: () => Promise<void>) => read())(async () => {",
  },
  {
    name: "oauth-form-read-unguarded",
    property: "an OAuth form broken off mid-body is 400 invalid_request, not 500 server_error",
    file: "src/routes/oauth/oauth_request.ts",
    search: "parseForm(await readText(c))",
    replace: "parseForm(await c.req.text())",
  },
  {
    name: "userinfo-body-unlimited",
    property: "POST /userinfo refuses a body over 16 KiB with 413, as every route does",
    file: "src/routes/userinfo.ts",
    search: 'app.post("/userinfo", limitBody(), requireUser, answer);',
    replace: 'app.post("/userinfo", requireUser, answer);',
  },
  {
    name: "media-gate-clones-request",
    property: "the media-type gate reads a body without Content-Type without Request.clone(): " +
      'no "request.signal aborts on successful responses" warning on stderr',
    file: "src/http/api_router.ts",
    search: "return Number(length) > 0;",
    replace: "return (await raw.clone().arrayBuffer()).byteLength > 0;",
  },
];
