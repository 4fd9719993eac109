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
 * - dropping `requireJson`'s check: `@hono/zod-openapi` answers 415 by itself for every route
 *   whose JSON body is `required` (all of ours), so only the message changes;
 * - dropping `exp` from `requiredClaims`: `checkClaimTypes` refuses a token without a numeric
 *   `exp` anyway (and the reverse);
 * - dropping `known.alg === alg` in the resolvers: the allowlist and jose's own check of the
 *   key's algorithm refuse the token anyway;
 * - `timingSafeEqual` -> `===` for the metrics token: not observable by a functional test.
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
    file: "src/tokens/access_token.ts",
    search: "!isText(sub) || !isText(role) || !isText(iss)",
    replace: "!isText(sub) || !isText(iss)",
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

  // ---- access tokens issued ----
  {
    name: "signer-ttl",
    property: "access tokens live exactly TOKEN_TTL (exp - iat)",
    file: "src/tokens/access_token.ts",
    search: "exp: iat + options.ttl,",
    replace: "exp: iat + options.ttl * 1000,",
  },

  // ---- session gate (bearer tokens of ended sessions) ----
  {
    name: "gate-revoked-session-live",
    property: "a token of a revoked (logged-out) session is refused",
    file: "src/tokens/session_gate.ts",
    search: "session !== undefined && session.revokedAt === undefined &&",
    replace: "session !== undefined &&",
  },
  {
    name: "gate-disabled-user-live",
    property: "a disabled user's tokens are refused",
    file: "src/tokens/session_gate.ts",
    search: "user !== undefined && !user.disabled;",
    replace: "user !== undefined;",
  },
  {
    name: "gate-lost-role-live",
    property: "a token whose role the user lost is refused",
    file: "src/tokens/session_gate.ts",
    search: "return entry.live && entry.roles.includes(claims.role);",
    replace: "return entry.live;",
  },

  // ---- refresh tokens and sessions ----
  {
    name: "refresh-reuse-keeps-session",
    property: "presenting a spent refresh token revokes the session",
    file: "src/tokens/sessions.ts",
    search: "await deps.store.revokeSession(record.sid, now);",
    replace: "",
  },
  {
    name: "refresh-grace-reusable",
    property: "the grace window forgives one replay, once",
    file: "src/tokens/sessions.ts",
    search: "record.graceUsedAt !== undefined ||",
    replace: "",
  },
  {
    name: "refresh-grace-window-long",
    property: "the grace window lasts REFRESH_GRACE_SECONDS",
    file: "src/tokens/sessions.ts",
    search: "now - record.spentAt >= deps.graceSeconds * 1000",
    replace: "now - record.spentAt >= deps.graceSeconds * 1000 * 1000",
  },
  {
    name: "refresh-grace-after-child-used",
    property: "no grace once the child token was used",
    file: "src/tokens/sessions.ts",
    search: "child && child.value.spentAt === undefined &&",
    replace: "child &&",
  },
  {
    name: "refresh-expired-accepted",
    property: "an expired refresh token is refused",
    file: "src/tokens/sessions.ts",
    search: "if (!token || token.value.expiresAt <= now) throw invalidRefresh();",
    replace: "if (!token) throw invalidRefresh();",
  },
  {
    name: "refresh-revoked-session-slow-path",
    property: "a revoked session's refresh token is refused (slow path)",
    file: "src/tokens/sessions.ts",
    search: "if (!session || session.value.revokedAt !== undefined || session.value.expiresAt",
    replace: "if (!session || session.value.expiresAt",
  },
  {
    name: "refresh-disabled-user-slow-path",
    property: "a disabled user's refresh token is refused",
    file: "src/tokens/sessions.ts",
    search: "if (!user || user.value.disabled || !user.value.roles",
    replace: "if (!user || !user.value.roles",
  },
  {
    name: "rotation-token-versionstamp",
    property: "two rotations of one token: exactly one commits (slow path too; no family fork)",
    file: "src/store/kv_store.ts",
    search: `.check({ key: ["refresh_tokens", spent.hash], versionstamp: spent.versionstamp })`,
    replace: "",
  },
  {
    name: "rotation-session-versionstamp",
    property: "no rotation commits past a revocation (session versionstamp checked)",
    file: "src/store/kv_store.ts",
    search:
      `.check({ key: ["sessions", rotation.sid], versionstamp: rotation.sessionVersionstamp })`,
    replace: "",
  },
  {
    name: "rotation-user-versionstamp",
    property: "no rotation commits past a change to the user (user versionstamp checked)",
    file: "src/store/kv_store.ts",
    search: `.check({ key: ["users", rotation.userId], versionstamp: rotation.userVersionstamp })`,
    replace: "",
  },
  {
    name: "login-session-user-versionstamp",
    property: "a login racing a password change or removal stores no session",
    file: "src/store/kv_store.ts",
    search: `op.check({ key: ["users", session.userId], versionstamp: token.userVersionstamp });`,
    replace: "",
  },
  {
    name: "refresh-token-not-random",
    property: "refresh tokens are 256 random bits",
    file: "src/tokens/sessions.ts",
    search: "base64url.encode(crypto.getRandomValues(new Uint8Array(32)))",
    replace: "base64url.encode(new Uint8Array(32))",
  },

  // ---- rate limits ----
  {
    name: "limit-login-client",
    property: "LOGIN_LIMIT_PER_CLIENT answers 429",
    file: "src/routes/login.ts",
    search: "if (perClient.limited || perAccount.limited) {",
    replace: "if (perAccount.limited) {",
  },
  {
    name: "limit-login-account",
    property: "LOGIN_LIMIT_PER_ACCOUNT answers 429",
    file: "src/routes/login.ts",
    search: "if (perClient.limited || perAccount.limited) {",
    replace: "if (perClient.limited) {",
  },
  {
    name: "limit-refresh-client",
    property: "REFRESH_LIMIT_PER_CLIENT answers 429",
    file: "src/routes/refresh.ts",
    search: "if (limit.limited) {",
    replace: "if (limit.limited && limit.retryAfter < 0) {",
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

  // ---- configuration ----
  {
    name: "config-short-secret",
    property: "SECRET_KEY must be at least 32 bytes",
    file: "src/config.ts",
    search: "const MIN_SECRET_BYTES = 32;",
    replace: "const MIN_SECRET_BYTES = 8;",
  },
  {
    name: "config-placeholder-secret",
    property: "the placeholder SECRET_KEY of .env.example is refused",
    file: "src/config.ts",
    search: "if (PLACEHOLDER_SECRETS.has(secret.toLowerCase())) {",
    replace: "if (PLACEHOLDER_SECRETS.size < 0) {",
  },
  {
    name: "config-repetitive-secret",
    property: "a repetitive SECRET_KEY is refused",
    file: "src/config.ts",
    search: "if (new Set(secret).size < 10) {",
    replace: "if (new Set(secret).size < 1) {",
  },
  {
    name: "config-previous-secrets-unchecked",
    property: "PREVIOUS_SECRET_KEYS obey the same rules as SECRET_KEY",
    file: "src/config.ts",
    search: `.map((s) => requireSecret("PREVIOUS_SECRET_KEYS", s));`,
    replace: ".map((s) => s);",
  },

  // ---- keys and JWKS ----
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
    search: "    jwks: { keys: [] },\n",
    replace:
      `    jwks: { keys: [{ kty: "oct", k: base64url.encode(new TextEncoder().encode(secret)) }] },\n`,
  },
  {
    name: "key-file-world-readable",
    property: "secret files (.env, key file) are written with mode 0600",
    file: "src/files.ts",
    search: "export async function replaceFile(path: string, text: string, mode = 0o600)",
    replace: "export async function replaceFile(path: string, text: string, mode = 0o644)",
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
    search: "if (passwordHash !== undefined || (after.disabled",
    replace: "if ((after.disabled",
  },
  {
    name: "disable-keeps-sessions",
    property: "disabling a user ends every session of the user",
    file: "src/users/user_service.ts",
    search: "(after.disabled && !before.disabled) || lostRole",
    replace: "lostRole",
  },
  {
    name: "login-disabled-user",
    property: "a disabled user cannot log in",
    file: "src/users/user_service.ts",
    search: "if (!found || !matches || found.value.disabled) {",
    replace: "if (!found || !matches) {",
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
    name: "login-locked-account-no-dummy",
    property: "a locked account's login costs a (dummy) argon2id verification",
    file: "src/routes/login.ts",
    search: "await services.hasher.verifyDummy(password);",
    replace: "",
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
    name: "password-min-length",
    property: "passwords shorter than 8 characters are refused",
    file: "src/crypto/passwords.ts",
    search: "if (password.length < MIN_PASSWORD_LENGTH) {",
    replace: "if (password.length < 1) {",
  },

  // ---- metrics ----
  {
    name: "metrics-token-any",
    property: "with METRICS_TOKEN set, /metrics needs that bearer token",
    file: "src/routes/metrics.ts",
    search: "!timingSafeEqual(await digest(given), await expectedDigest)",
    replace: "!timingSafeEqual(await digest(given), await digest(given))",
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
    property: "every route that takes a body has the 16 KiB limit and the JSON check",
    file: "src/app.ts",
    search: `for (const path of ["/login", "/refresh", "/admin/*"]) {`,
    replace: `for (const path of ["/login", "/refresh"]) {`,
  },
  {
    name: "headers-cache-no-store",
    property: "every answer carries Cache-Control: no-store (tokens are never cached)",
    file: "src/middleware/security_headers.ts",
    search: `["Cache-Control", "no-store"],`,
    replace: "",
  },
  {
    name: "log-password",
    property: "passwords are never logged",
    file: "src/routes/login.ts",
    search: `logger.warn("login_failed", { user_id: userId, client });`,
    replace: `logger.warn("login_failed", { user_id: userId, client, password });`,
  },
];
