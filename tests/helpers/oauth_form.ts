/** Form posts to the OAuth endpoints of an in-process app, with client_secret_basic. */
import type { TestApp } from "./app.ts";

/** `Authorization: Basic` for a client (RFC 6749 section 2.3.1: form-encoded id and secret). */
export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replaceAll("%20", "+");
  return `Basic ${btoa(`${enc(id)}:${enc(secret)}`)}`;
}

/** POSTs a form to `path` as if from `client` (an address). */
export function postForm(
  t: TestApp,
  path: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
  client?: string,
): Promise<Response> {
  return t.request(path, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params).toString(),
  }, client);
}
