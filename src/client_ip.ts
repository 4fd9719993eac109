/**
 * The client address of a Hono request (see `client_address.ts`), worked out once per request and
 * only by the routes that need it (limits, logs).
 *
 * @module
 */
import type { Context } from "hono";
import { clientAddress, type TrustedProxies } from "./client_address.ts";
import { hasControlCharacter } from "./text.ts";

/** The TRUST_PROXY settings already warned about (one warning per configuration). */
const warned = new WeakSet<TrustedProxies>();

declare module "hono" {
  interface ContextVariableMap {
    /** The address rate limits count against, once computed. */
    clientIp: string;
  }
}

/** The address to count this request against. */
export function clientIp(c: Context, trustProxy: TrustedProxies): string {
  const known = c.get("clientIp");
  if (known !== undefined) return known;
  const peer = (c.env as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr;
  const address = peerClientIp(peer, c.req.header("X-Forwarded-For"), trustProxy);
  c.set("clientIp", address);
  return address;
}

/** The same address from plain values: for an answer made without Hono (`me_fast_path.ts`). */
export function peerClientIp(
  peer: Deno.Addr | undefined,
  forwardedFor: string | undefined,
  trustProxy: TrustedProxies,
): string {
  const peerAddress = peer && "hostname" in peer ? peer.hostname : "unknown";
  return clientAddress(
    peerAddress,
    forwardedFor,
    trustProxy,
    (hop) => warnOnce(trustProxy, peerAddress, hop),
  );
}

/**
 * One line, once per configuration, when a trusted proxy sends a hop that is no address: every
 * request it forwards that way counts against the proxy's own address (one budget for all).
 */
function warnOnce(trustProxy: TrustedProxies, proxy: string, hop: string): void {
  if (warned.has(trustProxy)) return;
  warned.add(trustProxy);
  const shown = [...hop.slice(0, 64)].map((ch) => hasControlCharacter(ch) ? "?" : ch).join("");
  console.error(
    `Warning: trusted proxy ${proxy} (TRUST_PROXY) sent an X-Forwarded-For hop that is not an ` +
      `IP address (${JSON.stringify(shown)}): the requests it forwards so count against the ` +
      "proxy's own address; make it send ip, ip:port or [ipv6]:port",
  );
}
