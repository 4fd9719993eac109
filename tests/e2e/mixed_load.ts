/**
 * The mixed load of issue 20, against running servers over real HTTP on 127.0.0.1: refresh
 * chains that hop from server to server on every refresh, plus one login loop per server. It
 * stops by itself after `durationMs` and counts every answer by status and code, so a test can
 * require "no 5xx" and a measurement can print the same figures.
 */
import { PASSWORD, postJson } from "./support.ts";

/** What the load sends. */
export interface MixedLoadOptions {
  /** Base URLs of the servers (`http://127.0.0.1:port`); the chains hop between them. */
  readonly urls: readonly string[];
  /** How long the load runs. */
  readonly durationMs: number;
  /** Refresh chains: each logs in once, then refreshes, each refresh on the next server. */
  readonly chains: number;
  /** The user the login loops log in as. */
  readonly loginUser: string;
  /**
   * The user the chains log in as: another than `loginUser`, so the loops' logins never push a
   * chain's session out under `MAX_SESSIONS_PER_USER`, and every refresh must answer 200.
   */
  readonly chainUser: string;
}

/** Answers of one kind of request, by `status` or `status code`. */
export type Tally = Record<string, number>;

/** What the load got back. */
export interface MixedLoadResult {
  readonly logins: Tally;
  readonly refreshes: Tally;
  /** Requests that failed without an HTTP answer (connection refused, reset). */
  readonly transportErrors: number;
}

/** Counts of answers at or above 500 in a tally. */
export function serverErrors(tally: Tally): number {
  return Object.entries(tally).filter(([key]) => Number(key.split(" ")[0]) >= 500)
    .reduce((sum, [, n]) => sum + n, 0);
}

/** All answers in a tally. */
export function total(tally: Tally): number {
  return Object.values(tally).reduce((sum, n) => sum + n, 0);
}

/**
 * Runs the load until `durationMs` has passed (each loop finishes the request it has sent).
 * A chain whose refresh token is refused (it should not be) logs in again and goes on, so one
 * failure does not silence a chain for the rest of the run.
 */
export async function runMixedLoad(options: MixedLoadOptions): Promise<MixedLoadResult> {
  const { urls } = options;
  const logins: Tally = {};
  const refreshes: Tally = {};
  let transportErrors = 0;
  const deadline = Date.now() + options.durationMs;
  const note = (tally: Tally, answer: { status: number; body: unknown }) => {
    const code = (answer.body as { code?: unknown } | undefined)?.code;
    const key = typeof code === "string" ? `${answer.status} ${code}` : String(answer.status);
    tally[key] = (tally[key] ?? 0) + 1;
  };
  const send = async (url: string, body: unknown, tally: Tally) => {
    try {
      const answer = await postJson(url, body);
      note(tally, answer);
      return answer;
    } catch {
      transportErrors++;
      return undefined;
    }
  };
  const login = (url: string, userId: string) =>
    send(`${url}/login`, { user_id: userId, password: PASSWORD }, logins);

  const loginLoop = async (url: string) => {
    while (Date.now() < deadline) await login(url, options.loginUser);
  };
  const chain = async (start: number) => {
    let hop = start;
    let token: string | undefined;
    while (Date.now() < deadline) {
      const url = urls[hop++ % urls.length]!;
      if (token === undefined) {
        const answer = await login(url, options.chainUser);
        token = answer?.status === 200 ? answer.body.refresh_token : undefined;
        continue;
      }
      const answer = await send(`${url}/refresh`, { refresh_token: token }, refreshes);
      if (answer?.status === 200) token = answer.body.refresh_token;
      else if (answer === undefined || answer.status < 500) token = undefined;
      // A 5xx leaves the token as it was: nothing was spent, the chain retries it next hop.
    }
  };
  await Promise.all([
    ...urls.map(loginLoop),
    ...Array.from({ length: options.chains }, (_, i) => chain(i)),
  ]);
  return { logins, refreshes, transportErrors };
}
