/**
 * The client address of a Hono request (see `client_address.ts`), worked out once per request and
 * only by the routes that need it (limits, logs).
 *
 * @module
 */
import type { Context } from "hono";
import { clientAddress, type TrustedProxies } from "./client_address.ts";

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
  const peerAddress = peer && "hostname" in peer ? peer.hostname : "unknown";
  const address = clientAddress(peerAddress, c.req.header("X-Forwarded-For"), trustProxy);
  c.set("clientIp", address);
  return address;
}
