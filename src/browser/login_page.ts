/**
 * The HTML of the browser sign-in pages: the login form and the message page (errors, signed
 * out, sign-out confirmation). Plain templates, every value escaped, no script: the pages work
 * without JavaScript. Accessible: every input has a label, the form errors are announced
 * (`role="alert"`), the inputs carry `autocomplete="username"` / `"current-password"`.
 *
 * One module renders, one route module (`routes/login_page.ts`) answers: a later step (a second
 * factor) adds a form here and a handler there. The style sheet is inline under the page's CSP
 * nonce ({@link pageHeaders}); nothing else may load.
 *
 * @module
 */
import { issuerUrl } from "../config/issuer.ts";

/** What the operator may set: a product name and an accent colour. */
export interface Branding {
  readonly productName: string;
  /** A CSS colour `#rrggbb`. */
  readonly accentColor: string;
}

/**
 * The path prefix of the server's public address (`ISSUER`): forms post to it, so a server behind
 * a proxy under `https://example.com/auth` gets its forms back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { basePath } from "./login_page.ts";
 * assert.equal(basePath("https://example.com/auth/"), "/auth");
 * assert.equal(basePath("http://localhost:10000"), "");
 * ```
 */
export function basePath(issuer: string): string {
  const url = issuerUrl(issuer);
  // The pages are not served under a non-URL issuer (`middleware/require_issuer_url.ts`).
  if (url === undefined) throw new TypeError("basePath needs an issuer that is an http(s) URL");
  return url.pathname.replace(/\/+$/, "");
}

/** The login form's fields. */
export interface LoginForm {
  /** The authorization request's query: posted back, read again by the same validator. */
  readonly query: string;
  readonly csrfToken: string;
  /** Where the form posts: `basePath(ISSUER)` + `/authorize/login`. */
  readonly action: string;
  readonly userId?: string | undefined;
  /** One generic message (never which of user or password was wrong). */
  readonly error?: string | undefined;
  /** The passkey button (shown by the script), when passkeys work on this server. */
  readonly passkey?: PasskeyButton | undefined;
}

/** Where the passkey button gets its options, where it posts, and the script that drives it. */
export interface PasskeyButton {
  /** `POST` JSON: `{challenge_id, options}` (`/passkeys/authentication/options`). */
  readonly optionsUrl: string;
  /** The form the assertion is posted with (`/authorize/passkey`, or the second step's). */
  readonly action: string;
  readonly scriptUrl: string;
}

/** The confirmation a signed-in browser gives before a public client gets its code. */
export interface ContinueForm {
  readonly query: string;
  readonly csrfToken: string;
  /** `basePath(ISSUER)` + `/authorize/continue`. */
  readonly action: string;
  readonly clientId: string;
  readonly userId: string;
  /** The role asked for in `scope`, if any. */
  readonly role: string | undefined;
  /** The browser session it was shown for (`sid`): a confirmation counts for that one only. */
  readonly sessionId: string;
}

/** The second step's form: a code from the authenticator app, or a recovery code. */
export interface SecondStepForm {
  readonly query: string;
  readonly csrfToken: string;
  /** `basePath(ISSUER)` + `/authorize/mfa`. */
  readonly action: string;
  readonly error?: string | undefined;
  /** Whether recovery codes are left to offer. */
  readonly recoveryCodes: boolean;
  readonly passkey?: PasskeyButton | undefined;
}

/**
 * Escapes text for HTML element content and double-quoted attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./login_page.ts";
 * assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/**
 * The headers of every sign-in page: no caching, never framed (`frame-ancestors 'none'`: the
 * login form cannot be overlaid for clickjacking), only the inline style of this answer (its
 * nonce), no base URL, no referrer (the query holds `state`). No script, except on a page with
 * the passkey button: the one script tag carrying this answer's nonce (our file, never inline
 * code), which may call this server (`connect-src 'self'`) for the passkey options.
 */
export function pageHeaders(
  nonce: string,
  options: { readonly script?: boolean } = {},
): Record<string, string> {
  const script = options.script ? `script-src 'nonce-${nonce}'; connect-src 'self'; ` : "";
  return {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": `default-src 'none'; style-src 'nonce-${nonce}'; ${script}` +
      "frame-ancestors 'none'; base-uri 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
  };
}

/** A fresh CSP nonce (128 random bits). */
export function newNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/** The login form. */
export function renderLoginPage(branding: Branding, nonce: string, form: LoginForm): string {
  const error = form.error === undefined
    ? ""
    : `<p class="error" role="alert" id="form-error">${escapeHtml(form.error)}</p>`;
  const described = form.error === undefined ? "" : ' aria-describedby="form-error"';
  const invalid = form.error === undefined ? "" : ' aria-invalid="true"';
  return page(
    branding,
    nonce,
    "Sign in",
    `<h1>Sign in to ${escapeHtml(branding.productName)}</h1>
${error}<form method="post" action="${escapeHtml(form.action)}" novalidate>
<input type="hidden" name="csrf_token" value="${escapeHtml(form.csrfToken)}">
<input type="hidden" name="request" value="${escapeHtml(form.query)}">
<label for="user_id">User name</label>
<input id="user_id" name="user_id" type="text" autocomplete="username" required maxlength="128" autocapitalize="none" spellcheck="false" value="${
      escapeHtml(form.userId ?? "")
    }"${form.userId ? "" : " autofocus"}${described}${invalid}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${
      form.userId ? " autofocus" : ""
    }${described}${invalid}>
<button type="submit">Sign in</button>
</form>
${passkeyForm(nonce, form, "Sign in with a passkey")}`,
  );
}

/**
 * "Continue to <client> as <user>?": a public client's code is issued only once the person has
 * said so on this page (the one button posts the form; Cancel tells the client `access_denied`).
 */
export function renderContinuePage(branding: Branding, nonce: string, form: ContinueForm): string {
  const role = form.role === undefined
    ? ""
    : ` with the role <strong>${escapeHtml(form.role)}</strong>`;
  return page(
    branding,
    nonce,
    "Continue",
    `<h1>Continue to ${escapeHtml(form.clientId)}?</h1>
<p>You are signed in to ${escapeHtml(branding.productName)} as <strong>${
      escapeHtml(form.userId)
    }</strong>. The application ${escapeHtml(form.clientId)} asks to sign you in${role}.</p>
<form method="post" action="${escapeHtml(form.action)}">
${hiddenFields(form)}
<input type="hidden" name="session" value="${escapeHtml(form.sessionId)}">
<button type="submit" name="decision" value="continue">Continue as ${
      escapeHtml(form.userId)
    }</button>
<button type="submit" name="decision" value="cancel" class="secondary">Cancel</button>
</form>`,
  );
}

/** The second step: the code from the authenticator app (or a recovery code, or a passkey). */
export function renderSecondStepPage(
  branding: Branding,
  nonce: string,
  form: SecondStepForm,
): string {
  const error = form.error === undefined
    ? ""
    : `<p class="error" role="alert" id="form-error">${escapeHtml(form.error)}</p>`;
  const described = form.error === undefined ? "" : ' aria-describedby="form-error"';
  const invalid = form.error === undefined ? "" : ' aria-invalid="true"';
  const hidden = hiddenFields(form);
  const recovery = form.recoveryCodes
    ? `<details>
<summary>Use a recovery code</summary>
<form method="post" action="${escapeHtml(form.action)}" novalidate>
${hidden}
<label for="recovery_code">Recovery code</label>
<input id="recovery_code" name="recovery_code" type="text" autocomplete="off" autocapitalize="none" spellcheck="false" required maxlength="64">
<button type="submit">Continue</button>
</form>
</details>`
    : "";
  return page(
    branding,
    nonce,
    "Enter your code",
    `<h1>Enter your code</h1>
<p>Enter the 6-digit code your authenticator app shows for ${escapeHtml(branding.productName)}.</p>
${error}<form method="post" action="${escapeHtml(form.action)}" novalidate>
${hidden}
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="10" autofocus${described}${invalid}>
<button type="submit">Continue</button>
</form>
${recovery}
${passkeyForm(nonce, form, "Use a passkey instead")}`,
  );
}

/** The hidden fields every form of the sign-in pages posts back. */
function hiddenFields(form: { readonly csrfToken: string; readonly query: string }): string {
  return `<input type="hidden" name="csrf_token" value="${escapeHtml(form.csrfToken)}">
<input type="hidden" name="request" value="${escapeHtml(form.query)}">`;
}

/**
 * The passkey button's form: hidden until the script finds WebAuthn in the browser (without
 * JavaScript the page is the same as before), then filled with the assertion and posted.
 */
function passkeyForm(
  nonce: string,
  form: {
    readonly csrfToken: string;
    readonly query: string;
    readonly passkey?: PasskeyButton | undefined;
  },
  label: string,
): string {
  const passkey = form.passkey;
  if (passkey === undefined) return "";
  return `<form method="post" action="${
    escapeHtml(passkey.action)
  }" id="passkey-form" data-options="${escapeHtml(passkey.optionsUrl)}" hidden>
${hiddenFields(form)}
<input type="hidden" name="passkey_challenge_id" value="">
<input type="hidden" name="passkey_response" value="">
<button type="button" id="passkey">${escapeHtml(label)}</button>
<p class="error" role="alert" id="passkey-error" hidden></p>
</form>
<script src="${escapeHtml(passkey.scriptUrl)}" nonce="${escapeHtml(nonce)}" defer></script>`;
}

/**
 * The script of the passkey button (`GET /authorize/passkey.js`): options from the server,
 * `navigator.credentials.get` (the browser's own JSON helpers, nothing bundled), the assertion
 * posted with the form, so the server answers with a redirect as for a password.
 */
export const LOGIN_SCRIPT = `"use strict";
(() => {
  const form = document.getElementById("passkey-form");
  const pkc = window.PublicKeyCredential;
  if (!form || !pkc || typeof pkc.parseRequestOptionsFromJSON !== "function") return;
  const error = document.getElementById("passkey-error");
  form.hidden = false;
  document.getElementById("passkey").addEventListener("click", async () => {
    error.hidden = true;
    try {
      const res = await fetch(form.dataset.options, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      });
      if (!res.ok) throw new Error("passkeys are unavailable (" + res.status + ")");
      const { challenge_id, options } = await res.json();
      const credential = await navigator.credentials.get({
        publicKey: pkc.parseRequestOptionsFromJSON(options),
      });
      form.elements.passkey_challenge_id.value = challenge_id;
      form.elements.passkey_response.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (err) {
      error.textContent = "The passkey did not sign you in: " + String((err && err.message) || err);
      error.hidden = false;
    }
  });
})();
`;

/** A page with a heading and a message (errors, signed out). */
export function renderMessagePage(
  branding: Branding,
  nonce: string,
  title: string,
  message: string,
): string {
  return page(
    branding,
    nonce,
    title,
    `<h1>${escapeHtml(title)}</h1>\n<p role="alert">${escapeHtml(message)}</p>`,
  );
}

/** Asks before signing out (RP-initiated logout without proof of the client: Section 2). */
export function renderLogoutConfirmPage(
  branding: Branding,
  nonce: string,
  action: string,
  hidden: Readonly<Record<string, string>>,
): string {
  const fields = Object.entries(hidden).map(([name, value]) =>
    `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`
  ).join("\n");
  return page(
    branding,
    nonce,
    "Sign out",
    `<h1>Sign out of ${escapeHtml(branding.productName)}?</h1>
<form method="post" action="${escapeHtml(action)}">
${fields}
<button type="submit" name="confirm" value="yes">Sign out</button>
</form>`,
  );
}

function page(branding: Branding, nonce: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · ${escapeHtml(branding.productName)}</title>
<style nonce="${escapeHtml(nonce)}">
:root { --accent: ${branding.accentColor}; color-scheme: light dark; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; display: grid; min-height: 100vh; place-items: center; }
main { width: min(22rem, 90vw); }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { box-sizing: border-box; width: 100%; padding: .6rem; font: inherit; border: 1px solid #767676; border-radius: .3rem; }
input:focus, button:focus { outline: 3px solid var(--accent); outline-offset: 2px; }
button { margin-top: 1.5rem; width: 100%; padding: .7rem; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: .3rem; cursor: pointer; }
button.secondary { color: var(--accent); background: transparent; border: 1px solid var(--accent); }
.error { padding: .6rem; border-left: 4px solid #b00020; background: #fdecee; color: #5f0010; }
[hidden] { display: none !important; }
details { margin-top: 1.5rem; }
#passkey-form { margin-top: 1.5rem; border-top: 1px solid #767676; }
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
