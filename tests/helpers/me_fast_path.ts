/**
 * A request served in process as `server.ts` serves it: `GET /me`'s fast path first
 * (`answerMeAgain`), then Hono's `fetch`, saying which one answered.
 */
import type { createApp } from "../../src/app.ts";

/** One answer, and whether the fast path gave it. */
export interface Served {
  readonly fast: boolean;
  readonly res: Response;
}

/** Serves `path` (`init` as for `fetch`) as if from `client`. */
export async function served(
  app: ReturnType<typeof createApp>,
  path: string,
  init: RequestInit = {},
  client = "192.0.2.1",
): Promise<Served> {
  const request = new Request(`http://127.0.0.1:10000${path}`, init);
  const info = { remoteAddr: { transport: "tcp" as const, hostname: client, port: 40000 } };
  const fast = app.answerMeAgain(request, info);
  return { fast: fast !== undefined, res: fast ?? await app.fetch(request, info) };
}

/** `Authorization: <scheme> <token>` as `init`. */
export function bearer(token: string, scheme = "Bearer "): RequestInit {
  return { headers: { Authorization: `${scheme}${token}` } };
}
