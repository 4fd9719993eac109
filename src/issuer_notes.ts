/**
 * What the start-up says about the issuer: in the listening line, where it comes from and whether
 * discovery works with it; and, once, that it changed since the store last served, since every
 * token issued before then is refused (its `iss` no longer matches).
 *
 * @module
 */
import type { Config } from "./config/parse_config.ts";
import { issuerUrl } from "./config/issuer.ts";

/**
 * The listening line's issuer part.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { issuerDescription } from "./issuer_notes.ts";
 * assert.equal(
 *   issuerDescription({ issuer: "https://auth.example", issuerFromAddress: false }),
 *   "issuer https://auth.example",
 * );
 * assert.match(
 *   issuerDescription({ issuer: "your identity", issuerFromAddress: false }),
 *   /^issuer your identity; OAuth and OpenID discovery are off: they need a URL issuer/,
 * );
 * ```
 */
export function issuerDescription(config: Pick<Config, "issuer" | "issuerFromAddress">): string {
  if (config.issuerFromAddress) {
    return `issuer ${config.issuer}; set ISSUER to the public URL for production`;
  }
  if (issuerUrl(config.issuer) === undefined) {
    return `issuer ${config.issuer}; OAuth and OpenID discovery are off: they need a URL issuer ` +
      "(set ISSUER to the server's public URL to serve them)";
  }
  return `issuer ${config.issuer}`;
}

/**
 * The note for an issuer other than the one the store last served (none when it is the same, or
 * the store is new).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { issuerChangeNote } from "./issuer_notes.ts";
 * assert.equal(issuerChangeNote(undefined, "http://localhost:10000"), undefined);
 * assert.equal(issuerChangeNote("http://localhost:10000", "http://localhost:10000"), undefined);
 * assert.match(
 *   issuerChangeNote("http://localhost:10000", "http://localhost:10003")!,
 *   /^Note: the issuer is now http:\/\/localhost:10003.*refused.*ISSUER=http:\/\/localhost:10000/,
 * );
 * ```
 */
export function issuerChangeNote(
  previous: string | undefined,
  current: string,
): string | undefined {
  if (previous === undefined || previous === current) return undefined;
  return `Note: the issuer is now ${current}, and this store last served ${previous}: tokens ` +
    `issued before are refused everywhere (their iss claim is ${previous}); to keep them, ` +
    `set ISSUER=${previous} (every instance must share one ISSUER)`;
}
