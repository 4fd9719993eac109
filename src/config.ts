/**
 * Configuration: `.env` plus the real environment (the environment wins), read once, validated,
 * frozen. A fresh clone has no `.env`: {@link loadConfig} writes one with a random secret.
 *
 * @module
 */
import { parseEnv } from "node:util";
import { base64url } from "jose";
import { parseDuration, parseRate, type Rate } from "./duration.ts";
import { parseTrustedProxies, type TrustedProxies } from "./client_address.ts";
import { hasControlCharacter } from "./text.ts";
import { PASSWORD_HASHER_CHOICES, type PasswordHasherChoice } from "./crypto/argon2_backend.ts";
import { MIN_PASSWORD_LENGTH } from "./users/user_rules.ts";
import { databaseUrlProblem, DEFAULT_POOL_SIZE } from "./store/database_url.ts";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "./tokens/algorithms.ts";

// The algorithms live apart, so that the verifier other services import (require_auth.ts) does
// not load the server's configuration; re-exported here for the server's own modules.
export {
  ASYMMETRIC_ALGORITHMS,
  type AsymmetricAlgorithm,
  isAsymmetricAlgorithm,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from "./tokens/algorithms.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The validated, frozen configuration. Durations are in seconds. */
export interface Config {
  readonly secretKey: string;
  readonly previousSecretKeys: readonly string[];
  /** `ISSUER`, or with none set the address served ({@link Config.issuerFromAddress}). */
  readonly issuer: string;
  /** True when `ISSUER` is unset and {@link Config.issuer} follows `HOST` and `PORT`. */
  readonly issuerFromAddress: boolean;
  readonly audience: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly tokenTtl: number;
  readonly refreshTtl: number;
  readonly refreshGraceSeconds: number;
  /** Absolute session lifetime in seconds, whatever the sliding `refreshTtl` says. */
  readonly sessionMaxAge: number;
  /** Live sessions one user may hold; a login beyond it ends the oldest. */
  readonly maxSessionsPerUser: number;
  readonly jwtAlg: SigningAlgorithm;
  readonly kvPath: string;
  /** `DATABASE_URL`: PostgreSQL for all state; unset, Deno KV at {@link Config.kvPath}. */
  readonly databaseUrl: string | undefined;
  /** `DATABASE_POOL_SIZE`: most connections one instance holds (PostgreSQL only). */
  readonly databasePoolSize: number;
  readonly keysPath: string;
  /** How long `keys rotate` publishes a new key before it signs (seconds; 0: at once). */
  readonly keyPublishAhead: number;
  readonly loginLimitPerAccount: Rate;
  readonly loginLimitPerClient: Rate;
  readonly refreshLimitPerClient: Rate;
  /** The login limit of one authenticated OAuth client (password grant), whatever its address. */
  readonly loginLimitPerOAuthClient: Rate;
  /** The refresh limit of one authenticated OAuth client (refresh_token grant). */
  readonly refreshLimitPerOAuthClient: Rate;
  /**
   * OAuth clients trusted to name their end user's address (`End-User-Address`): the
   * per-address limits then count that address too.
   */
  readonly trustForwardingClients: readonly string[];
  /** Seconds a device token (`/login`'s `device_token`) stays valid. */
  readonly deviceTokenTtl: number;
  readonly trustProxy: TrustedProxies;
  readonly bootstrapPassword: string | undefined;
  readonly corsOrigins: readonly string[];
  readonly metricsToken: string | undefined;
  readonly logLevel: LogLevel;
  /** Which argon2id backend: `auto` (native if it loads), `webcrypto` or `native`. */
  readonly passwordHasher: PasswordHasherChoice;
  /** `ADMIN_REQUIRE_MFA=true`: `/admin` takes only tokens of a login with a second factor. */
  readonly adminRequireMfa: boolean;
  /** The login page's product name and accent colour (`LOGIN_PAGE_NAME`, `LOGIN_PAGE_COLOR`). */
  readonly branding: { readonly productName: string; readonly accentColor: string };
}

/** A configuration value that cannot be used; `message` names the variable. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

/** The placeholder `SECRET_KEY` that `.env.example` ships; refused like every placeholder. */
export const EXAMPLE_SECRET_KEY = "replace-me-with-at-least-32-random-bytes";

const PLACEHOLDER_SECRETS = new Set([
  EXAMPLE_SECRET_KEY,
  "your-very-secret",
  "your-very-secret-key",
  "your-secret-key",
  "secret",
  "secret-key",
  "secretkey",
  "changeme",
  "change-me",
  "changethis",
  "password",
  "supersecret",
  "super-secret-key",
]);

const MIN_SECRET_BYTES = 32;
const DAY = 86_400;

/** Raw variables: what `.env` and the environment hold, by name. */
export type RawVars = Readonly<Record<string, string | undefined>>;

/** The defaults written to a first-run `.env` and used for unset variables. */
export const DEFAULTS = {
  HOST: "0.0.0.0",
  PORT: "10000",
  TOKEN_TTL: "30m",
  REFRESH_TTL: "30d",
  REFRESH_GRACE_SECONDS: "10",
  SESSION_MAX_AGE: "90d",
  MAX_SESSIONS_PER_USER: "100",
  JWT_ALG: "HS256",
  KV_PATH: "./data/auth.kv",
  KEYS_PATH: "./data/keys.json",
  KEY_PUBLISH_AHEAD: "10m",
  LOGIN_LIMIT_PER_ACCOUNT: "10/15m",
  LOGIN_LIMIT_PER_CLIENT: "30/1m",
  REFRESH_LIMIT_PER_CLIENT: "60/1m",
  LOGIN_LIMIT_PER_OAUTH_CLIENT: "300/1m",
  REFRESH_LIMIT_PER_OAUTH_CLIENT: "600/1m",
  DEVICE_TOKEN_TTL: "90d",
  LOG_LEVEL: "info",
} as const;

/**
 * Validates raw variables into a frozen {@link Config}; throws {@link ConfigError} on the first
 * bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig({ SECRET_KEY: "k".repeat(20) + "0123456789abcdefghij" });
 * assert(config.port === 10000 && config.tokenTtl === 1800);
 * ```
 */
export function parseConfig(vars: RawVars): Config {
  const get = (name: keyof typeof DEFAULTS) => nonEmpty(vars[name]) ?? DEFAULTS[name];
  const secretKey = requireSecret("SECRET_KEY", vars.SECRET_KEY);
  const previousSecretKeys = (nonEmpty(vars.PREVIOUS_SECRET_KEYS) ?? "")
    .split(",").map((s) => s.trim()).filter((s) => s !== "")
    .map((s) => requireSecret("PREVIOUS_SECRET_KEYS", s));
  const jwtAlg = get("JWT_ALG");
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(jwtAlg)) {
    throw new ConfigError("JWT_ALG", `must be one of ${SIGNING_ALGORITHMS.join(", ")}`);
  }
  const logLevel = get("LOG_LEVEL").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}`);
  }
  const bootstrapPassword = nonEmpty(vars.BOOTSTRAP_PASSWORD);
  if (bootstrapPassword !== undefined && bootstrapPassword.length < MIN_PASSWORD_LENGTH) {
    throw new ConfigError(
      "BOOTSTRAP_PASSWORD",
      `must be at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
  const trustProxy = parseTrustedProxies(nonEmpty(vars.TRUST_PROXY) ?? "");
  if (trustProxy === undefined) {
    throw new ConfigError(
      "TRUST_PROXY",
      "must be a comma-separated list of IP addresses or CIDR ranges",
    );
  }
  const host = requireText("HOST", get("HOST"));
  const port = requirePort(get("PORT"));
  const issuer = nonEmpty(vars.ISSUER);
  return Object.freeze({
    secretKey,
    previousSecretKeys: Object.freeze(previousSecretKeys),
    issuer: issuer === undefined ? issuerForAddress(host, port) : requireIssuer(issuer),
    issuerFromAddress: issuer === undefined,
    audience: nonEmpty(vars.AUDIENCE),
    host,
    port,
    tokenTtl: requireDuration("TOKEN_TTL", get("TOKEN_TTL"), 1, DAY),
    refreshTtl: requireDuration("REFRESH_TTL", get("REFRESH_TTL"), 1, 365 * DAY),
    refreshGraceSeconds: requireDuration(
      "REFRESH_GRACE_SECONDS",
      get("REFRESH_GRACE_SECONDS"),
      0,
      300,
    ),
    sessionMaxAge: requireDuration("SESSION_MAX_AGE", get("SESSION_MAX_AGE"), 1, 3650 * DAY),
    maxSessionsPerUser: requireCount("MAX_SESSIONS_PER_USER", get("MAX_SESSIONS_PER_USER")),
    jwtAlg: jwtAlg as SigningAlgorithm,
    kvPath: requireText("KV_PATH", get("KV_PATH")),
    ...requireDatabase(vars),
    keysPath: requireText("KEYS_PATH", get("KEYS_PATH")),
    keyPublishAhead: requireDuration("KEY_PUBLISH_AHEAD", get("KEY_PUBLISH_AHEAD"), 0, 30 * DAY),
    loginLimitPerAccount: requireRate("LOGIN_LIMIT_PER_ACCOUNT", get("LOGIN_LIMIT_PER_ACCOUNT")),
    loginLimitPerClient: requireRate("LOGIN_LIMIT_PER_CLIENT", get("LOGIN_LIMIT_PER_CLIENT")),
    refreshLimitPerClient: requireRate("REFRESH_LIMIT_PER_CLIENT", get("REFRESH_LIMIT_PER_CLIENT")),
    loginLimitPerOAuthClient: requireRate(
      "LOGIN_LIMIT_PER_OAUTH_CLIENT",
      get("LOGIN_LIMIT_PER_OAUTH_CLIENT"),
    ),
    refreshLimitPerOAuthClient: requireRate(
      "REFRESH_LIMIT_PER_OAUTH_CLIENT",
      get("REFRESH_LIMIT_PER_OAUTH_CLIENT"),
    ),
    trustForwardingClients: Object.freeze(
      (nonEmpty(vars.TRUST_FORWARDING_CLIENTS) ?? "").split(",").map((s) => s.trim())
        .filter((s) => s !== ""),
    ),
    deviceTokenTtl: requireDuration("DEVICE_TOKEN_TTL", get("DEVICE_TOKEN_TTL"), 1, 365 * DAY),
    trustProxy,
    bootstrapPassword,
    corsOrigins: Object.freeze(parseOrigins(nonEmpty(vars.CORS_ORIGINS) ?? "")),
    metricsToken: nonEmpty(vars.METRICS_TOKEN),
    logLevel: logLevel as LogLevel,
    passwordHasher: requireChoice("PASSWORD_HASHER", vars.PASSWORD_HASHER, PASSWORD_HASHER_CHOICES),
    adminRequireMfa:
      requireChoice("ADMIN_REQUIRE_MFA", vars.ADMIN_REQUIRE_MFA, ["false", "true"]) === "true",
    branding: parseBranding(vars),
  });
}

/** `LOGIN_PAGE_NAME` (1 to 64 printable characters) and `LOGIN_PAGE_COLOR` (`#rrggbb`). */
function parseBranding(vars: RawVars): Config["branding"] {
  const productName = nonEmpty(vars.LOGIN_PAGE_NAME) ?? "Auth server";
  // deno-lint-ignore no-control-regex
  if (productName.length > 64 || /[\x00-\x1f\x7f]/.test(productName)) {
    throw new ConfigError("LOGIN_PAGE_NAME", "must be 1 to 64 characters, no control characters");
  }
  const accentColor = nonEmpty(vars.LOGIN_PAGE_COLOR) ?? "#1d4ed8";
  if (!/^#[0-9a-fA-F]{6}$/.test(accentColor)) {
    throw new ConfigError("LOGIN_PAGE_COLOR", "must be a colour #rrggbb");
  }
  return Object.freeze({ productName, accentColor });
}

/** Where {@link loadConfig} reads from; injected so tests need no real environment. */
export interface LoadOptions {
  /** The real environment; wins over `.env`. */
  readonly env: RawVars;
  /** Path of the `.env` file, normally `.env` in the working directory. */
  readonly envFile: string;
  /** Told as soon as a first-run `.env` was written, before validation can fail. */
  readonly onCreatedEnvFile?: () => void;
}

/** A setting the environment gives one value and `.env` another. */
export interface Override {
  readonly name: string;
  readonly env: string;
  readonly file: string;
}

/** A loaded configuration, whether this call wrote the first-run `.env`, and its overrides. */
export interface Loaded {
  readonly config: Config;
  readonly createdEnvFile: boolean;
  /** The {@link SHARED_WITH_CLI} settings where the environment overrode a `.env` value. */
  readonly overrides: readonly Override[];
  /** Settings of the environment the `.env` this call wrote could not record (else none). */
  readonly unrecorded: readonly string[];
  /** Names `.env` sets that are not in {@link CONFIG_VARIABLES} (typos, wrong case): ignored. */
  readonly unknownNames: readonly string[];
}

/**
 * THE list of setting names: every variable {@link parseConfig} reads. A new setting is added
 * here (and read in {@link parseConfig}, listed in `.env.example` and docs/configuration.md): a
 * name in `.env` that is not in this list gets a warning naming the closest one
 * ({@link Loaded.unknownNames}), and a first-run `.env` records the ones the environment gives
 * (all but `SECRET_KEY`, written fresh, and `BOOTSTRAP_PASSWORD`, which only matters while the
 * store has no admin).
 */
export const CONFIG_VARIABLES = [
  "SECRET_KEY",
  "PREVIOUS_SECRET_KEYS",
  "ISSUER",
  "AUDIENCE",
  ...Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[],
  "TRUST_PROXY",
  "TRUST_FORWARDING_CLIENTS",
  "BOOTSTRAP_PASSWORD",
  "CORS_ORIGINS",
  "METRICS_TOKEN",
  "PASSWORD_HASHER",
  "ADMIN_REQUIRE_MFA",
  "LOGIN_PAGE_NAME",
  "LOGIN_PAGE_COLOR",
  "DATABASE_URL",
  "DATABASE_POOL_SIZE",
] as const;

/**
 * The settings `deno task user|client|keys` act on as the server does (the store, the keys and
 * token lifetimes): an environment value that differs from `.env` for one of these is reported in
 * {@link Loaded.overrides}, since a command run without it would act on another store or key set.
 */
export const SHARED_WITH_CLI = [
  "SECRET_KEY",
  "PREVIOUS_SECRET_KEYS",
  "JWT_ALG",
  "KV_PATH",
  "DATABASE_URL",
  "KEYS_PATH",
  "KEY_PUBLISH_AHEAD",
  "TOKEN_TTL",
] as const;

/**
 * Reads `.env` (parsed by Deno's built-in dotenv parser), lets the real environment win, and
 * validates. With no `.env` and no `SECRET_KEY` in the environment, first writes a `.env`
 * (mode 0600) with a fresh random secret and the effective settings: the environment's values
 * where given (marked as such), else the defaults, so a later run without those variables (and
 * every CLI command) uses the same settings.
 */
export async function loadConfig(options: LoadOptions): Promise<Loaded> {
  let fileText = await readIfExists(options.envFile);
  let createdEnvFile = false;
  if (fileText === undefined && nonEmpty(options.env.SECRET_KEY) === undefined) {
    const fresh = firstRunEnvFile(options.env);
    // Validated first: a bad value stops here with its one line, and no .env is left behind
    // holding it (the next start would otherwise read the bad value back from the file).
    parseConfig(mergeEnvironment({ ...parseEnv(fresh) }, options.env).vars);
    createdEnvFile = await writeNewFile(options.envFile, fresh);
    if (createdEnvFile) options.onCreatedEnvFile?.();
    // Another instance may have created it first: use what it writes.
    fileText = createdEnvFile ? fresh : await readJustCreated(options.envFile);
  }
  const fileVars: Record<string, string | undefined> = fileText === undefined
    ? {}
    : { ...parseEnv(fileText) };
  const { vars, overrides } = mergeEnvironment(fileVars, options.env);
  const unrecorded = createdEnvFile ? unrecordedSettings(options.env) : [];
  const known = new Set<string>(CONFIG_VARIABLES);
  const unknownNames = Object.keys(fileVars).filter((name) => !known.has(name));
  return { config: parseConfig(vars), createdEnvFile, overrides, unrecorded, unknownNames };
}

/** `.env`'s variables with the environment's on top, and the shared settings it overrides. */
function mergeEnvironment(
  fileVars: Record<string, string | undefined>,
  env: RawVars,
): { vars: Record<string, string | undefined>; overrides: Override[] } {
  const vars = { ...fileVars };
  const overrides: Override[] = [];
  for (const [name, value] of Object.entries(env)) {
    // A blank variable is unset, as in parseConfig: it does not erase the file's value.
    if (nonEmpty(value) === undefined) continue;
    vars[name] = value;
    const file = nonEmpty(fileVars[name]);
    const shared = (SHARED_WITH_CLI as readonly string[]).includes(name);
    if (shared && file !== undefined && file !== nonEmpty(value)) {
      overrides.push({ name, env: nonEmpty(value)!, file });
    }
  }
  return { vars, overrides };
}

/**
 * The text of a first-run `.env`: a fresh 48-byte random secret, the settings the environment
 * gives (except `BOOTSTRAP_PASSWORD`), and the defaults for the rest. `ISSUER` is written only
 * when given: unset, it follows `HOST` and `PORT`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEnv } from "node:util";
 * import { firstRunEnvFile } from "./config.ts";
 * const vars = parseEnv(firstRunEnvFile({ JWT_ALG: "EdDSA" }));
 * assert.equal(vars.JWT_ALG, "EdDSA");
 * assert.equal(vars.PORT, "10000");
 * ```
 */
export function firstRunEnvFile(env: RawVars = {}): string {
  const secret = base64url.encode(crypto.getRandomValues(new Uint8Array(48)));
  const given = givenSettings(env);
  const defaults = Object.entries(DEFAULTS).filter(([name]) =>
    !given.some((setting) => setting.name === name)
  );
  const lines = [
    "# Written on first start. Keep it private (mode 0600); see docs/configuration.md for every setting.",
    "# The server and `deno task user|client|keys` all read this file: change settings here.",
    `SECRET_KEY=${secret}`,
    ...(given.length ? ["# From the environment at first start:"] : []),
    ...given.map(({ name, line }) =>
      line ?? `# ${name} from the environment is not recorded: no quoting reads it back exactly`
    ),
    "# Defaults:",
    ...defaults.map(([name, value]) => `${name}=${value}`),
    ...(given.some((setting) => setting.name === "ISSUER") ? [] : [
      "# ISSUER unset: the issuer is http://localhost:<PORT>. For production set the public URL:",
      "# ISSUER=https://auth.example.com",
    ]),
  ];
  return lines.join("\n") + "\n";
}

/**
 * The settings the environment gives that a first-run `.env` cannot record (their values would
 * not read back exactly; see {@link envLine}). A run that writes the file says so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unrecordedSettings } from "./config.ts";
 * assert.deepEqual(unrecordedSettings({ METRICS_TOKEN: "tok'en #1" }), []);
 * assert.deepEqual(unrecordedSettings({ METRICS_TOKEN: "a' #b\" #c` #d" }), ["METRICS_TOKEN"]);
 * ```
 */
export function unrecordedSettings(env: RawVars): string[] {
  return givenSettings(env).flatMap(({ name, line }) => line === undefined ? [name] : []);
}

/** The configuration variables the environment gives, each with its `.env` line if any. */
function givenSettings(env: RawVars): { name: string; line: string | undefined }[] {
  return CONFIG_VARIABLES.filter((name) =>
    name !== "SECRET_KEY" && name !== "BOOTSTRAP_PASSWORD" && nonEmpty(env[name]) !== undefined
  ).map((name) => {
    const value = nonEmpty(env[name])!;
    return { name, line: hasControlCharacter(value) ? undefined : envLine(name, value) };
  });
}

/**
 * `NAME=value` as `.env` must hold it for Deno's dotenv parser (`node:util` `parseEnv`, which
 * {@link loadConfig} uses) to read back exactly `value`: bare when plain, else in the first of
 * `'`, `"` and a backtick that does. That parser has no escapes, and what ends a quoted value
 * (a quote, a `#`, a `\n` in double quotes) is its own business, so each candidate is checked
 * with the parser itself, between two other lines. `undefined` when none reads back exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envLine } from "./config.ts";
 * assert.equal(envLine("PORT", "10000"), "PORT=10000");
 * assert.equal(envLine("METRICS_TOKEN", "a #b"), "METRICS_TOKEN='a #b'");
 * assert.equal(envLine("METRICS_TOKEN", "a' #b"), `METRICS_TOKEN="a' #b"`);
 * ```
 */
export function envLine(name: string, value: string): string | undefined {
  const candidates = [
    ...(/^[A-Za-z0-9_.:\/@%+,=-]+$/.test(value) ? [value] : []),
    ...["'", '"', "`"].map((quote) => `${quote}${value}${quote}`),
  ];
  for (const written of candidates) {
    const line = `${name}=${written}`;
    const read = parseEnv(`ENV_LINE_BEFORE=1\n${line}\nENV_LINE_AFTER=1\n`);
    if (read[name] === value && read.ENV_LINE_BEFORE === "1" && read.ENV_LINE_AFTER === "1") {
      return line;
    }
  }
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function requireText(name: string, value: string): string {
  if (hasControlCharacter(value)) {
    throw new ConfigError(name, "must not contain control characters");
  }
  return value;
}

/**
 * The issuer of a server with no `ISSUER`: the address it serves, with `localhost` for a wildcard
 * or loopback host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { issuerForAddress } from "./config.ts";
 * assert.equal(issuerForAddress("0.0.0.0", 19100), "http://localhost:19100");
 * assert.equal(issuerForAddress("::1", 8080), "http://localhost:8080");
 * assert.equal(issuerForAddress("10.0.0.5", 8080), "http://10.0.0.5:8080");
 * ```
 */
export function issuerForAddress(host: string, port: number): string {
  const local = ["0.0.0.0", "::", "127.0.0.1", "::1", "localhost"].includes(host);
  const name = local ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

/**
 * `ISSUER` is a StringOrURI (RFC 7519 section 2): any string, but one holding a `:` must be a
 * URI. An http(s) one is the base of the discovery URLs, so it has no query or fragment (RFC
 * 8414 section 2); a name such as `your identity` (the tutorial's) signs and verifies tokens,
 * without discovery ({@link issuerUrl}).
 */
function requireIssuer(value: string): string {
  requireText("ISSUER", value);
  if (!value.includes(":")) return value;
  const url = URL.parse(value);
  if (/^[^:/]+:\d+$/.test(value)) {
    throw new ConfigError(
      "ISSUER",
      `is a host and port, not a URL: write it as http://${value} (got "${value}")`,
    );
  }
  if (!url) {
    throw new ConfigError(
      "ISSUER",
      `holds a ":" but is not a URI (RFC 7519 StringOrURI): use the server's public URL, ` +
        `such as https://auth.example.com, or a name without ":" (got "${value}")`,
    );
  }
  if ((url.protocol === "https:" || url.protocol === "http:") && (url.search || url.hash)) {
    throw new ConfigError(
      "ISSUER",
      `must be the server's public URL without a query or fragment, such as ` +
        `https://auth.example.com (got "${value}")`,
    );
  }
  return value;
}

/**
 * The issuer as the http(s) URL that OAuth and OpenID discovery are built on, or `undefined`
 * when it is a name or another kind of URI: discovery needs a URL (RFC 8414 section 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { issuerUrl } from "./config.ts";
 * assert.equal(issuerUrl("https://auth.example/")?.href, "https://auth.example/");
 * assert.equal(issuerUrl("your identity"), undefined);
 * assert.equal(issuerUrl("urn:example:auth"), undefined);
 * ```
 */
export function issuerUrl(issuer: string): URL | undefined {
  const url = URL.parse(issuer);
  return url && (url.protocol === "https:" || url.protocol === "http:") ? url : undefined;
}

function requireSecret(name: string, value: string | undefined): string {
  const secret = nonEmpty(value);
  if (secret === undefined) {
    throw new ConfigError(name, "is required: delete .env to have a fresh one written, or set it");
  }
  if (PLACEHOLDER_SECRETS.has(secret.toLowerCase())) {
    throw new ConfigError(name, "is a placeholder: set a random value of at least 32 bytes");
  }
  if (new TextEncoder().encode(secret).length < MIN_SECRET_BYTES) {
    throw new ConfigError(name, `must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  if (new Set(secret).size < 10) {
    throw new ConfigError(name, "is too repetitive to be random: set a random value");
  }
  return secret;
}

/** One of `choices` (case-insensitive); the first when unset. */
function requireChoice<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly [T, ...T[]],
): T {
  const picked = (nonEmpty(value) ?? choices[0]).toLowerCase();
  if (!(choices as readonly string[]).includes(picked)) {
    throw new ConfigError(name, `must be one of ${choices.join(", ")}`);
  }
  return picked as T;
}

/** `DATABASE_URL` (checked, never echoed: it may hold a password) and `DATABASE_POOL_SIZE`. */
function requireDatabase(vars: RawVars): Pick<Config, "databaseUrl" | "databasePoolSize"> {
  const url = nonEmpty(vars.DATABASE_URL);
  const problem = url === undefined ? undefined : databaseUrlProblem(url);
  if (problem !== undefined) throw new ConfigError("DATABASE_URL", problem);
  const size = nonEmpty(vars.DATABASE_POOL_SIZE) ?? String(DEFAULT_POOL_SIZE);
  const poolSize = /^\d{1,4}$/.test(size) ? Number(size) : NaN;
  if (!(poolSize >= 1 && poolSize <= 1000)) {
    throw new ConfigError("DATABASE_POOL_SIZE", "must be a whole number from 1 to 1000");
  }
  return { databaseUrl: url, databasePoolSize: poolSize };
}

function requirePort(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ConfigError("PORT", "must be a number from 1 to 65535");
  }
  return port;
}

function requireCount(name: string, value: string): number {
  const count = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(count >= 1 && count <= 100_000)) {
    throw new ConfigError(name, "must be a whole number from 1 to 100000");
  }
  return count;
}

function requireDuration(name: string, value: string, min: number, max: number): number {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds < min) {
    throw new ConfigError(
      name,
      `must be a duration such as 30s, 30m, 12h or 30d${min > 0 ? ", above zero" : ""}`,
    );
  }
  if (seconds > max) throw new ConfigError(name, `must be at most ${max} seconds`);
  return seconds;
}

function requireRate(name: string, value: string): Rate {
  const rate = parseRate(value);
  if (rate === undefined) {
    throw new ConfigError(name, "must be a rate such as 10/15m (count/duration)");
  }
  if (rate.windowSeconds > DAY) throw new ConfigError(name, "must have a window of at most 1d");
  return rate;
}

function parseOrigins(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "").map((origin) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      throw new ConfigError(
        "CORS_ORIGINS",
        `has "${origin}", which is not an origin like https://app.example`,
      );
    }
    return origin;
  });
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Writes a file only if none exists (mode 0600); false when another process won the race. */
async function writeNewFile(path: string, text: string): Promise<boolean> {
  try {
    await Deno.writeTextFile(path, text, { createNew: true, mode: 0o600 });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
}

/**
 * Reads a `.env` another process has just created. Its creator writes it right after creating
 * it, so an empty or unfinished file is waited for (up to 1 s). A temporary file and a rename
 * would avoid the wait but need write access beside `.env`, which the server does not have.
 */
async function readJustCreated(path: string): Promise<string | undefined> {
  const deadline = Date.now() + 1000;
  for (;;) {
    const text = await readIfExists(path);
    const finished = text !== undefined && text.endsWith("\n") && text.includes("SECRET_KEY=");
    if (finished || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
