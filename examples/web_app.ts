/**
 * A web app on its own port that signs its users in through the auth server with OpenID Connect
 * (authorization code + PKCE), using `openid-client`; docs/browser-sign-in.md walks through it.
 *
 *   JWT_ALG=RS256 deno task start        # the auth server, on :10000
 *   deno task client add webapp --grant authorization_code --grant refresh_token \
 *     --redirect-uri http://localhost:3000/callback --post-logout-redirect-uri http://localhost:3000/
 *   CLIENT_SECRET=... deno run --allow-net --allow-env examples/web_app.ts
 *
 * Its own sessions live in memory (a real app keeps them in its store); its cookies are HttpOnly
 * and SameSite=Lax. It keeps the tokens on the server side: the browser only holds a random id.
 *
 * @module
 */
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
// deno-lint-ignore no-import-prefix -- example-only: kept out of deno.json so start/compile never load it
import * as oidc from "npm:openid-client@^6.8.9";

/** Where the web app finds the auth server and who it is there. */
export interface WebAppOptions {
  /** The auth server's issuer (`ISSUER`), where discovery starts. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** This app's own public address, e.g. `http://localhost:3000`. */
  readonly baseUrl: string;
}

interface Pending {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
}

interface Signed {
  /** Who: key accounts on (issuer, sub), never reassigned; a user id may be (a new person). */
  readonly sub: string;
  /** The user id, to show (`preferred_username`). */
  readonly name: string;
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
}

/** The web app: `/` (who is signed in), `/login`, `/callback`, `/logout`. */
export async function createWebApp(options: WebAppOptions): Promise<Hono> {
  const config = await oidc.discovery(
    new URL(options.issuer),
    options.clientId,
    options.clientSecret,
    undefined,
    // Plain http only for a local auth server (`http://localhost:...`); never in production.
    options.issuer.startsWith("http://") ? { execute: [oidc.allowInsecureRequests] } : {},
  );
  const pending = new Map<string, Pending>();
  const sessions = new Map<string, Signed>();
  const secure = options.baseUrl.startsWith("https://");
  const cookie = { httpOnly: true, sameSite: "Lax", secure, path: "/" } as const;
  const app = new Hono();

  app.get("/", (c) => {
    const session = sessions.get(getCookie(c, "app_session") ?? "");
    return c.html(
      session
        ? `<p>Signed in as <b id="user">${
          escape(session.name)
        }</b>. <a href="/logout">Sign out</a></p>`
        : `<p id="anonymous">Not signed in. <a href="/login">Sign in</a></p>`,
    );
  });

  app.get("/login", async (c) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const id = crypto.randomUUID();
    pending.set(id, { verifier, state, nonce });
    setCookie(c, "app_login", id, { ...cookie, maxAge: 600 });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${options.baseUrl}/callback`,
      scope: "openid",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return c.redirect(url.href, 302);
  });

  app.get("/callback", async (c) => {
    const id = getCookie(c, "app_login") ?? "";
    const login = pending.get(id);
    pending.delete(id);
    if (!login) return c.text("No sign-in in progress", 400);
    // Checks state, iss (RFC 9207), the code exchange with PKCE and the ID token (nonce too).
    const tokens = await oidc.authorizationCodeGrant(config, new URL(c.req.url), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    });
    const session = crypto.randomUUID();
    const claims = tokens.claims()!;
    sessions.set(session, {
      sub: claims.sub,
      name: String(claims.preferred_username ?? claims.sub),
      idToken: tokens.id_token!,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
    });
    setCookie(c, "app_session", session, cookie);
    return c.redirect("/", 302);
  });

  app.get("/logout", (c) => {
    const id = getCookie(c, "app_session") ?? "";
    const session = sessions.get(id);
    sessions.delete(id);
    setCookie(c, "app_session", "", { ...cookie, maxAge: 0 });
    if (!session) return c.redirect("/", 302);
    // RP-initiated logout: the auth server ends its own session and sends the browser back.
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: `${options.baseUrl}/`,
    });
    return c.redirect(url.href, 302);
  });

  app.onError((err, c) => c.text(`Sign-in failed: ${err.message}`, 400));
  return app;
}

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? 3000);
  const app = await createWebApp({
    issuer: Deno.env.get("AUTH_URL") ?? "http://localhost:10000",
    clientId: Deno.env.get("CLIENT_ID") ?? "webapp",
    clientSecret: Deno.env.get("CLIENT_SECRET") ?? "",
    baseUrl: Deno.env.get("BASE_URL") ?? `http://localhost:${port}`,
  });
  Deno.serve({ port }, app.fetch);
}
