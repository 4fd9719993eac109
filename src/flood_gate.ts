/**
 * The cheapest possible refusal for a flood: a `POST /login` (any spelling the router routes
 * there, such as `/%6Cogin`) from a client this instance already knows to be over its
 * per-client limit is answered 429 before Hono routes it and before its body is read. Under a
 * flood nearly every request is such a refusal, and each one costs CPU that the honest logins of
 * other clients wait for; answering it here skips routing, middleware and JSON parsing. The
 * answer is the one the route would give.
 *
 * It is also held back a little (at most {@link HOLD_MS}, and never past its `Retry-After`)
 * before it goes out, as long as fewer than {@link MAX_HELD} are held: a client that waits for
 * each answer before sending the next (nearly every script and tool) then sends a few hundred
 * requests a second instead of tens of thousands. Past `MAX_HELD` the answer goes at once, so
 * what is held stays bounded whatever the flood does.
 *
 * @module
 */
import { getPath } from "hono/utils/url";
import { clientAddress } from "./client_address.ts";
import type { Config } from "./config/parse_config.ts";
import { apiErrorResponse, tooManyAttempts } from "./errors.ts";
import { securityHeaderList } from "./middleware/security_headers.ts";
import type { Services } from "./services.ts";

/** Longest a refusal is held back before it is sent. */
export const HOLD_MS = 1000;
/** Most refusals held back at once; past it they go out at once. */
export const MAX_HELD = 1024;

/** A check run before the app: the answer to give instead, or `undefined` to go on. */
export type Gate = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.Addr>,
) => Response | Promise<Response> | undefined;

/**
 * The login flood gate over the login service's memory of refused clients.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loginFloodGate } from "./flood_gate.ts";
 * import { parseTrustedProxies } from "./client_address.ts";
 * const login = { refusedClient: () => ({ bucket: "login_client", retryAfter: 1, source: "memory" }) } as const;
 * const config = { trustProxy: parseTrustedProxies("")!, issuer: "https://auth.example" };
 * const gate = loginFloodGate({ login } as never, config);
 * const info = { remoteAddr: { transport: "tcp", hostname: "192.0.2.1", port: 1 } } as never;
 * const get = new Request("http://x/login");
 * assert.equal(gate(get, info), undefined);
 * const post = new Request("http://x/login", { method: "POST" });
 * assert.equal((await gate(post, info))?.status, 429);
 * ```
 */
export function loginFloodGate(
  services: Pick<Services, "login">,
  config: Pick<Config, "trustProxy" | "issuer">,
): Gate {
  const headers = Object.fromEntries(securityHeaderList({ issuer: config.issuer }));
  let held = 0;
  return (request, info) => {
    if (request.method !== "POST" || !isLoginPath(request)) return undefined;
    const peer = info.remoteAddr;
    const address = clientAddress(
      "hostname" in peer ? peer.hostname : "unknown",
      request.headers.get("X-Forwarded-For") ?? undefined,
      config.trustProxy,
    );
    const refusal = services.login.refusedClient(address);
    if (refusal === undefined) return undefined;
    const answer = apiErrorResponse(tooManyAttempts(refusal.retryAfter), headers);
    if (held >= MAX_HELD) return answer;
    held++;
    return new Promise<Response>((resolve) =>
      setTimeout(() => {
        held--;
        resolve(answer);
      }, Math.min(HOLD_MS, refusal.retryAfter * 1000))
    );
  };
}

/**
 * Whether the router would send this request to `/login`: its path as Hono's router reads it
 * (the same function: percent-decoded, case and trailing slash significant), so that no
 * spelling of the path (`/%6Cogin`) reaches the route around the gate.
 */
function isLoginPath(request: Request): boolean {
  return getPath(request) === "/login";
}
