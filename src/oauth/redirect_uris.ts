/**
 * Which redirect URIs a client may register, and how a presented one is matched.
 *
 * Registration (RFC 8252 sections 7.1 and 7.3, RFC 9700 section 2.1): `https:` anywhere; `http:`
 * only on a loopback host (`127.0.0.1`, `[::1]`, `localhost`), where a native app listens on a port
 * it picks at run time; or a private-use scheme with a dot (`com.example.app:/callback`) for native
 * apps. Never a fragment (RFC 6749 section 3.1.2), never userinfo, never a wildcard.
 *
 * Matching is an exact, case-sensitive string comparison with a registered URI (RFC 9700 section
 * 4.1.3; OpenID Connect Core 3.1.2.1 "exact string matching"). One exception, the one RFC 8252
 * section 7.3 asks for: a loopback `http:` URI matches a registered one that differs only in the
 * port, since the app picks its port when it starts.
 *
 * @module
 */

const LOOPBACK_HOSTS = ["127.0.0.1", "[::1]", "localhost"];
const MAX_URI_LENGTH = 2000;
const MAX_URIS = 32;
/** RFC 3986 scheme, with a dot as RFC 8252 section 7.1 asks (reverse domain name). */
const PRIVATE_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$/;

/**
 * Why `uri` cannot be registered as a redirect URI, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redirectUriProblem } from "./redirect_uris.ts";
 * assert.equal(redirectUriProblem("https://app.example.com/callback"), undefined);
 * assert.equal(redirectUriProblem("http://127.0.0.1:8080/cb"), undefined);
 * assert.equal(redirectUriProblem("com.example.app:/oauth"), undefined);
 * assert.ok(redirectUriProblem("http://app.example.com/callback"));
 * assert.ok(redirectUriProblem("https://app.example.com/cb#frag"));
 * assert.ok(redirectUriProblem("https://user@app.example.com/cb"));
 * ```
 */
export function redirectUriProblem(uri: string): string | undefined {
  const shown = uri.slice(0, 100);
  if (uri.length > MAX_URI_LENGTH) return `redirect URI is over ${MAX_URI_LENGTH} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(uri)) return `redirect URI "${shown}" holds a space or control`;
  if (uri.includes("*")) return `redirect URI "${shown}" holds a wildcard`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `redirect URI "${shown}" is not an absolute URI`;
  }
  if (uri.includes("#")) return `redirect URI "${shown}" has a fragment`;
  if (url.username !== "" || url.password !== "") {
    return `redirect URI "${shown}" has userinfo`;
  }
  // The parser normalises (case, dot segments, default ports): only a URI that is already in
  // its normal form can be matched exactly against what a client sends.
  if (url.href !== uri && url.href !== `${uri}/`) {
    return `redirect URI "${shown}" is not in normal form (${url.href.slice(0, 100)})`;
  }
  if (url.href !== uri) return `redirect URI "${shown}" needs a path (${url.href.slice(0, 100)})`;
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:") {
    return LOOPBACK_HOSTS.includes(url.hostname)
      ? undefined
      : `redirect URI "${shown}" must be https, or http on a loopback host (127.0.0.1, [::1], ` +
        "localhost)";
  }
  const scheme = url.protocol.slice(0, -1);
  if (!PRIVATE_SCHEME.test(scheme) || ["javascript", "data", "file"].includes(scheme)) {
    return `redirect URI "${shown}" must be https, loopback http, or a private-use scheme ` +
      "with a dot (com.example.app:/callback)";
  }
  return undefined;
}

/** Why a list of redirect URIs cannot be registered, or `undefined`. */
export function redirectUrisProblem(uris: readonly string[]): string | undefined {
  if (uris.length > MAX_URIS) return `at most ${MAX_URIS} redirect URIs`;
  for (const uri of uris) {
    const problem = redirectUriProblem(uri);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Whether `presented` is one of `registered`: the exact string, or, for loopback `http:` only,
 * the same URI on another port (RFC 8252 section 7.3).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchesRegistered } from "./redirect_uris.ts";
 * const uris = ["https://app.example.com/cb", "http://127.0.0.1/cb"];
 * assert.ok(matchesRegistered(uris, "https://app.example.com/cb"));
 * assert.ok(!matchesRegistered(uris, "https://app.example.com/cb/"));
 * assert.ok(!matchesRegistered(uris, "https://APP.example.com/cb"));
 * assert.ok(matchesRegistered(uris, "http://127.0.0.1:53124/cb"));
 * assert.ok(!matchesRegistered(uris, "http://127.0.0.1:53124/cb?x=1"));
 * ```
 */
export function matchesRegistered(registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  const loopback = withoutLoopbackPort(presented);
  return loopback !== undefined &&
    registered.some((uri) => withoutLoopbackPort(uri) === loopback);
}

/** A loopback `http:` URI with its port removed, exactly as written otherwise; else undefined. */
function withoutLoopbackPort(uri: string): string | undefined {
  const match = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::(\d{1,5}))?(\/[^#]*)$/.exec(uri);
  if (!match) return undefined;
  return `http://${match[1]}${match[3]}`;
}
