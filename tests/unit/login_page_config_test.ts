/** LOGIN_PAGE_NAME and LOGIN_PAGE_COLOR: validated at start, escaped on the page. */
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/config_error.ts";
import { parseConfig } from "../../src/config/parse_config.ts";
import { renderLoginPage } from "../../src/browser/login_page.ts";

const SECRET = "k".repeat(20) + "0123456789abcdefghij";

Deno.test("LOGIN_PAGE_NAME and LOGIN_PAGE_COLOR: defaults, valid values, refusals", () => {
  assert.deepEqual(parseConfig({ SECRET_KEY: SECRET }).branding, {
    productName: "Auth server",
    accentColor: "#1d4ed8",
  });
  const custom = parseConfig({
    SECRET_KEY: SECRET,
    LOGIN_PAGE_NAME: "Example <Corp>",
    LOGIN_PAGE_COLOR: "#ff0066",
  });
  assert.deepEqual(custom.branding, { productName: "Example <Corp>", accentColor: "#ff0066" });
  for (
    const [name, value] of [
      ["LOGIN_PAGE_COLOR", "red; } body { display: none"],
      ["LOGIN_PAGE_COLOR", "#fff"],
      ["LOGIN_PAGE_NAME", "x".repeat(65)],
      ["LOGIN_PAGE_NAME", "line\nbreak"],
    ]
  ) {
    assert.throws(
      () => parseConfig({ SECRET_KEY: SECRET, [name!]: value }),
      (err: unknown) => err instanceof ConfigError && err.variable === name,
      `${name}=${value}`,
    );
  }
  const html = renderLoginPage(custom.branding, "nonce", {
    query: 'a="b"&c=<d>',
    csrfToken: "t",
    action: "/authorize/login",
  });
  assert.match(html, /Sign in to Example &lt;Corp&gt;/);
  assert.match(html, /name="request" value="a=&quot;b&quot;&amp;c=&lt;d&gt;"/);
  assert.ok(!html.includes("<Corp>"));
  assert.ok(!/<script/i.test(html), "no script at all");
});
