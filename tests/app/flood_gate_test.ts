/**
 * The login flood gate must hold exactly the requests the router sends to the login route:
 * every spelling of `/login` the router accepts (percent-encoded letters, dot segments, a
 * query), and nothing it does not (another case, a trailing slash, other paths).
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import fc from "npm:fast-check@^4.3.0";
import { loginFloodGate } from "../../src/flood_gate.ts";
import { makeApp, type TestApp } from "../helpers/app.ts";

const INFO = { remoteAddr: { transport: "tcp", hostname: "192.0.2.9", port: 1 } } as never;

/** A gate over a login service that refuses every client (held for 10 ms only). */
function refusingGate(t: TestApp) {
  const refusedClient = () => ({ bucket: "login_client", retryAfter: 0.01, source: "memory" });
  return loginFloodGate({ login: { refusedClient } } as never, t.config);
}

/** What the router and the gate each make of one and the same request. */
async function judge(t: TestApp, path: string) {
  const request = new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  const gated = refusingGate(t)(request.clone(), INFO);
  const held = gated !== undefined;
  if (held) await (await gated).body?.cancel();
  const res = await t.app.request(request, undefined, INFO);
  const body = await res.json();
  // The login route answers `{}` with 400 validation_failed; no route at all, 404.
  const routed = res.status !== 404;
  if (routed) assert.equal(body.code, "validation_failed", `${path}: ${JSON.stringify(body)}`);
  return { routed, held };
}

const SPELLINGS: [path: string, routed: boolean][] = [
  ["/login", true],
  ["/login?x=1", true],
  ["/%6Cogin", true],
  ["/%6cogin", true],
  ["/l%6Fgin", true],
  ["/%6C%6F%67%69%6E", true],
  ["/log%69n?next=%2F", true],
  ["/./login", true],
  ["/x/../login", true],
  ["/%2E/login", true],
  ["/login#frag", true],
  ["/Login", false],
  ["/LOGIN", false],
  ["/%4Cogin", false],
  ["/login/", false],
  ["/login%2F", false],
  ["//login", false],
  ["/login;x", false],
  ["/login%00", false],
  ["/logins", false],
  ["/%2Flogin", false],
];

Deno.test("the flood gate holds a /login exactly when the router routes it to the login route", async () => {
  using t = await makeApp();
  for (const [path, routed] of SPELLINGS) {
    const seen = await judge(t, path);
    assert.equal(seen.routed, routed, `${path}: the router's view (the list is out of date)`);
    assert.equal(seen.held, seen.routed, `${path}: the gate must agree with the router`);
  }
});

Deno.test("the flood gate agrees with the router on random spellings of /login", async () => {
  using t = await makeApp();
  // Each letter as is, in another case, or percent-encoded (either hex case); then maybe a
  // trailing slash, a query or a fragment.
  const letter = (ch: string) =>
    fc.constantFrom(
      ch,
      ch.toUpperCase(),
      `%${ch.charCodeAt(0).toString(16)}`,
      `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
      `%${ch.toUpperCase().charCodeAt(0).toString(16)}`,
    );
  const path = fc.tuple(
    fc.constantFrom("/", "/./", "/a/../", "/%2e/"),
    fc.tuple(...[..."login"].map(letter)).map((parts) => parts.join("")),
    fc.constantFrom("", "/", "?a=b", "#x", "%20", "."),
  ).map((parts) => parts.join(""));
  await fc.assert(
    fc.asyncProperty(path, async (p) => {
      const seen = await judge(t, p);
      assert.equal(seen.held, seen.routed, `${p}: routed ${seen.routed}, held ${seen.held}`);
    }),
    { numRuns: 300 },
  );
});
