/**
 * THE table of configuration variables: one entry per variable, from which everything else comes:
 * the parsed {@link Config} fields (`parse_config.ts`), the defaults and the first-run `.env`
 * (`env_file.ts`), the "unknown variable" warning ({@link CONFIG_VARIABLES}), the override notes
 * and which values are never shown ({@link isSecret}), and the reference text in `.env.example`
 * and `docs/configuration.md` (`reference.ts`; `deno task config:reference` writes them, a test
 * holds them to this table). docs/development.md ("Adding a configuration variable") shows how
 * to add one.
 *
 * @module
 */
import { PASSWORD_HASHER_CHOICES } from "../crypto/argon2_backend.ts";
import { MIN_PASSWORD_LENGTH } from "../users/user_rules.ts";
import { databaseUrlProblem, DEFAULT_POOL_SIZE } from "../store/database_url.ts";
import { SIGNING_ALGORITHMS } from "../tokens/algorithms.ts";
import { ConfigError } from "./config_error.ts";
import { parseIssuer } from "./issuer.ts";
import { EXAMPLE_SECRET_KEY, requireSecret, secretList } from "./secrets.ts";
import {
  choice,
  color,
  displayName,
  duration,
  exactChoice,
  flag,
  list,
  minLength,
  optional,
  origins,
  type Parser,
  port,
  rate,
  text,
  trustedProxies,
  wholeNumber,
} from "./values.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What a first-run `.env` holds of a variable: `"default"`, the environment's value or else the
 * default (so that an upgrade that changes a default does not change a running deployment);
 * `"given"`, the environment's value only; `"never"`, nothing (`SECRET_KEY` is written fresh,
 * `BOOTSTRAP_PASSWORD` matters only while the store has no admin).
 */
export type FirstRun = "default" | "given" | "never";

/** One configuration variable. */
export interface Variable<K extends string = string, T = unknown> {
  /** Its name in `.env` and the environment. */
  readonly name: string;
  /** The {@link Config} field it fills. */
  readonly key: K;
  /** The value used when unset or blank; none: `parse` is given `undefined`. */
  readonly default?: string;
  /** Validates the trimmed value (or the default) into the field's value; throws ConfigError. */
  readonly parse: Parser<T>;
  /** Never shown: not in notes, logs or error messages (it may be a password or a token). */
  readonly secret: boolean;
  /**
   * Which programs act on it: `true` when `deno task user|client|keys` act on it as the server
   * does (the store, the keys, token lifetimes), so an environment value that differs from
   * `.env`'s gets a note: a command run without it would act on another store or key set.
   */
  readonly sharedWithCli: boolean;
  readonly firstRun: FirstRun;
  /** One line, for `.env.example` (at most 98 characters). */
  readonly description: string;
  /** The longer meaning, for docs/configuration.md (Markdown); else {@link description}. */
  readonly details?: string;
  /** The docs' "Default" cell when {@link default} does not say it ("the address served"). */
  readonly defaultText?: string;
  /** The value `.env.example` shows, when not the default. */
  readonly example?: string;
  /** Comment lines a first-run `.env` writes when the variable is not given. */
  readonly unsetHint?: readonly string[];
}

/** Declares one variable (the type parameters are inferred from `key` and `parse`). */
function variable<K extends string, T>(definition: Variable<K, T>): Variable<K, T> {
  return definition;
}

const DAY = 86_400;

/** `DATABASE_URL`: checked, never echoed (it may hold a password). */
const databaseUrl: Parser<string | undefined> = (value, name) => {
  const problem = value === undefined ? undefined : databaseUrlProblem(value);
  if (problem !== undefined) throw new ConfigError(name, problem);
  return value;
};

/** Every variable, in the order `.env.example` and the docs list them. */
export const VARIABLES = [
  variable({
    name: "SECRET_KEY",
    key: "secretKey",
    parse: requireSecret,
    secret: true,
    sharedWithCli: true,
    firstRun: "never",
    example: EXAMPLE_SECRET_KEY,
    defaultText: "written on first start",
    description: "HS256 signing secret, at least 32 random bytes: this placeholder is refused",
    details: "HS256 secret: 32 bytes or more. Placeholders (`secret`, `changeme`, " +
      "`your-very-secret-key`, the `.env.example` value, ...) and very repetitive values are " +
      "refused.",
  }),
  variable({
    name: "PREVIOUS_SECRET_KEYS",
    key: "previousSecretKeys",
    parse: secretList,
    secret: true,
    sharedWithCli: true,
    firstRun: "given",
    description: "Former secrets, comma-separated: tokens they signed still verify (rotation)",
    details: "Comma-separated former secrets: tokens they signed still verify (HS256 rotation).",
  }),
  variable({
    name: "ISSUER",
    key: "issuer",
    parse: parseIssuer,
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    defaultText: "the address served",
    unsetHint: [
      "# ISSUER unset: the issuer is http://localhost:<PORT>. For production set the public URL:",
      "# ISSUER=https://auth.example.com",
    ],
    description: "The iss claim: the public URL (or a name without ':'); unset: the address served",
    details: "The `iss` claim, checked on every verification: any StringOrURI (RFC 7519; a " +
      "value with `:` must be a URI). The server's public URL is the base of the discovery " +
      "URLs; a name (`your identity`) signs and verifies tokens, and discovery answers 404 " +
      "saying why. Unset: `http://localhost:<PORT>`; set it in production, the same on every " +
      "instance.",
  }),
  variable({
    name: "AUDIENCE",
    key: "audience",
    parse: optional,
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "Optional expected audience (the aud claim)",
    details: "When set, tokens carry `aud` and verification requires it.",
  }),
  variable({
    name: "HOST",
    key: "host",
    default: "0.0.0.0",
    parse: text,
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "The address to listen on",
  }),
  variable({
    name: "PORT",
    key: "port",
    default: "10000",
    parse: port,
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "The port to listen on (the tutorial's)",
  }),
  variable({
    name: "TOKEN_TTL",
    key: "tokenTtl",
    default: "30m",
    parse: duration(1, DAY),
    secret: false,
    sharedWithCli: true,
    firstRun: "default",
    description: "Access token lifetime (exp - iat), at most 1d",
    details: "Access token lifetime: `exp - iat`.",
  }),
  variable({
    name: "REFRESH_TTL",
    key: "refreshTtl",
    default: "30d",
    parse: duration(1, 365 * DAY),
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Refresh token lifetime, sliding: each rotation starts a new one",
  }),
  variable({
    name: "REFRESH_GRACE_SECONDS",
    key: "refreshGraceSeconds",
    default: "10",
    parse: duration(0, 300),
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Reuse interval: a session's previous refresh token gets the current one; 0: off",
    details: "Reuse interval: within it, the parent of a session's current refresh token gets " +
      "that current token back (see [HTTP API](http-api.md)); `0` turns it off.",
  }),
  variable({
    name: "SESSION_MAX_AGE",
    key: "sessionMaxAge",
    default: "90d",
    parse: duration(1, 3650 * DAY),
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Absolute session lifetime, whatever the sliding REFRESH_TTL says",
    details: "Absolute session lifetime: past it `/refresh` refuses, whatever the sliding " +
      "`REFRESH_TTL` says.",
  }),
  variable({
    name: "MAX_SESSIONS_PER_USER",
    key: "maxSessionsPerUser",
    default: "100",
    parse: wholeNumber(1, 100_000),
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Live sessions per user; a login beyond it ends the user's oldest session",
    details: "Live sessions per user; a login that would exceed it ends the user's oldest " +
      "session.",
  }),
  variable({
    name: "JWT_ALG",
    key: "jwtAlg",
    default: "HS256",
    parse: exactChoice(SIGNING_ALGORITHMS),
    secret: false,
    sharedWithCli: true,
    firstRun: "default",
    description: `${SIGNING_ALGORITHMS.join(", ")}; asymmetric keys live in the store, ` +
      "under SECRET_KEY",
    details: `${SIGNING_ALGORITHMS.map((alg) => `\`${alg}\``).join(", ")}. Asymmetric keys ` +
      "live in the store, encrypted under `SECRET_KEY`.",
  }),
  variable({
    name: "KV_PATH",
    key: "kvPath",
    default: "./data/auth.kv",
    parse: text,
    secret: false,
    sharedWithCli: true,
    firstRun: "default",
    description: "Deno KV: a file, :memory:, or a KV Connect URL (https://...)",
    details: "Deno KV: a file, `:memory:`, or a KV Connect URL (`https://...`) shared by " +
      "several instances.",
  }),
  variable({
    name: "DATABASE_URL",
    key: "databaseUrl",
    parse: databaseUrl,
    secret: true,
    sharedWithCli: true,
    firstRun: "given",
    defaultText: "unset",
    description: "PostgreSQL for all state (postgres://user:password@host:5432/db); unset: KV_PATH",
    details: "PostgreSQL for all state (`postgres://user:password@host:5432/db`, " +
      "`postgresql://` too; `sslmode=require`/`verify-full`, `sslrootcert=system` honoured). " +
      "Unset: Deno KV at `KV_PATH`. Never echoed (it may hold a password). See " +
      "[Scaling out](scaling.md).",
  }),
  variable({
    name: "DATABASE_POOL_SIZE",
    key: "databasePoolSize",
    default: String(DEFAULT_POOL_SIZE),
    parse: wholeNumber(1, 1000),
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "Most PostgreSQL connections one instance holds",
    details: "Most PostgreSQL connections one instance holds (one more listens for key-set " +
      "changes).",
  }),
  variable({
    name: "KEYS_PATH",
    key: "keysPath",
    default: "./data/keys.json",
    parse: text,
    secret: false,
    sharedWithCli: true,
    firstRun: "default",
    description: "An older asymmetric key file, imported into the store once",
    details: "An older asymmetric key file, imported into the store once (when the store has " +
      "no keys yet), then no longer read.",
  }),
  variable({
    name: "KEY_PUBLISH_AHEAD",
    key: "keyPublishAhead",
    default: "10m",
    parse: duration(0, 30 * DAY),
    secret: false,
    sharedWithCli: true,
    firstRun: "default",
    description: "How long `keys rotate` publishes a new key before it signs; 0: at once",
    details: "How long `keys rotate` publishes a new key in the JWKS before it signs (twice the " +
      "JWKS `max-age`); `0`: it signs at once.",
  }),
  variable({
    name: "LOGIN_LIMIT_PER_ACCOUNT",
    key: "loginLimitPerAccount",
    default: "10/15m",
    parse: rate,
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Failed logins per user_id (or per device token) before 429",
    details: "Failed logins per `user_id` from clients without a device token, and per device " +
      "token (each its own budget); a check in flight counts until it succeeds. GCRA: the " +
      "whole budget at once, then one more every window/max; past it, 429 even with the right " +
      "password.",
  }),
  variable({
    name: "LOGIN_LIMIT_PER_CLIENT",
    key: "loginLimitPerClient",
    default: "30/1m",
    parse: rate,
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Login attempts per client address",
    details: "Login attempts per client address (GCRA as above; refused attempts are counted " +
      "by each instance in memory).",
  }),
  variable({
    name: "REFRESH_LIMIT_PER_CLIENT",
    key: "refreshLimitPerClient",
    default: "60/1m",
    parse: rate,
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Refreshes per client address, counted by each instance in its own memory",
    details: "Refreshes per client address, counted by each instance in its own memory (it " +
      "guards the instance, not a secret: refresh tokens cannot be guessed). The same rate, each " +
      "in a bucket of its own, limits the OAuth endpoints for public callers (`/oauth/revoke`, " +
      "`/oauth/introspect` and refused `authorization_code` exchanges share one), and " +
      "`GET /authorize` and `/end-session` (429 page).",
  }),
  variable({
    name: "LOGIN_LIMIT_PER_OAUTH_CLIENT",
    key: "loginLimitPerOAuthClient",
    default: "300/1m",
    parse: rate,
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Password-grant attempts per authenticated OAuth client, whatever its address",
    details: "Password-grant attempts per authenticated (confidential) OAuth client, whatever " +
      "address it calls from: a web app that signs its users in from its backend has this " +
      "budget instead of its address's `LOGIN_LIMIT_PER_CLIENT`. The per-account and " +
      "per-device budgets apply as always.",
  }),
  variable({
    name: "REFRESH_LIMIT_PER_OAUTH_CLIENT",
    key: "refreshLimitPerOAuthClient",
    default: "600/1m",
    parse: rate,
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "Refreshes per authenticated OAuth client (refresh_token grant)",
    details: "Refreshes per authenticated OAuth client (refresh_token grant), counted by each " +
      "instance in its own memory; also the limit of one client at `/oauth/introspect`, " +
      "`/oauth/revoke` and `client_credentials`.",
  }),
  variable({
    name: "DEVICE_TOKEN_TTL",
    key: "deviceTokenTtl",
    default: "90d",
    parse: duration(1, 365 * DAY),
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: "How long a device token (from /login) lets its device skip an account lock",
    details: "How long a device token (`device_token` from `/login`) lets its device sign in on " +
      "its own failure budget; a password change, or enrolling, replacing or removing a second " +
      "factor, ends them all sooner.",
  }),
  variable({
    name: "TRUST_PROXY",
    key: "trustProxy",
    parse: trustedProxies,
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "Proxies whose X-Forwarded-For is believed (IPs or CIDR ranges); empty: none",
    details: "IPs/CIDRs of proxies whose `X-Forwarded-For` is believed; empty: the header is " +
      "ignored.",
  }),
  variable({
    name: "TRUST_FORWARDING_CLIENTS",
    key: "trustForwardingClients",
    parse: list,
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "OAuth client ids trusted to name their end user's address (End-User-Address)",
    details: "OAuth client ids trusted to name their end user's address in an " +
      "`End-User-Address` header at `/oauth/token` (one IP address; malformed: 400 " +
      "`invalid_request`). That address is then counted under `LOGIN_LIMIT_PER_CLIENT` and " +
      "`REFRESH_LIMIT_PER_CLIENT` as well as the client's own budget. Ignored from any other " +
      "client.",
  }),
  variable({
    name: "BOOTSTRAP_PASSWORD",
    key: "bootstrapPassword",
    parse: minLength(MIN_PASSWORD_LENGTH),
    secret: true,
    sharedWithCli: false,
    firstRun: "never",
    description: 'Password of the first user "admin"; empty: random, printed once',
    details: "Password of `admin`, created when the store has no enabled admin; empty: random, " +
      "printed once.",
  }),
  variable({
    name: "CORS_ORIGINS",
    key: "corsOrigins",
    parse: origins,
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "Origins allowed by CORS, comma-separated; empty: CORS off",
    details: "Comma-separated origins allowed by CORS; empty: CORS off.",
  }),
  variable({
    name: "METRICS_TOKEN",
    key: "metricsToken",
    parse: optional,
    secret: true,
    sharedWithCli: false,
    firstRun: "given",
    description:
      "Bearer token for GET /metrics, 32+ bytes beyond loopback; empty: open on loopback only",
    details: "When set, `GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>`. When " +
      "`HOST` is beyond loopback (the default `0.0.0.0`), `/metrics` answers only with a token " +
      "of at least 32 bytes (403 `metrics_token_required` otherwise); on loopback it is open " +
      "without one.",
  }),
  variable({
    name: "LOG_LEVEL",
    key: "logLevel",
    default: "info",
    parse: choice(LOG_LEVELS),
    secret: false,
    sharedWithCli: false,
    firstRun: "default",
    description: LOG_LEVELS.join(", "),
    details: `${LOG_LEVELS.map((level) => `\`${level}\``).join(", ")}.`,
  }),
  variable({
    name: "PASSWORD_HASHER",
    key: "passwordHasher",
    default: PASSWORD_HASHER_CHOICES[0],
    parse: choice(PASSWORD_HASHER_CHOICES),
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "auto (the native addon if it loads, else Web Crypto), webcrypto or native",
    details: "`auto`: the native argon2 addon when it loads, else Web Crypto; `webcrypto`: " +
      "never try the addon; `native`: refuse to start (one line, exit 1) without it.",
  }),
  variable({
    name: "ADMIN_REQUIRE_MFA",
    key: "adminRequireMfa",
    default: "false",
    parse: flag,
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "true: /admin takes only tokens of a login with a second factor",
    details: "`true`: the server's own `/admin` routes take only tokens of a login with a " +
      "second factor (`amr` shows one; else 403 `mfa_required`). See " +
      "[Second factor](second-factor.md).",
  }),
  variable({
    name: "LOGIN_PAGE_NAME",
    key: "productName",
    default: "Auth server",
    parse: displayName,
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "The product name the login page shows (1 to 64 characters)",
    details: "The product name on the login page ([browser sign-in](browser-sign-in.md)); 1 to " +
      "64 characters.",
  }),
  variable({
    name: "LOGIN_PAGE_COLOR",
    key: "accentColor",
    default: "#1d4ed8",
    parse: color,
    secret: false,
    sharedWithCli: false,
    firstRun: "given",
    description: "The login page's accent colour, #rrggbb",
    details: "The login page's accent colour, `#rrggbb`.",
  }),
] as const;

/** A variable's name. */
export type VariableName = (typeof VARIABLES)[number]["name"];

/** Every variable's name: a name in `.env` that is none of them gets a warning. */
export const CONFIG_VARIABLES: readonly string[] = VARIABLES.map((v) => v.name);

/** The variables the CLIs act on as the server does ({@link Variable.sharedWithCli}). */
export const SHARED_WITH_CLI: readonly string[] = VARIABLES.filter((v) => v.sharedWithCli)
  .map((v) => v.name);

/** The defaults a first-run `.env` writes (the variables whose `firstRun` is `"default"`). */
export const DEFAULTS: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(
  VARIABLES.flatMap((v) =>
    v.firstRun === "default" && v.default !== undefined ? [[v.name, v.default]] : []
  ),
));

const SECRETS = new Set<string>(VARIABLES.filter((v) => v.secret).map((v) => v.name));

/**
 * Is `name` a variable whose value is never shown?
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSecret } from "./variables.ts";
 * assert(isSecret("DATABASE_URL") && isSecret("METRICS_TOKEN"));
 * assert(!isSecret("TOKEN_TTL"));
 * ```
 */
export function isSecret(name: string): boolean {
  return SECRETS.has(name);
}
