/**
 * Helpers for the browser sign-in tests in-process: a client registered for the code flow, PKCE
 * pairs, a cookie jar, the login form's hidden fields, and one whole sign-in.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { base64url } from "jose";
import type { TestApp } from "./app.ts";

export const REDIRECT_URI = "https://app.example/callback";
export const POST_LOGOUT_URI = "https://app.example/signed-out";

/** A PKCE verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

/** Registers a confidential `web` and a public `spa` client for the code flow. */
export async function addBrowserClients(t: TestApp): Promise<{ webSecret: string }> {
  const web = await t.services.clients.add("web", {
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT_URI],
  });
  await t.services.clients.add("spa", {
    public: true,
    grantTypes: ["authorization_code", "refresh_token"],
    redirectUris: ["https://spa.example/cb", "http://127.0.0.1/cb", "com.example.app:/oauth"],
  });
  return { webSecret: web.secret };
}

/** A cookie jar: names to values, fed from `Set-Cookie` answers. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/Max-Age=0\b/.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join("; ");
  }
}

/** The query of an authorization request. */
export function authorizeQuery(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) query.set(name, value);
  }
  return query.toString();
}

/** The hidden fields of a login form page. */
export function formFields(html: string): { csrf_token: string; request: string } {
  const field = (name: string) => {
    const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
    assert.ok(match, `no ${name} field`);
    return match[1]!.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'")
      .replaceAll("&lt;", "<").replaceAll("&gt;", ">");
  };
  return { csrf_token: field("csrf_token"), request: field("request") };
}

/** GET /authorize with the jar's cookies. */
export async function authorize(
  t: TestApp,
  jar: CookieJar,
  params: Record<string, string | undefined>,
): Promise<Response> {
  const res = await t.request(`/authorize?${authorizeQuery(params)}`, {
    headers: { Cookie: jar.header() },
  });
  jar.take(res);
  return res;
}

/** Posts the login form of `page` with credentials. */
export async function submitLogin(
  t: TestApp,
  jar: CookieJar,
  page: string,
  userId: string,
  password: string,
  override: Record<string, string> = {},
  client?: string,
): Promise<Response> {
  const fields = { ...formFields(page), user_id: userId, password, ...override };
  const res = await t.request("/authorize/login", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header() },
    body: new URLSearchParams(fields).toString(),
  }, client);
  jar.take(res);
  return res;
}

/**
 * Answers the "Continue as" page a signed-in browser gets for a public client (`decision`:
 * `continue` or `cancel`), with the page's hidden fields.
 */
export async function submitContinue(
  t: TestApp,
  jar: CookieJar,
  page: string,
  decision: "continue" | "cancel" = "continue",
  override: Record<string, string> = {},
): Promise<Response> {
  const session = /name="session" value="([^"]*)"/.exec(page);
  assert.ok(session, "no Continue page");
  const fields = { ...formFields(page), session: session[1]!, decision, ...override };
  const res = await t.request("/authorize/continue", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header() },
    body: new URLSearchParams(fields).toString(),
  });
  jar.take(res);
  return res;
}

/**
 * `/authorize` for a public client in a signed-in browser: the "Continue as" page, confirmed.
 * The code's redirect (303).
 */
export async function authorizeConfirmed(
  t: TestApp,
  jar: CookieJar,
  params: Record<string, string | undefined>,
): Promise<Response> {
  const page = await authorize(t, jar, params);
  assert.equal(page.status, 200, "the Continue page");
  const res = await submitContinue(t, jar, await page.text());
  assert.equal(res.status, 303, await res.clone().text());
  return res;
}

/** The query parameters of a redirect answer's Location. */
export function redirectParams(res: Response): URLSearchParams {
  const location = res.headers.get("Location");
  assert.ok(location, `no Location (status ${res.status})`);
  return new URL(location).searchParams;
}

/** Signs in through the form and returns the code (and the jar, now holding the session). */
export async function signInForCode(
  t: TestApp,
  jar: CookieJar,
  params: Record<string, string | undefined>,
  userId: string,
  password: string,
): Promise<string> {
  const page = await authorize(t, jar, params);
  assert.equal(page.status, 200, await page.clone().text());
  const res = await submitLogin(t, jar, await page.text(), userId, password);
  assert.equal(res.status, 303, await res.clone().text());
  const code = redirectParams(res).get("code");
  assert.ok(code);
  return code;
}

/** POST /oauth/token with a form. */
export function tokenRequest(
  t: TestApp,
  params: Record<string, string>,
  basic?: { id: string; secret: string },
): Promise<Response> {
  const headers: Record<string, string> = {
    "Content-Type": "application/x-www-form-urlencoded",
  };
  if (basic) headers.Authorization = `Basic ${btoa(`${basic.id}:${basic.secret}`)}`;
  return t.request("/oauth/token", {
    method: "POST",
    headers,
    body: new URLSearchParams(params).toString(),
  });
}

/** Posts the second step's form of `page` (`/authorize/mfa`) with a code or other fields. */
export async function submitStep(
  t: TestApp,
  jar: CookieJar,
  page: string,
  fields: Record<string, string>,
  client?: string,
): Promise<Response> {
  const res = await t.request("/authorize/mfa", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: jar.header() },
    body: new URLSearchParams({ ...formFields(page), ...fields }).toString(),
  }, client);
  jar.take(res);
  return res;
}
