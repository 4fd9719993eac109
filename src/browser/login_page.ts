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
  return new URL(issuer).pathname.replace(/\/+$/, "");
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
 * nonce), no script at all, no base URL, no referrer (the query holds `state`).
 */
export function pageHeaders(nonce: string): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": `default-src 'none'; style-src 'nonce-${nonce}'; ` +
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
</form>`,
  );
}

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
.error { padding: .6rem; border-left: 4px solid #b00020; background: #fdecee; color: #5f0010; }
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
