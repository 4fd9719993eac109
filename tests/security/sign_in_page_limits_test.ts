/**
 * Issue 21: `/authorize` and `/end-session` have per-address limits of their own
 * (`src/browser/page_limits.ts`, at `REFRESH_LIMIT_PER_CLIENT`, a bucket per page): past the
 * budget, a 429 HTML page with `Retry-After`, never a redirect, before any store read; other
 * addresses, and the other page, are served; the budget comes back with time.
 */
import assert from "node:assert/strict";
import { addUser, makeApp, type TestApp } from "../helpers/app.ts";
import {
  addBrowserClients,
  authorizeQuery,
  CookieJar,
  pkce,
  REDIRECT_URI,
  signInForCode,
} from "../helpers/browser_flow.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

// Every test keeps its signing keys in a temporary directory.
const test = needs(READ, WRITE);

const BUDGET = 3;

async function setup() {
  const t = await makeApp(
    { JWT_ALG: "ES256", REFRESH_LIMIT_PER_CLIENT: `${BUDGET}/1m`, METRICS_TOKEN: "metrics-1" },
    await Deno.makeTempDir(),
  );
  await addUser(t, "ada", "correct horse battery", ["user"]);
  await addBrowserClients(t);
  return t;
}

const AUTHORIZE = `/authorize?${
  authorizeQuery({
    response_type: "code",
    client_id: "web",
    redirect_uri: REDIRECT_URI,
    code_challenge: pkce().challenge,
    code_challenge_method: "S256",
    state: "s",
  })
}`;

async function status(res: Response): Promise<number> {
  await res.body?.cancel();
  return res.status;
}

async function assertLimitedPage(res: Response): Promise<void> {
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("Location"), null, "never a redirect");
  const retryAfter = Number(res.headers.get("Retry-After"));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
  assert.match(res.headers.get("Content-Security-Policy") ?? "", /frame-ancestors 'none'/);
  assert.equal(res.headers.get("Cache-Control"), "no-store");
  assert.match(await res.text(), /Too many sign-in requests/);
}

test("/authorize: a budget per address, then a 429 page; other addresses and pages go on", async () => {
  using t = await setup();
  for (let i = 0; i < BUDGET; i++) {
    assert.equal(await status(await t.request(AUTHORIZE)), 200, "the login form");
  }
  await assertLimitedPage(await t.request(AUTHORIZE));
  // Refused before the request is read: an unknown client is refused the same way.
  await assertLimitedPage(await t.request("/authorize?client_id=nobody"));
  assert.equal(await status(await t.request(AUTHORIZE, {}, "192.0.2.77")), 200, "another address");
  assert.equal(await status(await t.request("/end-session")), 200, "its own bucket");
  const metrics = await (await t.request("/metrics", {
    headers: { Authorization: "Bearer metrics-1" },
  })).text();
  assert.match(metrics, /auth_rate_limited_total\{limit="sign_in_page",source="memory"\} 2/);
  t.clock.advance(60);
  assert.equal(await status(await t.request(AUTHORIZE)), 200, "the budget comes back");
});

test("/authorize with a signed-in browser is limited too (no code past the budget)", async () => {
  using t = await setup();
  const jar = new CookieJar();
  await signInForCode(
    t,
    jar,
    {
      response_type: "code",
      client_id: "spa",
      redirect_uri: "https://spa.example/cb",
      code_challenge: pkce().challenge,
      code_challenge_method: "S256",
    },
    "ada",
    "correct horse battery",
  );
  const sso = () => t.request(AUTHORIZE, { headers: { Cookie: jar.header() } });
  for (let i = 1; i < BUDGET; i++) assert.equal(await status(await sso()), 302);
  await assertLimitedPage(await sso());
});

test("/end-session: GET and POST share a budget per address, then a 429 page", async (t) => {
  using app: TestApp = await setup();
  const post = (client?: string) =>
    app.request("/end-session", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "",
    }, client);
  assert.equal(await status(await app.request("/end-session")), 200);
  assert.equal(await status(await post()), 200);
  assert.equal(await status(await app.request("/end-session?state=x")), 200);
  await assertLimitedPage(await post());
  await assertLimitedPage(await app.request("/end-session"));
  await t.step("IPv6: one budget per /64", async () => {
    for (let i = 0; i < BUDGET; i++) {
      assert.equal(await status(await post(`2001:db8:1:2::${i + 1}`)), 200);
    }
    await assertLimitedPage(await post("2001:db8:1:2:ffff::9"));
    assert.equal(await status(await post("2001:db8:1:3::1")), 200);
  });
  assert.equal(await status(await app.request(AUTHORIZE)), 200, "/authorize's own bucket");
});
