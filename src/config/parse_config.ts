/**
 * The validated, frozen configuration: every variable of the table (`variables.ts`) parsed into
 * its field, and the few fields made of several variables (the issuer, the login page's branding).
 *
 * @module
 */
import { issuerForAddress } from "./issuer.ts";
import { nonEmpty } from "./values.ts";
import { type Variable, VARIABLES } from "./variables.ts";

/** Raw variables: what `.env` and the environment hold, by name. */
export type RawVars = Readonly<Record<string, string | undefined>>;

type Table = typeof VARIABLES;

/** One field per variable, typed by its parser (durations are in seconds). */
export type Settings = {
  readonly [V in Table[number] as V["key"]]: V extends Variable<string, infer T> ? T : never;
};

/** The fields made of several variables replace the raw ones they are made of. */
type Combined = "issuer" | "productName" | "accentColor";

/** The validated, frozen configuration. Durations are in seconds. */
export interface Config extends Omit<Settings, Combined> {
  /** `ISSUER`, or with none set the address served ({@link Config.issuerFromAddress}). */
  readonly issuer: string;
  /** True when `ISSUER` is unset and {@link Config.issuer} follows `HOST` and `PORT`. */
  readonly issuerFromAddress: boolean;
  /** The login page's product name and accent colour (`LOGIN_PAGE_NAME`, `LOGIN_PAGE_COLOR`). */
  readonly branding: { readonly productName: string; readonly accentColor: string };
}

/**
 * Validates raw variables into a frozen {@link Config}; throws a `ConfigError` on the first bad
 * value (in the table's order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./parse_config.ts";
 * const config = parseConfig({ SECRET_KEY: "k".repeat(20) + "0123456789abcdefghij" });
 * assert(config.port === 10000 && config.tokenTtl === 1800);
 * ```
 */
export function parseConfig(vars: RawVars): Config {
  const fields: Record<string, unknown> = {};
  for (const v of VARIABLES as readonly Variable[]) {
    fields[v.key] = v.parse(nonEmpty(vars[v.name]) ?? v.default, v.name);
  }
  const { issuer, productName, accentColor, ...rest } = fields as Settings;
  return Object.freeze({
    ...rest,
    issuer: issuer ?? issuerForAddress(rest.host, rest.port),
    issuerFromAddress: issuer === undefined,
    branding: Object.freeze({ productName, accentColor }),
  });
}
