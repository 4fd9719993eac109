/**
 * Value parsers for the variable table (`variables.ts`): each turns a raw value (trimmed; the
 * variable's default when unset or blank; `undefined` when it has neither) into a typed one, or
 * throws a {@link ConfigError} naming the variable. A new kind of value gets its parser here.
 *
 * @module
 */
import { parseDuration, parseRate, type Rate } from "../duration.ts";
import { parseTrustedProxies, type TrustedProxies } from "../client_address.ts";
import { hasControlCharacter } from "../text.ts";
import { ConfigError } from "./config_error.ts";

/** Turns the raw value of the variable `name` into a typed one, or throws a ConfigError. */
export type Parser<T> = (value: string | undefined, name: string) => T;

const DAY = 86_400;

/**
 * A value trimmed, with blank read as unset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nonEmpty } from "./values.ts";
 * assert.equal(nonEmpty("  a "), "a");
 * assert.equal(nonEmpty("   "), undefined);
 * ```
 */
export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** Any text, or `undefined` when unset. */
export const optional: Parser<string | undefined> = (value) => value;

/** Text without control characters (a path, a host). */
export const text: Parser<string> = (value = "", name) => {
  if (hasControlCharacter(value)) {
    throw new ConfigError(name, "must not contain control characters");
  }
  return value;
};

/** A TCP port, 1 to 65535. */
export const port: Parser<number> = (value = "", name) => {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ConfigError(name, "must be a number from 1 to 65535");
  }
  return port;
};

/**
 * A whole number from `min` to `max`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wholeNumber } from "./values.ts";
 * assert.equal(wholeNumber(1, 1000)("10", "DATABASE_POOL_SIZE"), 10);
 * assert.throws(() => wholeNumber(1, 1000)("1.5", "DATABASE_POOL_SIZE"), /from 1 to 1000$/);
 * ```
 */
export function wholeNumber(min: number, max: number): Parser<number> {
  const digits = new RegExp(`^\\d{1,${String(max).length}}$`);
  return (value = "", name) => {
    const count = digits.test(value) ? Number(value) : NaN;
    if (!(count >= min && count <= max)) {
      throw new ConfigError(name, `must be a whole number from ${min} to ${max}`);
    }
    return count;
  };
}

/** A duration (`30s`, `30m`, `12h`, `30d` or seconds) from `min` to `max` seconds. */
export function duration(min: number, max: number): Parser<number> {
  return (value = "", name) => {
    const seconds = parseDuration(value);
    if (seconds === undefined || seconds < min) {
      throw new ConfigError(
        name,
        `must be a duration such as 30s, 30m, 12h or 30d${min > 0 ? ", above zero" : ""}`,
      );
    }
    if (seconds > max) throw new ConfigError(name, `must be at most ${max} seconds`);
    return seconds;
  };
}

/** A rate `count/duration` whose window is at most a day. */
export const rate: Parser<Rate> = (value = "", name) => {
  const rate = parseRate(value);
  if (rate === undefined) {
    throw new ConfigError(name, "must be a rate such as 10/15m (count/duration)");
  }
  if (rate.windowSeconds > DAY) throw new ConfigError(name, "must have a window of at most 1d");
  return rate;
};

/** One of `choices`, case-insensitive (`WARN` is `warn`); the first when unset. */
export function choice<T extends string>(choices: readonly [T, ...T[]]): Parser<T> {
  return (value, name) => {
    const picked = (value ?? choices[0]).toLowerCase();
    if (!(choices as readonly string[]).includes(picked)) {
      throw new ConfigError(name, `must be one of ${choices.join(", ")}`);
    }
    return picked as T;
  };
}

/** One of `choices`, exactly as written (`hs256` is not `HS256`). */
export function exactChoice<T extends string>(choices: readonly T[]): Parser<T> {
  return (value = "", name) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new ConfigError(name, `must be one of ${choices.join(", ")}`);
    }
    return value as T;
  };
}

/** `true` or `false` (case-insensitive); `false` when unset. */
export const flag: Parser<boolean> = (value, name) =>
  choice(["false", "true"])(value, name) === "true";

/**
 * A comma-separated list, items trimmed, empty ones dropped, frozen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { list } from "./values.ts";
 * assert.deepEqual(list(" a, ,b ", "TRUST_FORWARDING_CLIENTS"), ["a", "b"]);
 * assert.deepEqual(list(undefined, "TRUST_FORWARDING_CLIENTS"), []);
 * ```
 */
export const list: Parser<readonly string[]> = (value = "") => Object.freeze(items(value));

/** Comma-separated items, trimmed, without empty ones. */
export function items(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Comma-separated origins (`https://app.example`), each exactly an origin. */
export const origins: Parser<readonly string[]> = (value = "", name) =>
  Object.freeze(
    items(value).map((origin) => {
      const parsed = URL.parse(origin);
      if (!parsed || parsed.origin !== origin) {
        throw new ConfigError(
          name,
          `has "${origin}", which is not an origin like https://app.example`,
        );
      }
      return origin;
    }),
  );

/** Comma-separated IP addresses or CIDR ranges of trusted proxies. */
export const trustedProxies: Parser<TrustedProxies> = (value = "", name) => {
  const proxies = parseTrustedProxies(value);
  if (proxies === undefined) {
    throw new ConfigError(name, "must be a comma-separated list of IP addresses or CIDR ranges");
  }
  return proxies;
};

/** Text of at least `min` characters, or `undefined` when unset. */
export function minLength(min: number): Parser<string | undefined> {
  return (value, name) => {
    if (value !== undefined && value.length < min) {
      throw new ConfigError(name, `must be at least ${min} characters`);
    }
    return value;
  };
}

/** A name to show people: 1 to 64 characters, no control characters. */
export const displayName: Parser<string> = (value = "", name) => {
  // deno-lint-ignore no-control-regex
  if (value.length > 64 || /[\x00-\x1f\x7f]/.test(value)) {
    throw new ConfigError(name, "must be 1 to 64 characters, no control characters");
  }
  return value;
};

/** A colour `#rrggbb`. */
export const color: Parser<string> = (value = "", name) => {
  if (!/^#[0-9a-fA-F]{6}$/.test(value)) throw new ConfigError(name, "must be a colour #rrggbb");
  return value;
};
