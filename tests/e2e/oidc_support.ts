/**
 * What the end-to-end tests of OpenID Connect share: a browser without a screen that signs in
 * through the login page, the code flow through it with openid-client, and registering a client
 * through `deno task client`.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import * as oidc from "npm:openid-client@^6.8.9";
import { runTask } from "./support.ts";

/** A hidden field's value in a page of ours. */
function hiddenField(html: string, name: string): string {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)![1]!.replaceAll("&amp;", "&")
    .replaceAll("&quot;", '"').replaceAll("&#39;", "'");
}

/** A browser without a screen: follows our redirects by hand, keeps cookies. */
export class HttpBrowser {
  readonly #cookies = new Map<string, string>();

  async get(url: string): Promise<Response> {
    return this.#keep(await fetch(url, { headers: this.#headers(), redirect: "manual" }));
  }

  async postForm(url: string, fields: Record<string, string>): Promise<Response> {
    return this.#keep(
      await fetch(url, {
        method: "POST",
        headers: { ...this.#headers(), "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields).toString(),
        redirect: "manual",
      }),
    );
  }

  /** Opens the authorization URL, fills the login form, returns where it sends the browser. */
  async signIn(authorizationUrl: URL, userId: string, password: string): Promise<URL> {
    const page = await this.get(authorizationUrl.href);
    assert.equal(page.status, 200, "the login page");
    return await this.#logIn(authorizationUrl, await page.text(), userId, password);
  }

  /**
   * Opens the authorization URL: with a browser session, where it sends the browser at once
   * (single sign-on; for a public client, once its "Continue as" page is confirmed); without
   * one, signs in as `userId` (a password is then expected).
   */
  async authorize(url: URL, userId: string, password?: string): Promise<URL> {
    const page = await this.get(url.href);
    if (page.status === 302) return new URL(page.headers.get("Location")!);
    assert.equal(page.status, 200, "the login page");
    const html = await page.text();
    if (html.includes('name="decision"')) return await this.confirm(url, html);
    assert.ok(password !== undefined, "signed out: the login page, unexpected here");
    return await this.#logIn(url, html, userId, password);
  }

  /** Confirms a "Continue as" page (`html`); where the answer sends the browser. */
  async confirm(url: URL, html: string): Promise<URL> {
    const answer = await this.postForm(new URL("/authorize/continue", url).href, {
      csrf_token: hiddenField(html, "csrf_token"),
      request: hiddenField(html, "request"),
      session: hiddenField(html, "session"),
      decision: "continue",
    });
    await answer.body?.cancel();
    assert.equal(answer.status, 303);
    return new URL(answer.headers.get("Location")!);
  }

  /** Fills the login page's form (`html`) and returns where the answer sends the browser. */
  async #logIn(url: URL, html: string, userId: string, password: string): Promise<URL> {
    const answer = await this.postForm(new URL("/authorize/login", url).href, {
      csrf_token: hiddenField(html, "csrf_token"),
      request: hiddenField(html, "request"),
      user_id: userId,
      password,
    });
    await answer.body?.cancel();
    assert.equal(answer.status, 303);
    return new URL(answer.headers.get("Location")!);
  }

  #headers(): Record<string, string> {
    const cookie = [...this.#cookies].map(([n, v]) => `${n}=${v}`).join("; ");
    return cookie ? { Cookie: cookie } : {};
  }

  #keep(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      if (/Max-Age=0\b/.test(line)) this.#cookies.delete(pair!.slice(0, eq));
      else this.#cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  }
}

/** `deno task client add ... --json`, required to succeed: the client as JSON. */
export async function clientAdd(dir: string, env: Record<string, string>, args: string[]) {
  const result = await runTask("client", dir, ["add", ...args, "--json"], { env });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/**
 * The code flow (PKCE, state, nonce) through the login page, signing in as `userId`:
 * openid-client validates the answer and the ID token. The callback URL is returned too.
 */
export async function codeFlow(
  config: oidc.Configuration,
  options: { redirectUri: string; userId: string; password: string; browser?: HttpBrowser },
) {
  const browser = options.browser ?? new HttpBrowser();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: "openid",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const callback = await browser.signIn(url, options.userId, options.password);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return { tokens, browser, callback };
}
