/**
 * The `Host` a request may name: a host name or address and an optional port, nothing that moves
 * the path. Deno builds a request's URL from `Host` and the request target, and Hono routes by that
 * URL's path, so `Host: h/admin/users?` sent with the target `/public` would be routed to
 * `/admin/users`: behind a proxy that filters by path and forwards `Host` as it came, a client could
 * reach routes the proxy means to hide. Such a request is refused before anything routes it.
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/** RFC 3986's reg-name, IPv4 or a bracketed IPv6 literal, then an optional port. */
const PLAIN_HOST = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=%]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?$/;

/** The answer to a request whose `Host` is not a plain host (400 `bad_request`). */
export const NOT_A_HOST = new ApiError("bad_request", "the Host header is not a host name");

/**
 * Whether `host` (the request's `Host` header; `null` when it has none) names a host and no more.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlainHost } from "./host_header.ts";
 * assert(isPlainHost("auth.example.com") && isPlainHost("127.0.0.1:10000"));
 * assert(isPlainHost("[::1]:10000") && isPlainHost(null));
 * assert(!isPlainHost("h/admin/users?") && !isPlainHost("user@h") && !isPlainHost(""));
 * ```
 */
export function isPlainHost(host: string | null): boolean {
  return host === null || PLAIN_HOST.test(host);
}
