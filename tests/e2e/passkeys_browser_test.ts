/**
 * Passkeys end to end in headless Chromium (Debian's, never a downloaded build) with the DevTools
 * protocol's virtual authenticator (CTAP2, internal, resident keys, user verification), driven
 * through npm:puppeteer-core, against the real server process: a user added with the CLI signs in
 * with the password on `/passkeys` and registers a passkey; then signs in with the passkey alone
 * (no user name, no password); a sign counter that went backwards (a cloned authenticator) and an
 * authenticator that cannot verify its user are refused.
 */
import assert from "node:assert/strict";
import { Authenticator, claimsOf } from "../helpers/mfa.ts";
import { freePort, freshDir, runTask, startServer } from "../helpers/server_process.ts";
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

const PASSWORD = "correct horse battery";

async function getJson(url: string, token: string) {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

const CHROMIUM = "/usr/bin/chromium";
/**
 * npm:puppeteer-core, loaded at run time and typed by the few calls made here: its own types pull
 * in a second copy of @types/node whose WebCrypto types clash with the server's under one
 * `deno check` of the whole tree.
 */
const PUPPETEER = "npm:puppeteer-core@^25.16.0";
interface Cdp {
  // deno-lint-ignore no-explicit-any
  send(method: string, params?: Record<string, unknown>): Promise<any>;
}
interface Page {
  createCDPSession(): Promise<Cdp>;
  goto(url: string): Promise<unknown>;
  url(): string;
  waitForNavigation(): Promise<unknown>;
  waitForSelector(selector: string): Promise<unknown>;
  type(selector: string, text: string): Promise<void>;
  click(selector: string): Promise<void>;
  waitForFunction(expression: string): Promise<unknown>;
  evaluate(expression: string): Promise<unknown>;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
/** puppeteer-core's `ws` reads the environment as it loads; the test task grants `chromium`. */
const NEEDED = [READ, WRITE, ENV, NET, RUN_DENO, RUN_CHROMIUM];
const test = needs(...NEEDED);

/** Why Chromium cannot run here, looked for only when the run may look (and run it). */
const missing = lacking(NEEDED).length > 0 ? undefined : (() => {
  try {
    Deno.statSync(CHROMIUM);
    return undefined;
  } catch {
    return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  }
})();

test({
  name:
    "passkeys in Chromium: register after a password sign-in, then sign in with the passkey alone" +
    (missing ? ` (skipped: ${missing})` : ""),
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await freshDir();
    const added = await runTask("user", dir, ["add", "ada"], { stdin: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.stderr);
    const port = freePort();
    const origin = `http://localhost:${port}`;
    const env = { ISSUER: origin, JWT_ALG: "ES256" };
    // A client of the login page, and its callback (a page that shows nothing).
    const rpPort = freePort();
    const callback = `http://127.0.0.1:${rpPort}/callback`;
    const client = await runTask("client", dir, [
      "add",
      "web",
      "--grant",
      "authorization_code",
      "--redirect-uri",
      callback,
      "--json",
    ], { env });
    assert.equal(client.code, 0, client.stderr);
    const clientSecret = JSON.parse(client.stdout).client_secret as string;
    const relyingParty = Deno.serve(
      { hostname: "127.0.0.1", port: rpPort, onListen() {} },
      () =>
        new Response("<!doctype html><title>rp</title>", {
          headers: { "content-type": "text/html" },
        }),
    );
    const server = await startServer({ dir, port, env });
    try {
      const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
      const puppeteer = (await import(PUPPETEER)).default as {
        launch(options: Record<string, unknown>): Promise<Browser>;
      };
      const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
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
      try {
        const page = await browser.newPage();
        const cdp = await page.createCDPSession();
        await cdp.send("WebAuthn.enable");
        const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
          options: {
            protocol: "ctap2",
            transport: "internal",
            hasResidentKey: true,
            hasUserVerification: true,
            isUserVerified: true,
            automaticPresenceSimulation: true,
          },
        });
        await page.goto(`${origin}/passkeys`);
        // The page's answer (then cleared for the next step); strings, as the DOM is not typed here.
        const outcome = async () => {
          await page.waitForFunction('document.getElementById("status").dataset.state');
          return await page.evaluate(`(() => {
            const el = document.getElementById("status");
            const answer = { state: el.dataset.state, text: el.textContent, token: el.dataset.token };
            delete el.dataset.state;
            delete el.dataset.token;
            return answer;
          })()`) as { state?: string; text?: string; token?: string };
        };

        // Register: the page signs in with the password, then creates a discoverable credential.
        await page.type('input[name="user_id"]', "ada");
        await page.type('input[name="password"]', PASSWORD);
        await page.click('#register button[type="submit"]');
        const registered = await outcome();
        assert.equal(registered.state, "registered", registered.text ?? "");
        const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
        assert.equal(credentials.length, 1);
        assert.equal(credentials[0]!.isResidentCredential, true);

        // Sign in with the passkey alone.
        await page.click("#sign-in");
        const signedIn = await outcome();
        assert.equal(signedIn.state, "signed-in", signedIn.text ?? "");
        const claims = claimsOf(signedIn.token!);
        assert.equal(claims.sub, "ada");
        assert.deepEqual(claims.amr, ["hwk", "user"]);
        const me = await getJson(`${origin}/me`, signedIn.token!);
        assert.equal(me.status, 200);
        const listed = await getJson(`${origin}/me/passkeys`, signedIn.token!);
        assert.equal(listed.body.passkeys.length, 1);
        // The protocol names credentials in base64, the server in base64url.
        const base64url = (b64: string) =>
          b64.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
        assert.equal(listed.body.passkeys[0].id, base64url(credentials[0]!.credentialId));
        assert.notEqual(listed.body.passkeys[0].last_used_at, null);

        // The login page: the passkey alone (no user name, no password), then as the second
        // factor of a password once ada has TOTP.
        const authorizeUrl = (state: string) =>
          `${origin}/authorize?${new URLSearchParams({
            response_type: "code",
            client_id: "web",
            redirect_uri: callback,
            scope: "openid",
            state,
            prompt: "login",
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", // RFC 7636 App. B
            code_challenge_method: "S256",
          })}`;
        /** The code the callback got, exchanged: the access token's claims. */
        const exchange = async (state: string) => {
          const url = new URL(page.url());
          assert.equal(`${url.origin}${url.pathname}`, callback, page.url());
          assert.equal(url.searchParams.get("state"), state);
          const res = await fetch(`${origin}/oauth/token`, {
            method: "POST",
            headers: {
              "Content-Type": "application/x-www-form-urlencoded",
              Authorization: `Basic ${btoa(`web:${clientSecret}`)}`,
            },
            body: new URLSearchParams({
              grant_type: "authorization_code",
              code: url.searchParams.get("code")!,
              redirect_uri: callback,
              code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            }),
          });
          const tokens = await res.json();
          assert.equal(res.status, 200, JSON.stringify(tokens));
          assert.deepEqual(claimsOf(tokens.id_token).amr, claimsOf(tokens.access_token).amr);
          return claimsOf(tokens.access_token);
        };
        await page.goto(authorizeUrl("alone"));
        await page.waitForSelector("#passkey-form:not([hidden]) #passkey");
        await Promise.all([page.waitForNavigation(), page.click("#passkey")]);
        const alone = await exchange("alone");
        assert.equal(alone.sub, "ada");
        assert.deepEqual(alone.amr, ["hwk", "user"]);

        // TOTP for ada (codes from npm:otpauth); the password now asks for a second factor,
        // and the step page offers the passkey.
        const post = async (path: string, body: unknown) =>
          await (await fetch(`${origin}${path}`, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              Authorization: `Bearer ${signedIn.token}`,
            },
            body: JSON.stringify(body),
          })).json();
        const { otpauth_uri } = await post("/me/mfa/totp", { password: PASSWORD });
        const confirmed = await post("/me/mfa/totp/confirm", {
          code: new Authenticator(otpauth_uri).code(Date.now()),
        });
        assert.equal(confirmed.recovery_codes?.length, 10, JSON.stringify(confirmed));
        await page.goto(authorizeUrl("second"));
        await page.type("#user_id", "ada");
        await page.type("#password", PASSWORD);
        await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
        await page.waitForSelector("#passkey-form:not([hidden]) #passkey");
        assert.ok(
          await page.evaluate('!!document.querySelector("input[autocomplete=one-time-code]")'),
        );
        await Promise.all([page.waitForNavigation(), page.click("#passkey")]);
        const second = await exchange("second");
        assert.deepEqual(second.amr, ["pwd", "hwk", "user"]);
        await page.goto(`${origin}/passkeys`);

        // A clone of the authenticator whose counter went back: refused (WebAuthn L2 6.1.1).
        const [credential] = (await cdp.send("WebAuthn.getCredentials", { authenticatorId }))
          .credentials;
        await cdp.send("WebAuthn.removeCredential", {
          authenticatorId,
          credentialId: credential!.credentialId,
        });
        await cdp.send("WebAuthn.addCredential", {
          authenticatorId,
          credential: { ...credential!, signCount: 0 },
        });
        await page.click("#sign-in");
        const cloned = await outcome();
        assert.equal(cloned.state, "error");
        assert.match(cloned.text ?? "", /passkey|counter/i);

        // An authenticator that cannot verify its user: no sign-in.
        await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
        await page.click("#sign-in");
        const unverified = await outcome();
        assert.equal(unverified.state, "error");
        assert.equal(unverified.token, undefined);
      } finally {
        await browser.close();
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
    } finally {
      assert.equal((await server.stop()).code, 0, server.stderr());
      await relyingParty.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
