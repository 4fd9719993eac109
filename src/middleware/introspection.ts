/**
 * The introspection mode of `requireAuth`: after the local signature check, ask the auth
 * server's RFC 7662 endpoint whether the token is still active, so a revocation is seen within
 * `cacheMs` instead of at `exp`. Answers are cached per token string for at most `cacheMs`
 * (and never past `exp`), in a map of at most `maxEntries`.
 *
 * @module
 */
/** Options of the introspection mode. */
export interface IntrospectionOptions {
  /** The auth server's `introspection_endpoint`. */
  readonly url: string | URL;
  /** A registered client's id and secret (sent as client_secret_basic). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** How long an answer is reused, in milliseconds: default 5,000, at most 60,000. */
  readonly cacheMs?: number;
  /** Most answers kept: default 10,000. */
  readonly maxEntries?: number;
  /** Request timeout in milliseconds: default 3,000. */
  readonly timeout?: number;
  /** Replaces `fetch` (tests, proxies). */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** The introspection endpoint could not answer; the caller answers 503, never 401. */
export class IntrospectionUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IntrospectionUnavailable";
  }
}

const MAX_CACHE_MS = 60_000;

/**
 * Builds the check: `(token, exp, now)` resolves to whether the token is active.
 * Bad options throw a `TypeError` here.
 */
export function createIntrospectionCheck(options: IntrospectionOptions) {
  const url = new URL(String(options.url));
  const cacheMs = options.cacheMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isFinite(cacheMs) || cacheMs < 0 || cacheMs > MAX_CACHE_MS) {
    throw new TypeError(`introspection cacheMs must be 0 to ${MAX_CACHE_MS}`);
  }
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError("introspection maxEntries must be a positive integer");
  }
  if (!options.clientId || !options.clientSecret) {
    throw new TypeError("introspection needs clientId and clientSecret");
  }
  const fetchImpl = options.fetch ?? ((href: string, init: RequestInit) => fetch(href, init));
  // RFC 6749 section 2.3.1: form-encode the id and secret, then Basic.
  const authorization = "Basic " +
    btoa(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`);
  const answers = new Map<string, { active: boolean; until: number }>();

  async function ask(token: string): Promise<boolean> {
    let response: Response;
    try {
      response = await fetchImpl(url.href, {
        method: "POST",
        headers: {
          "Authorization": authorization,
          "Content-Type": "application/x-www-form-urlencoded",
          "Accept": "application/json",
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString(),
        signal: AbortSignal.timeout(options.timeout ?? 3_000),
      });
    } catch (err) {
      throw new IntrospectionUnavailable(`introspection failed: ${String(err).slice(0, 200)}`);
    }
    const body = await response.json().catch(() => undefined);
    if (response.status !== 200 || typeof body?.active !== "boolean") {
      throw new IntrospectionUnavailable(`introspection answered ${response.status}`);
    }
    return body.active;
  }

  return async function isTokenActive(token: string, exp: number, now: number): Promise<boolean> {
    const cached = answers.get(token);
    if (cached && cached.until > now) return cached.active;
    answers.delete(token);
    const active = await ask(token);
    if (answers.size >= maxEntries) answers.delete(answers.keys().next().value!);
    answers.set(token, { active, until: Math.min(now + cacheMs, exp * 1000) });
    return active;
  };
}

function formEncode(text: string): string {
  return encodeURIComponent(text).replaceAll("%20", "+");
}
