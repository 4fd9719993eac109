/**
 * The issuer (`ISSUER`, the `iss` claim): what a set value may be, what it is when unset (the
 * address served), and the URL discovery is built on.
 *
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { text } from "./values.ts";

/**
 * The issuer of a server with no `ISSUER`: the address it serves, with `localhost` for a wildcard
 * or loopback host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { issuerForAddress } from "./issuer.ts";
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
 * without discovery ({@link issuerUrl}). `undefined` when unset: the issuer then follows the
 * address served ({@link issuerForAddress}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIssuer } from "./issuer.ts";
 * assert.equal(parseIssuer("your identity", "ISSUER"), "your identity");
 * assert.throws(() => parseIssuer("localhost:10000", "ISSUER"), /write it as http:\/\/localhost:10000/);
 * ```
 */
export function parseIssuer(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  text(value, name);
  if (!value.includes(":")) return value;
  const url = URL.parse(value);
  if (/^[^:/]+:\d+$/.test(value)) {
    throw new ConfigError(
      name,
      `is a host and port, not a URL: write it as http://${value} (got "${value}")`,
    );
  }
  if (!url) {
    throw new ConfigError(
      name,
      `holds a ":" but is not a URI (RFC 7519 StringOrURI): use the server's public URL, ` +
        `such as https://auth.example.com, or a name without ":" (got "${value}")`,
    );
  }
  if ((url.protocol === "https:" || url.protocol === "http:") && (url.search || url.hash)) {
    throw new ConfigError(
      name,
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
 * import { issuerUrl } from "./issuer.ts";
 * assert.equal(issuerUrl("https://auth.example/")?.href, "https://auth.example/");
 * assert.equal(issuerUrl("your identity"), undefined);
 * assert.equal(issuerUrl("urn:example:auth"), undefined);
 * ```
 */
export function issuerUrl(issuer: string): URL | undefined {
  const url = URL.parse(issuer);
  return url && (url.protocol === "https:" || url.protocol === "http:") ? url : undefined;
}
