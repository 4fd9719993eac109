/**
 * The small page of its own (`GET /passkeys`) where a user registers a passkey (after signing in
 * with the password) and signs in with one alone. Its script is a separate file
 * (`GET /passkeys/page.js`), so the page's CSP allows scripts from this origin only, none inline.
 * It uses the browser's own JSON helpers (`PublicKeyCredential.parseCreationOptionsFromJSON`,
 * `credential.toJSON()`), nothing bundled.
 *
 * @module
 */
import { escapeHtml } from "../browser/login_page.ts";

/** The Content-Security-Policy of the page and its script. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; " +
  "style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

/**
 * The page, for a server whose `ISSUER` has the path `base` (`basePath`: `""`, or `/auth` behind
 * a proxy under `https://example.com/auth`): its script and every call it makes go under it.
 */
export function passkeyPage(base: string): string {
  return `<!doctype html>
<html lang="en" data-base="${escapeHtml(base)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Passkeys</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}
fieldset{margin:1rem 0}label{display:block;margin:.5rem 0}output{display:block;margin-top:1rem}</style>
<script src="${escapeHtml(base)}/passkeys/page.js" defer></script>
</head>
<body>
<h1>Passkeys</h1>
<fieldset>
<legend>Sign in with a passkey</legend>
<button type="button" id="sign-in">Sign in with a passkey</button>
</fieldset>
<fieldset>
<legend>Register a passkey</legend>
<form id="register">
<label>User <input name="user_id" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in and register a passkey</button>
</form>
</fieldset>
<output id="status" aria-live="polite"></output>
</body>
</html>
`;
}

/** The page's script (every path under the page's `data-base`). */
export const PASSKEY_SCRIPT = `"use strict";
const base = document.documentElement.dataset.base || "";
const status = document.getElementById("status");
const show = (state, text) => { status.dataset.state = state; status.textContent = text; };
async function post(path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer.error || res.status);
  return answer;
}
function claims(token) {
  return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
}
document.getElementById("register").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const login = await post("/login", { user_id: form.get("user_id"), password: form.get("password") });
    // Adding a factor takes the password again: the access token alone is not enough.
    const options = await post("/me/passkeys/registration/options", { password: form.get("password") }, login.token);
    const credential = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
    });
    const passkey = await post("/me/passkeys/registration", { response: credential.toJSON() }, login.token);
    show("registered", "Registered passkey " + passkey.id);
  } catch (err) {
    show("error", String(err.message || err));
  }
});
document.getElementById("sign-in").addEventListener("click", async () => {
  try {
    const { challenge_id, options } = await post("/passkeys/authentication/options", {});
    const credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
    });
    const pair = await post("/passkeys/authentication", { challenge_id, response: credential.toJSON() });
    const who = claims(pair.token);
    status.dataset.token = pair.token;
    show("signed-in", "Signed in as " + who.sub + " (" + who.amr.join(", ") + ")");
  } catch (err) {
    show("error", String(err.message || err));
  }
});
`;
