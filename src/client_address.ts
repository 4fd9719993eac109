/**
 * The client's address for rate limits: the connection's peer, or, only when that peer is a
 * proxy named in `TRUST_PROXY`, the right-most untrusted hop of `X-Forwarded-For`. A client
 * that forges the header without going through a trusted proxy changes nothing.
 *
 * @module
 */

interface Range {
  readonly version: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
}

/** Parsed `TRUST_PROXY`: the proxy addresses whose `X-Forwarded-For` is believed. */
export interface TrustedProxies {
  readonly ranges: readonly Range[];
}

/**
 * Parses a comma-separated list of IP addresses and CIDR ranges; `undefined` when malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrustedProxies, isTrusted } from "./client_address.ts";
 * const trusted = parseTrustedProxies("10.0.0.0/8, ::1")!;
 * assert(isTrusted(trusted, "10.1.2.3") && !isTrusted(trusted, "11.0.0.1"));
 * ```
 */
export function parseTrustedProxies(text: string): TrustedProxies | undefined {
  const ranges: Range[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const [address = "", prefixText, extra] = item.split("/");
    const parsed = parseIp(address);
    if (!parsed || extra !== undefined) return undefined;
    const bits = parsed.version === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? bits : Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText ?? "0") || prefix > bits) return undefined;
    ranges.push({ version: parsed.version, base: mask(parsed.value, prefix, bits), prefix });
  }
  return { ranges };
}

/** Whether an address falls in one of the trusted ranges. */
export function isTrusted(trusted: TrustedProxies, address: string): boolean {
  const parsed = parseIp(address);
  if (!parsed) return false;
  const bits = parsed.version === 4 ? 32 : 128;
  return trusted.ranges.some((range) =>
    range.version === parsed.version && mask(parsed.value, range.prefix, bits) === range.base
  );
}

/**
 * The address to count a request against. A hop may be written `ip`, `ip:port` (IPv4),
 * `[v6]` or `[v6]:port`, as load balancers do; a hop that is none of those makes the request
 * count against the peer (the proxy) itself, and is passed to `onUnparsable` (the caller warns).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientAddress, parseTrustedProxies } from "./client_address.ts";
 * const none = parseTrustedProxies("")!;
 * assert(clientAddress("203.0.113.9", "1.2.3.4", none) === "203.0.113.9");
 * const proxy = parseTrustedProxies("127.0.0.1")!;
 * assert(clientAddress("127.0.0.1", "1.2.3.4, 198.51.100.7", proxy) === "198.51.100.7");
 * ```
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trusted: TrustedProxies,
  onUnparsable?: (hop: string) => void,
): string {
  if (trusted.ranges.length === 0 || !isTrusted(trusted, peer) || !forwardedFor) return peer;
  const hops = forwardedFor.split(",").map((s) => s.trim());
  let hop: string | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    hop = hopAddress(hops[i] ?? "");
    if (hop === undefined) {
      // A malformed hop: trust nothing the proxy passed on.
      onUnparsable?.(hops[i] ?? "");
      return peer;
    }
    if (!isTrusted(trusted, hop)) return normalize(hop);
  }
  return normalize(hop ?? peer);
}

/**
 * The address of one `X-Forwarded-For` hop: `ip`, `a.b.c.d:port`, `[v6]` or `[v6]:port`
 * (a bare IPv6 address has no port: its colons are its own); `undefined` for anything else.
 */
function hopAddress(hop: string): string | undefined {
  if (parseIp(hop)) return hop;
  const match = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(hop) ??
    /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/.exec(hop);
  if (!match || Number(match[2] ?? 0) > 65_535) return undefined;
  const bracketed = hop.startsWith("[");
  const parsed = parseIp(match[1]!);
  // Brackets hold IPv6 (a mapped IPv4 included); a bare `ip:port` is IPv4.
  if (!parsed || (bracketed ? !match[1]!.includes(":") : parsed.version !== 4)) return undefined;
  return match[1];
}

/**
 * What a per-client limit counts against: an IPv4 address as is, an IPv6 address by its /64
 * (one subscriber usually holds a whole /64, so counting single addresses would let a client
 * rotate through them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { limitSubject } from "./client_address.ts";
 * assert.equal(limitSubject("203.0.113.9"), "203.0.113.9");
 * assert.equal(limitSubject("2001:db8:1:2:aaaa::1"), limitSubject("2001:db8:1:2:bbbb::7"));
 * assert.notEqual(limitSubject("2001:db8:1:2::1"), limitSubject("2001:db8:1:3::1"));
 * ```
 */
export function limitSubject(address: string): string {
  const parsed = parseIp(address);
  if (!parsed || parsed.version === 4) return address;
  return `${(parsed.value >> 64n).toString(16)}::/64`;
}

/**
 * An IP address as a client wrote it, in the form the limits count (`::ffff:` mapped IPv4 as
 * IPv4, IPv6 in lowercase); `undefined` when it is not one address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalAddress } from "./client_address.ts";
 * assert.equal(canonicalAddress("::FFFF:203.0.113.9"), "203.0.113.9");
 * assert.equal(canonicalAddress("example.com"), undefined);
 * ```
 */
export function canonicalAddress(text: string): string | undefined {
  return parseIp(text) ? normalize(text) : undefined;
}

function normalize(address: string): string {
  const parsed = parseIp(address);
  if (!parsed) return address;
  return parsed.version === 4 ? address.replace(/^::ffff:/i, "") : address.toLowerCase();
}

function mask(value: bigint, prefix: number, bits: number): bigint {
  const hostBits = BigInt(bits - prefix);
  return (value >> hostBits) << hostBits;
}

function parseIp(text: string): { version: 4 | 6; value: bigint } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  const v4 = parseIpv4(mapped?.[1] ?? text);
  if (v4 !== undefined) return { version: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { version: 6, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-f:.]+$/i.test(text) || text.length > 45) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined) => (half ? half.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  // Only the address's last 32 bits may be written as a dotted quad.
  const last = halves.length === 2 ? tail : head;
  const lastGroup = last[last.length - 1];
  if (lastGroup?.includes(".")) {
    const v4 = parseIpv4(lastGroup);
    if (v4 === undefined) return undefined;
    last.splice(last.length - 1, 1, (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let value = 0n;
  for (const group of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}
