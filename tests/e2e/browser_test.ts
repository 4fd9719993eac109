/**
 * The login page in a real browser: Debian's Chromium (never a downloaded build), driven by
 * `puppeteer-core` with JavaScript turned off (the pages must work without it), against a real
 * server process and a relying party on another port: the form (a wrong password, then the
 * right one), the redirects with `state` and `iss`, single sign-on on the second authorize, the
 * page refused inside a frame (`frame-ancestors 'none'`), and RP-initiated logout.
 *
 * Without Chromium the test is skipped with the reason printed; under `CI` it fails instead
 * (`.ci/run` installs Debian's `chromium`). `CHROMIUM_PATH` names another binary. A run without
 * the permissions it needs (`deno test` as typed) skips it with the flags it lacks, and looks for
 * nothing at load: puppeteer-core is imported when the test runs (its `ws` reads the environment
 * as it loads).
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import type { Browser, Page } from "npm:puppeteer-core@^25.16.0";
import { Authenticator, claimsOf } from "../helpers/mfa.ts";
import { dirWithUsers, freePort, PASSWORD, runTask, withServer } from "./support.ts";
import {
  ENV,
  lacking,
  needs,
  NET,
  READ,
  RUN_CHROMIUM,
  RUN_DENO,
  WRITE,
} from "../helpers/permissions.ts";

const NEEDED = [READ, WRITE, ENV, NET, RUN_DENO, RUN_CHROMIUM];
const test = needs(...NEEDED);
/** Chromium is looked for only when the run may look (and run it). */
const granted = lacking(NEEDED).length === 0;

const CHROMIUM = (granted && Deno.env.get("CHROMIUM_PATH")) || "/usr/bin/chromium";

function chromiumMissing(): string | undefined {
  try {
    Deno.statSync(CHROMIUM);
    return undefined;
  } catch {
    return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  }
}

const missing = granted ? chromiumMissing() : undefined;
if (missing && Deno.env.get("CI")) {
  throw new Error(`CI is set and the browser tests cannot run: ${missing}`);
}
if (missing) console.log(`browser_test.ts skipped: ${missing}`);

/** The relying party: a callback page that shows what it got, a signed-out page, a framer. */
function startRelyingParty(port: number, authorizeUrl: () => string) {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const html = (body: string) =>
      new Response(`<!doctype html><title>rp</title>${body}`, {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    if (url.pathname === "/frame") {
      return html(`<iframe id="login" src="${authorizeUrl().replaceAll("&", "&amp;")}"></iframe>`);
    }
    return html(`<p id="where">${url.pathname}</p>`);
  });
}

async function launch(): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
  // deno-lint-ignore no-import-prefix -- test-only, as above
  const { default: puppeteer } = await import("npm:puppeteer-core@^25.16.0");
  return await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
}

async function signIn(page: Page, password: string) {
  await page.type("#user_id", "ada");
  await page.type("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

test({
  name: "Chromium: login form, redirects, single sign-on, no framing, logout; no JavaScript" +
    (missing ? ` (skipped: ${missing})` : ""),
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const port = freePort();
    const rpPort = freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const rp = `http://127.0.0.1:${rpPort}`;
    const env = { JWT_ALG: "ES256", ISSUER: issuer, LOGIN_PAGE_NAME: "Example Corp" };
    await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }], env);
    const added = await runTask("client", scratch.path, [
      "add",
      "web",
      "--grant",
      "authorization_code",
      "--redirect-uri",
      `${rp}/callback`,
      "--post-logout-redirect-uri",
      `${rp}/signed-out`,
      "--json",
    ], { env });
    assert.equal(added.code, 0, added.stderr);
    const secret = JSON.parse(added.stdout).client_secret;

    const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // RFC 7636 Appendix B
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const authorizeUrl = (state: string, extra: Record<string, string> = {}) =>
      `${issuer}/authorize?${new URLSearchParams({
        response_type: "code",
        client_id: "web",
        redirect_uri: `${rp}/callback`,
        scope: "openid",
        state,
        nonce: "n",
        code_challenge: challenge,
        code_challenge_method: "S256",
        ...extra,
      })}`;
    const relyingParty = startRelyingParty(
      rpPort,
      // prompt=login: the form itself, not the single sign-on redirect.
      () => authorizeUrl("framed", { prompt: "login" }),
    );

    await withServer({ dir: scratch.path, port, env }, async () => {
      const browser = await launch();
      try {
        const page = await browser.newPage();
        await page.setJavaScriptEnabled(false);

        // The form: labelled inputs, the product name, a wrong password, then the right one.
        await page.goto(authorizeUrl("one"));
        assert.equal(await page.$eval("h1", (e) => e.textContent), "Sign in to Example Corp");
        assert.equal(
          await page.$eval("#user_id", (e) => e.getAttribute("autocomplete")),
          "username",
        );
        assert.equal(
          await page.$eval("#password", (e) => e.getAttribute("autocomplete")),
          "current-password",
        );
        assert.ok(await page.$("label[for=user_id]"));
        assert.ok(await page.$("label[for=password]"));
        await signIn(page, "not the password");
        assert.equal(
          await page.$eval("[role=alert]", (e) => e.textContent),
          "The user name or password is incorrect.",
        );
        // The form came back with the user name kept and the password empty.
        assert.equal(await page.$eval("#user_id", (e) => e.getAttribute("value")), "ada");
        await page.type("#password", PASSWORD);
        await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
        const callback = new URL(page.url());
        assert.equal(`${callback.origin}${callback.pathname}`, `${rp}/callback`);
        assert.equal(callback.searchParams.get("state"), "one");
        assert.equal(callback.searchParams.get("iss"), issuer);
        const code = callback.searchParams.get("code")!;

        const tokens = await (await fetch(`${issuer}/oauth/token`, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Authorization: `Basic ${btoa(`web:${secret}`)}`,
          },
          body: new URLSearchParams({
            grant_type: "authorization_code",
            code,
            redirect_uri: `${rp}/callback`,
            code_verifier: verifier,
          }),
        })).json();
        assert.ok(tokens.id_token, JSON.stringify(tokens));

        // Single sign-on: straight back to the client, no form.
        await page.goto(authorizeUrl("two"));
        const second = new URL(page.url());
        assert.equal(second.pathname, "/callback");
        assert.equal(second.searchParams.get("state"), "two");
        assert.ok(second.searchParams.get("code"));

        // Inside another site's frame the page does not render.
        await page.goto(`${rp}/frame`);
        const frame = await (await page.$("#login"))!.contentFrame();
        assert.ok(frame);
        assert.equal(await frame.$("#password"), null, "the login form in a frame");
        assert.equal(await frame.$("h1"), null);

        // RP-initiated logout, then the form again.
        await page.goto(`${issuer}/end-session?${new URLSearchParams({
          id_token_hint: tokens.id_token,
          post_logout_redirect_uri: `${rp}/signed-out`,
          state: "bye",
        })}`);
        assert.equal(page.url(), `${rp}/signed-out?state=bye`);
        await page.goto(authorizeUrl("three"));
        assert.ok(await page.$("#password"), "signed out: the form again");
      } finally {
        await browser.close();
      }
    });
    await relyingParty.shutdown();
  },
});

test({
  name: "Chromium: a user with TOTP signs in with the password, then the code; no JavaScript" +
    (missing ? ` (skipped: ${missing})` : ""),
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const port = freePort();
    const rpPort = freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const rp = `http://127.0.0.1:${rpPort}`;
    const env = { JWT_ALG: "ES256", ISSUER: issuer };
    await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }], env);
    const added = await runTask("client", scratch.path, [
      "add",
      "web",
      "--grant",
      "authorization_code",
      "--redirect-uri",
      `${rp}/callback`,
      "--json",
    ], { env });
    assert.equal(added.code, 0, added.stderr);
    const secret = JSON.parse(added.stdout).client_secret;
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"; // RFC 7636 Appendix B
    const authorizeUrl = `${issuer}/authorize?${new URLSearchParams({
      response_type: "code",
      client_id: "web",
      redirect_uri: `${rp}/callback`,
      scope: "openid",
      state: "mfa",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
    })}`;
    const relyingParty = startRelyingParty(rpPort, () => authorizeUrl);

    await withServer({ dir: scratch.path, port, env }, async () => {
      // Enrol through the JSON API; the codes come from npm:otpauth (an authenticator app).
      const bearer = async (path: string, token: string, body: unknown) =>
        await (await fetch(`${issuer}${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        })).json();
      const login = await (await fetch(`${issuer}/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user_id: "ada", password: PASSWORD }),
      })).json();
      const { otpauth_uri } = await bearer("/me/mfa/totp", login.token, { password: PASSWORD });
      const app = new Authenticator(otpauth_uri);
      const confirmed = await bearer("/me/mfa/totp/confirm", login.token, {
        code: app.code(Date.now()),
      });
      assert.equal(confirmed.recovery_codes.length, 10, JSON.stringify(confirmed));

      const browser = await launch();
      try {
        const page = await browser.newPage();
        await page.setJavaScriptEnabled(false);
        await page.goto(authorizeUrl);
        await signIn(page, PASSWORD);
        // The second step: a code input as authenticator apps and phone keyboards expect it.
        assert.equal(await page.$eval("h1", (e) => e.textContent), "Enter your code");
        assert.ok(await page.$("label[for=code]"));
        assert.equal(
          await page.$eval("#code", (e) => e.getAttribute("autocomplete")),
          "one-time-code",
        );
        assert.equal(await page.$eval("#code", (e) => e.getAttribute("inputmode")), "numeric");
        assert.equal(new URL(page.url()).pathname, "/authorize/login", "no redirect yet");
        // A wrong code: the step again, the error announced.
        await page.type("#code", "000000");
        await Promise.all([page.waitForNavigation(), page.click("form:not([hidden]) button")]);
        assert.equal(
          await page.$eval("[role=alert]", (e) => e.textContent),
          "The code is incorrect or was already used.",
        );
        // The next step's code (the confirming code's step is spent; one step of drift is
        // accepted either way).
        await page.type("#code", app.code(Date.now() + 30_000));
        await Promise.all([page.waitForNavigation(), page.click("form:not([hidden]) button")]);
        const callback = new URL(page.url());
        assert.equal(`${callback.origin}${callback.pathname}`, `${rp}/callback`);
        assert.equal(callback.searchParams.get("state"), "mfa");
        const tokens = await (await fetch(`${issuer}/oauth/token`, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Authorization: `Basic ${btoa(`web:${secret}`)}`,
          },
          body: new URLSearchParams({
            grant_type: "authorization_code",
            code: callback.searchParams.get("code")!,
            redirect_uri: `${rp}/callback`,
            code_verifier: verifier,
          }),
        })).json();
        assert.deepEqual(claimsOf(tokens.id_token).amr, ["pwd", "otp"], JSON.stringify(tokens));
        assert.deepEqual(claimsOf(tokens.access_token).amr, ["pwd", "otp"]);
      } finally {
        await browser.close();
      }
    });
    await relyingParty.shutdown();
  },
});
