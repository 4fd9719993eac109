/**
 * `GET /me` answered again without Hono: a client polling `/me` with one token gets, from the
 * second request on, the very answer the route gave it, built without Hono's per-request context
 * (its `Headers`, dispatch and `Response` cost about as much as the rest of the request:
 * docs/benchmarks.md, "Measured on the running server").
 *
 * The route (`routes/me_logout.ts`) is still the only place that decides: it serializes the
 * answer here ({@link MeAnswers.body}), which remembers it under the exact `Authorization` header
 * it answered 200 for. A repeat is answered from that memo only while everything the route's path
 * would check still holds, checked on every hit: the token's `exp` (the same clock and comparison
 * as `requireAuth`'s verified-token cache), its `kid` still a verification key of the ring (as
 * that cache checks), and the session gate's still-fresh entry admitting the token
 * (`SessionGate.peek`) with the very roles object the body was built from. Anything else (another
 * method, path, query, header spelling, a stale gate entry, a revocation) falls through to Hono,
 * which verifies, refuses or answers, and refills the memo. Off when CORS is configured (its
 * headers depend on the request's `Origin`).
 *
 * The answer carries the same status, body and headers (`requestChain`'s security headers and the
 * route's content type, in the same order), and gets the same histogram series and log line,
 * their constant parts prepared once per remembered token (`RequestChain.prepare`).
 *
 * @module
 */
import { decodeProtectedHeader } from "jose";
import type { TrustedProxies } from "../client_address.ts";
import { peerClientIp } from "../client_ip.ts";
import type { KeyRing } from "../crypto/keys.ts";
import type { PreparedAnswer, RequestChain } from "../middleware/request_chain.ts";
import { bearerToken } from "../middleware/require_auth.ts";
import type { AccessClaims } from "../tokens/access_token.ts";
import type { SessionGate } from "../tokens/session_gate.ts";
import type { Me } from "../wire.ts";

/** The content type of `/me`'s answer, on both paths. */
export const ME_CONTENT_TYPE = "application/json";

interface Remembered {
  readonly claims: AccessClaims;
  /** The token's key id, checked against the ring on every hit. */
  readonly kid: string;
  /** The gate's roles object the body was built from. */
  readonly roles: readonly string[];
  readonly body: string;
  /** Its histogram series and log line, prepared once (`RequestChain.prepare`). */
  readonly done: PreparedAnswer;
}

/** What {@link createMeAnswers} needs. */
export interface MeAnswersOptions {
  /** The live key ring (`services.keys`). */
  readonly keys: () => KeyRing;
  /** The clock `requireAuth` and the gate use (`services.now`). */
  readonly now: () => number;
  readonly gate: Pick<SessionGate, "peek">;
  /** The request chain Hono's answers go through: its headers, histogram and log. */
  readonly chain: RequestChain;
  readonly trustProxy: TrustedProxies;
  /** Answer repeats without Hono (false: the route still serializes once per token). */
  readonly fastPath: boolean;
  /** How many `Authorization` headers are remembered (the oldest go first). */
  readonly maxEntries?: number;
}

/** `/me`'s answers: serialized once, and answered again without Hono. */
export interface MeAnswers {
  /** The body of `/me` for these claims and roles, remembered under `authorization`. */
  body(authorization: string, claims: AccessClaims, roles: readonly string[]): string;
  /** The answer to a repeat the memo may answer, or `undefined`: ask Hono. */
  answer(request: Request, info: { readonly remoteAddr?: Deno.Addr }): Response | undefined;
}

/** Creates the memo and its fast path. */
export function createMeAnswers(options: MeAnswersOptions): MeAnswers {
  const { keys, now, gate, chain, trustProxy } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const byHeader = new Map<string, Remembered>();
  // The route's answer is built from a `Headers` object (the chain's list, then the content
  // type), whose iteration order (sorted by name) is the order they go out in: the same here.
  const list: [string, string][] = [...chain.headers, ["content-type", ME_CONTENT_TYPE]]
    .map(([name, value]) => [name, value]);
  const headers = [...new Headers(list)];

  function answer(request: Request, info: { readonly remoteAddr?: Deno.Addr }) {
    const started = performance.now();
    if (request.method !== "GET" || !isBareMePath(request.url)) return undefined;
    const authorization = request.headers.get("authorization");
    const entry = authorization === null ? undefined : byHeader.get(authorization);
    if (entry === undefined) return undefined;
    const { claims } = entry;
    // What requireAuth's cache checks before trusting a verification it made earlier.
    if (now() >= claims.exp * 1000 || !keys().verification.has(entry.kid)) return undefined;
    // What its isActive asks, answered only from the gate's fresh entry; the same roles object
    // means the body still says what the route would say now.
    if (gate.peek(claims) !== entry.roles) return undefined;
    const response = new Response(entry.body, { status: 200, headers });
    entry.done(started, () =>
      peerClientIp(
        info.remoteAddr,
        request.headers.get("x-forwarded-for") ?? undefined,
        trustProxy,
      ));
    return response;
  }

  /** {@link answer}, or `undefined` should it fail: Hono then answers, errors included. */
  function answerOrAskHono(request: Request, info: { readonly remoteAddr?: Deno.Addr }) {
    try {
      return answer(request, info);
    } catch {
      return undefined;
    }
  }

  return {
    body(authorization, claims, roles) {
      const known = byHeader.get(authorization);
      if (known?.claims === claims && known.roles === roles) return known.body;
      const me: Me = { claims, roles: [...roles] };
      const body = JSON.stringify(me);
      // Only the one canonical spelling is remembered, and only when the fast path is on: the
      // verifier accepts any case and any run of spaces, so one token has endless spellings, and
      // each would hold an entry (up to a header's 64 KiB) if every spelling were kept.
      const token = bearerToken(authorization);
      if (!options.fastPath || token === undefined || authorization !== `Bearer ${token}`) {
        return body;
      }
      // Decoded once per verified claims object, as requireAuth's cache keeps the kid.
      const kid = known?.claims === claims ? known.kid : String(decodeProtectedHeader(token).kid);
      if (known === undefined && byHeader.size >= maxEntries) {
        byHeader.delete(byHeader.keys().next().value!);
      }
      const done = known?.claims.sub === claims.sub ? known.done : chain.prepare({
        method: "GET",
        path: "/me",
        route: "/me",
        status: 200,
        sub: claims.sub,
      });
      byHeader.set(authorization, { claims, kid, roles, body, done });
      return body;
    },
    answer: options.fastPath ? answerOrAskHono : () => undefined,
  };
}

/**
 * The request's target is exactly `/me`: no query, no fragment, no trailing slash, nothing to
 * decode or normalize. `request.url` is the scheme and authority, then the target as the client
 * sent it; the path starts where Hono's `getPath` starts it, so Hono would route it to `/me` too.
 */
function isBareMePath(url: string): boolean {
  return url.endsWith("/me") && url.indexOf("/", url.indexOf(":") + 4) === url.length - 3;
}
