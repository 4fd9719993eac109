/**
 * The rules of the signing secrets (`SECRET_KEY`, `PREVIOUS_SECRET_KEYS`): present, long, not a
 * placeholder, not repetitive. Messages name the variable, never the value.
 *
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { items, type Parser } from "./values.ts";

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

/**
 * A signing secret: required, at least 32 bytes, no placeholder, not too repetitive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requireSecret } from "./secrets.ts";
 * assert.throws(() => requireSecret("changeme", "SECRET_KEY"), /placeholder/);
 * assert.equal(requireSecret("k".repeat(20) + "0123456789abcdefghij", "SECRET_KEY").length, 40);
 * ```
 */
export const requireSecret: Parser<string> = (value, name) => {
  const secret = value;
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
};

/** Comma-separated secrets, each under the rules of {@link requireSecret}; frozen. */
export const secretList: Parser<readonly string[]> = (value = "", name) =>
  Object.freeze(items(value).map((s) => requireSecret(s, name)));
