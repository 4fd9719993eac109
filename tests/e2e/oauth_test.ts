/**
 * The OAuth 2 endpoints as real clients use them: `oauth4webapi` (a client library we did not
 * write) reads the RFC 8414 metadata of a real server process and drives every grant,
 * revocation and introspection; `jsonwebtoken` verifies the tokens through the JWKS; raw HTTP
 * reaches every RFC 6749 section 5.2 error and checks its shape. Clients are made with
 * `deno task client`, as an operator would.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import * as oauth from "npm:oauth4webapi@^3.8.8";
import {
  dirWithUsers,
  freePort,
  getJson,
  PASSWORD,
  type PublishedJwk,
  request,
  runTask,
  verifyWithJwks,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const insecure = { [oauth.allowInsecureRequests]: true } as const;

async function clientTask(dir: string, env: Record<string, string>, args: string[]) {
  const result = await runTask("client", dir, args, { env });
  assert.equal(result.code, 0, `client ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** A raw form POST, for the exact wire shape of errors. */
function postForm(
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return request(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

function assertOAuthError(
  answer: { status: number; headers: Headers; body: Record<string, unknown> },
  status: number,
  error: string,
) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.deepEqual(Object.keys(answer.body).sort(), ["error", "error_description"]);
  assert.equal(answer.body.error, error);
  assert.equal(answer.headers.get("Cache-Control"), "no-store");
}

test("oauth4webapi drives every grant, revocation and introspection against a real server", async () => {
  const port = freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = { JWT_ALG: "ES256", ISSUER: issuer, REFRESH_GRACE_SECONDS: "0" };
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user", "admin"] }], env);
  const dir = scratch.path;

  // The operator's side: clients from the CLI, each secret printed once.
  const reports = JSON.parse(
    await clientTask(dir, env, [
      "add",
      "reports",
      "--scope",
      "orders:read",
      "--scope",
      "stats",
      "--json",
    ]),
  );
  assert.deepEqual(reports.scopes, ["orders:read", "stats"]);
  assert.match(reports.client_secret, /^[A-Za-z0-9_-]{43}$/);
  const webapp = JSON.parse(
    await clientTask(dir, env, [
      "add",
      "webapp",
      "--grant",
      "password",
      "--grant",
      "refresh_token",
      "--json",
    ]),
  );
  const mobile = JSON.parse(
    await clientTask(dir, env, ["add", "mobile", "--grant", "refresh_token", "--json"]),
  );
  const listed = await clientTask(dir, env, ["list", "--json"]);
  assert.ok(!listed.includes(reports.client_secret) && !listed.includes(webapp.client_secret));
  const rotated = JSON.parse(await clientTask(dir, env, ["rotate-secret", "webapp", "--json"]));
  assert.notEqual(rotated.client_secret, webapp.client_secret);
  const webappSecret: string = rotated.client_secret;

  await withServer({ dir, port, env }, async (server) => {
    const as = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await oauth.discoveryRequest(new URL(issuer), { algorithm: "oauth2", ...insecure }),
    );
    assert.equal(as.token_endpoint, `${issuer}/oauth/token`);
    assert.ok(as.jwks_uri);
    const jwks = (await getJson(as.jwks_uri)).body as { keys: PublishedJwk[] };
    assert.equal(jwks.keys[0]?.alg, "ES256");

    const reportsClient: oauth.Client = { client_id: "reports" };
    const reportsAuth = oauth.ClientSecretBasic(reports.client_secret);
    const webappClient: oauth.Client = { client_id: "webapp" };
    const webappAuth = oauth.ClientSecretPost(webappSecret);

    // client_credentials, client_secret_basic.
    const service = await oauth.processClientCredentialsResponse(
      as,
      reportsClient,
      await oauth.clientCredentialsGrantRequest(
        as,
        reportsClient,
        reportsAuth,
        { scope: "orders:read" },
        insecure,
      ),
    );
    assert.equal(service.refresh_token, undefined);
    assert.equal(service.scope, "orders:read");
    const serviceClaims = verifyWithJwks(service.access_token, jwks, issuer);
    assert.equal(serviceClaims.sub, "reports");
    assert.equal(serviceClaims.client_id, "reports");
    assert.equal(serviceClaims.scope, "orders:read");
    assert.equal(serviceClaims.sid, undefined);

    // password, client_secret_post; scope picks the role.
    const signedIn = await oauth.processGenericTokenEndpointResponse(
      as,
      webappClient,
      await oauth.genericTokenEndpointRequest(as, webappClient, webappAuth, "password", {
        username: "ada",
        password: PASSWORD,
        scope: "admin",
      }, insecure),
    );
    assert.equal(signedIn.scope, "admin");
    assert.ok(signedIn.refresh_token);
    const userClaims = verifyWithJwks(signedIn.access_token, jwks, issuer);
    assert.equal(userClaims.sub, "ada");
    assert.equal(userClaims.role, "admin");
    assert.equal((await getJson(`${issuer}/me`, signedIn.access_token)).status, 200);

    // password, public client (auth method none): works without a registered client too.
    const publicClient: oauth.Client = { client_id: "cli-tool" };
    const publicPair = await oauth.processGenericTokenEndpointResponse(
      as,
      publicClient,
      await oauth.genericTokenEndpointRequest(as, publicClient, oauth.None(), "password", {
        username: "ada",
        password: PASSWORD,
      }, insecure),
    );
    assert.equal(verifyWithJwks(publicPair.access_token, jwks, issuer).role, "user");

    // refresh_token: rotation, then reuse of the spent token ends the session.
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      webappClient,
      await oauth.refreshTokenGrantRequest(
        as,
        webappClient,
        webappAuth,
        signedIn.refresh_token!,
        insecure,
      ),
    );
    assert.notEqual(refreshed.refresh_token, signedIn.refresh_token);
    assert.equal(verifyWithJwks(refreshed.access_token, jwks, issuer).sid, userClaims.sid);
    // A refresh token issued to webapp is refused without webapp's credentials (RFC 6749
    // section 6): with none, with another client's, and at the public JSON /refresh.
    const others: [oauth.Client, oauth.ClientAuth][] = [
      [publicClient, oauth.None()],
      [{ client_id: "mobile" }, oauth.ClientSecretBasic(mobile.client_secret)],
    ];
    for (const [client, auth] of others) {
      await assert.rejects(
        oauth.processRefreshTokenResponse(
          as,
          client,
          await oauth.refreshTokenGrantRequest(
            as,
            client,
            auth,
            refreshed.refresh_token!,
            insecure,
          ),
        ),
        (err: unknown) =>
          err instanceof oauth.ResponseBodyError && err.error === "invalid_grant" &&
          err.status === 400,
      );
    }
    const publicRefresh = await request(`${issuer}/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshed.refresh_token }),
    });
    assert.equal(publicRefresh.status, 401);
    assert.equal((publicRefresh.body as { code: string }).code, "invalid_refresh_token");
    const reuse = await oauth.refreshTokenGrantRequest(
      as,
      webappClient,
      webappAuth,
      signedIn.refresh_token!,
      insecure,
    );
    await assert.rejects(
      oauth.processRefreshTokenResponse(as, webappClient, reuse),
      (err: unknown) =>
        err instanceof oauth.ResponseBodyError && err.error === "invalid_grant" &&
        err.status === 400,
    );

    // Introspection (client_secret_basic): live tokens active with their claims.
    const introspect = async (token: string) =>
      await oauth.processIntrospectionResponse(
        as,
        reportsClient,
        await oauth.introspectionRequest(as, reportsClient, reportsAuth, token, insecure),
      );
    const live = await introspect(publicPair.access_token);
    assert.equal(live.active, true);
    assert.equal(live.sub, "ada");
    assert.equal((await introspect(service.access_token)).client_id, "reports");
    // The reused family's access token: its session was revoked by the reuse.
    assert.equal((await introspect(refreshed.access_token)).active, false);
    assert.equal((await introspect("not-a-token")).active, false);

    // Revocation (RFC 7009) of the public session's refresh token: its access token goes
    // inactive at once, and the refresh token no longer refreshes.
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(
        as,
        publicClient,
        oauth.None(),
        publicPair.refresh_token!,
        insecure,
      ),
    );
    assert.deepEqual(await introspect(publicPair.access_token), { active: false });
    assert.equal((await getJson(`${issuer}/me`, publicPair.access_token)).status, 401);
    // Revoking an unknown token is still 200 (processRevocationResponse throws otherwise).
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, reportsClient, reportsAuth, "unknown", insecure),
    );

    // invalid_client after Basic: the library sees the Basic challenge.
    const badBasic = await oauth.clientCredentialsGrantRequest(
      as,
      reportsClient,
      oauth.ClientSecretBasic("wrong secret"),
      {},
      insecure,
    );
    await assert.rejects(
      oauth.processClientCredentialsResponse(as, reportsClient, badBasic),
      (err: unknown) =>
        err instanceof oauth.WWWAuthenticateChallengeError && err.status === 401 &&
        err.cause[0]?.scheme === "basic",
    );

    // Every RFC 6749 section 5.2 error, on the wire, with its shape.
    const token = `${server.url}/oauth/token`;
    const basic = (id: string, secret: string) => ({
      Authorization: `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`,
    });
    assertOAuthError(await postForm(token, {}), 400, "invalid_request");
    const wrongBasic = await postForm(
      token,
      { grant_type: "client_credentials" },
      basic("reports", "nope"),
    );
    assertOAuthError(wrongBasic, 401, "invalid_client");
    assert.match(wrongBasic.headers.get("WWW-Authenticate") ?? "", /^Basic /);
    const wrongPost = await postForm(token, {
      grant_type: "client_credentials",
      client_id: "reports",
      client_secret: "nope",
    });
    assertOAuthError(wrongPost, 401, "invalid_client");
    assert.equal(wrongPost.headers.get("WWW-Authenticate"), null);
    assertOAuthError(
      await postForm(token, {
        grant_type: "password",
        username: "ada",
        password: "wrong password",
      }),
      400,
      "invalid_grant",
    );
    assertOAuthError(
      await postForm(
        token,
        { grant_type: "password", username: "ada", password: PASSWORD },
        basic("reports", reports.client_secret),
      ),
      400,
      "unauthorized_client",
    );
    assertOAuthError(
      await postForm(token, { grant_type: "urn:ietf:params:oauth:grant-type:device_code" }),
      400,
      "unsupported_grant_type",
    );
    assertOAuthError(
      await postForm(
        token,
        { grant_type: "client_credentials", scope: "admin" },
        basic("reports", reports.client_secret),
      ),
      400,
      "invalid_scope",
    );
    const introspectNoClient = await postForm(`${server.url}/oauth/introspect`, {
      token: service.access_token,
    });
    assertOAuthError(introspectNoClient, 401, "invalid_client");
  });

  // remove: gone from the list; removing it again is "not found" (exit code 3).
  await clientTask(dir, env, ["remove", "webapp"]);
  const after = JSON.parse(await clientTask(dir, env, ["list", "--json"]));
  assert.deepEqual(after.map((c: { client_id: string }) => c.client_id).sort(), [
    "mobile",
    "reports",
  ]);
  const again = await runTask("client", dir, ["remove", "webapp"], { env });
  assert.equal(again.code, 3, again.stderr);
});
