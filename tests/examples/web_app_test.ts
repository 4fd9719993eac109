/**
 * docs/browser-sign-in.md's example web app (examples/web_app.ts, openid-client inside) on its
 * own port signs a user in through a real auth server process and out again, the browser's
 * part played by plain HTTP with one cookie jar per host.
 */
import assert from "node:assert/strict";
import { createWebApp } from "../../examples/web_app.ts";
import { dirWithUsers, PASSWORD, runTask, withServer } from "../e2e/support.ts";
import { freePort } from "../helpers/server_process.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

/** Follows redirects by hand across both hosts, keeping each host's cookies. */
class Browser {
  readonly #jars = new Map<string, Map<string, string>>();

  async open(url: string, init: RequestInit = {}): Promise<Response> {
    let next = new URL(url);
    let request = init;
    for (let hops = 0; hops < 10; hops++) {
      const jar = this.#jars.get(next.host) ?? new Map<string, string>();
      this.#jars.set(next.host, jar);
      const cookie = [...jar].map(([n, v]) => `${n}=${v}`).join("; ");
      const res = await fetch(next, {
        ...request,
        headers: { ...(request.headers ?? {}), ...(cookie ? { Cookie: cookie } : {}) },
        redirect: "manual",
      });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const eq = pair!.indexOf("=");
        if (/Max-Age=0\b/i.test(line)) jar.delete(pair!.slice(0, eq));
        else jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
      }
      const location = res.headers.get("Location");
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.body?.cancel();
      next = new URL(location, next);
      request = {};
    }
    throw new Error("too many redirects");
  }
}

test("the example web app signs a user in with openid-client and out again", async () => {
  const port = freePort();
  const appPort = freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const base = `http://127.0.0.1:${appPort}`;
  const env = { JWT_ALG: "RS256", ISSUER: issuer };
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }], env);
  const added = await runTask("client", scratch.path, [
    "add",
    "webapp",
    "--grant",
    "authorization_code",
    "--grant",
    "refresh_token",
    "--redirect-uri",
    `${base}/callback`,
    "--post-logout-redirect-uri",
    `${base}/`,
    "--json",
  ], { env });
  assert.equal(added.code, 0, added.stderr);
  const { client_secret } = JSON.parse(added.stdout);

  await withServer({ dir: scratch.path, port, env }, async () => {
    const app = await createWebApp({
      issuer,
      clientId: "webapp",
      clientSecret: client_secret,
      baseUrl: base,
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: appPort, onListen() {} }, app.fetch);
    try {
      const browser = new Browser();
      const loginPage = await browser.open(`${base}/login`);
      assert.equal(new URL(loginPage.url).pathname, "/authorize");
      const html = await loginPage.text();
      const field = (name: string) =>
        new RegExp(`name="${name}" value="([^"]*)"`).exec(html)![1]!.replaceAll("&amp;", "&");
      const home = await browser.open(`${issuer}/authorize/login`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          csrf_token: field("csrf_token"),
          request: field("request"),
          user_id: "ada",
          password: PASSWORD,
        }).toString(),
      });
      assert.match(await home.text(), /Signed in as <b id="user">ada<\/b>/);

      const out = await browser.open(`${base}/logout`);
      assert.equal(out.url, `${base}/`);
      assert.match(await out.text(), /Not signed in/);
      // The auth server's session ended too: signing in again shows its form.
      const again = await browser.open(`${base}/login`);
      assert.match(await again.text(), /autocomplete="current-password"/);
    } finally {
      await server.shutdown();
    }
  });
});
