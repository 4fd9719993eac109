/**
 * The authorization_code grant's refusals count under the OAuth endpoint limits, by the rule
 * the other limited OAuth requests follow (`oauth/endpoint_limits.ts`): per caller address
 * (`REFRESH_LIMIT_PER_CLIENT`) for a public client, whose id proves nothing; not at all for an
 * authenticated confidential client, which forwards whatever code reaches its callback. Over the
 * limit, 429 before the client or any code is read. Real HTTP: tests/e2e/code_grant_abuse_test.ts.
 */
import assert from "node:assert/strict";
import { base64url } from "jose";
import { makeApp } from "../helpers/app.ts";
import { addBrowserClients, REDIRECT_URI } from "../helpers/browser_flow.ts";
import { basic, postForm } from "../helpers/oauth_form.ts";

const VARS = { REFRESH_LIMIT_PER_CLIENT: "3/1m", REFRESH_LIMIT_PER_OAUTH_CLIENT: "4/1m" };

const randomCode = () => base64url.encode(crypto.getRandomValues(new Uint8Array(32)));

async function status(res: Response): Promise<number> {
  await res.body?.cancel();
  return res.status;
}

Deno.test("a public client's refused codes count per address; then 429 before any read", async () => {
  using t = await makeApp(VARS);
  await addBrowserClients(t);
  const guess = (address: string) =>
    postForm(
      t,
      "/oauth/token",
      {
        grant_type: "authorization_code",
        code: randomCode(),
        redirect_uri: "https://spa.example/cb",
        client_id: "spa",
      },
      {},
      address,
    );
  for (let i = 0; i < 3; i++) assert.equal(await status(await guess("192.0.2.1")), 400);
  let reads = 0;
  const { clients, authorizationCodes } = t.stores;
  const getClient = clients.getClient.bind(clients);
  clients.getClient = (id) => (reads++, getClient(id));
  const getCode = authorizationCodes.getCode.bind(authorizationCodes);
  authorizationCodes.getCode = (hash) => (reads++, getCode(hash));
  const limited = await guess("192.0.2.1");
  assert.equal(limited.status, 429);
  assert.equal((await limited.json()).error, "too_many_attempts");
  assert.ok(Number(limited.headers.get("Retry-After")) > 0);
  assert.equal(reads, 0, "refused before the client or the code was read");
  assert.equal(await status(await guess("192.0.2.2")), 400, "another address is not affected");
});

Deno.test("a confidential client's refused codes are not counted: bad codes forwarded through its callback cannot lock it out", async () => {
  using t = await makeApp(VARS);
  const { webSecret } = await addBrowserClients(t);
  const auth = { Authorization: basic("web", webSecret) };
  const redeem = () =>
    postForm(
      t,
      "/oauth/token",
      {
        grant_type: "authorization_code",
        code: randomCode(),
        redirect_uri: REDIRECT_URI,
      },
      auth,
      "192.0.2.1",
    );
  // Past the address's 3 and the client's 4: every refusal is still the code's own answer.
  for (let i = 0; i < 6; i++) assert.equal(await status(await redeem()), 400, `refusal ${i}`);
  // Neither budget was charged: a public caller from the same address has its whole budget.
  for (let i = 0; i < 3; i++) {
    const revoke = await postForm(t, "/oauth/revoke", { token: "x".repeat(43) }, {}, "192.0.2.1");
    assert.equal(await status(revoke), 200);
  }
});
