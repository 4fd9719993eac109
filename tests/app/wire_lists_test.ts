/**
 * One definition per wire list (issue 24): every list of grant types and of claims the server
 * publishes, documents, dispatches on or checks is the one in `GRANTS` (`oauth/grant_types.ts`)
 * or `CLAIMS` (`oidc/claims.ts`). Each test reads a derived list where users meet it (the
 * metadata documents, `/openapi.json`, `/oauth/token`, `/admin/clients`, the CLI's help, `/me`,
 * `/userinfo`, the ID token, the verifier) and compares it with the definition.
 */
import assert from "node:assert/strict";
import { decodeJwt, SignJWT } from "jose";
import { main as clientCli } from "../../src/cli/client_cli.ts";
import { hmacKeyRing } from "../../src/crypto/keys.ts";
import { ApiError } from "../../src/errors.ts";
import {
  defaultGrant,
  GRANT_TYPES,
  GRANTS,
  type GrantType,
  PUBLIC_GRANT_TYPES,
} from "../../src/oauth/grant_types.ts";
import {
  ACCESS_TOKEN_CLAIMS,
  type ClaimDefinition,
  CLAIMS,
  type ClaimType,
  ID_TOKEN_CLAIMS,
  MAX_CLAIM_ITEMS,
  OPENID_CLAIMS,
  OPTIONAL_ACCESS_TOKEN_CLAIMS,
  USERINFO_CLAIMS,
} from "../../src/oidc/claims.ts";
import { idTokenKey, signIdToken } from "../../src/oidc/id_token.ts";
import { tokenGrant } from "../../src/routes/oauth/grants.ts";
import { OAuthError } from "../../src/routes/oauth/oauth_error.ts";
import { keyRingResolver, verifyAccessToken } from "../../src/tokens/access_token.ts";
import { addUser, login, makeApp, type TestApp } from "../helpers/app.ts";
import { basic, postForm } from "../helpers/oauth_form.ts";
import { needs, READ, WRITE } from "../helpers/permissions.ts";

// The OpenID tests keep their signing keys in a temporary directory.
const test = needs(READ, WRITE);

const PASSWORD = "correct horse battery";
const REDIRECT = "https://app.example/callback";

/** An app under ES256 (so OpenID Discovery is served) with a user and one client per grant. */
async function setup(): Promise<{ t: TestApp; secrets: Record<GrantType, string> }> {
  const t = await makeApp({ JWT_ALG: "ES256" }, await Deno.makeTempDir());
  await addUser(t, "ada", PASSWORD, ["user", "admin"]);
  const secrets = {} as Record<GrantType, string>;
  for (const grant of GRANT_TYPES) {
    const added = await t.services.clients.add(`c-${grant}`, {
      grantTypes: [grant],
      ...(grant === "authorization_code" ? { redirectUris: [REDIRECT] } : {}),
    });
    secrets[grant] = added.secret;
  }
  return { t, secrets };
}

type Schema = Record<string, unknown> & { $ref?: string; properties?: Record<string, Schema> };

/** A schema of `/openapi.json`, its `$ref` followed. */
function resolve(doc: { components: { schemas: Record<string, Schema> } }, schema: Schema): Schema {
  const ref = schema.$ref;
  if (ref === undefined) return schema;
  const found = doc.components.schemas[ref.replace("#/components/schemas/", "")];
  assert.ok(found, `${ref} is in the document`);
  return resolve(doc, found);
}

// ---- grant types ----

test("grant_types_supported of RFC 8414 and OpenID Discovery is GRANTS, in its order", async () => {
  const { t } = await setup();
  using _ = t;
  for (
    const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
  ) {
    const meta = await (await t.request(path)).json();
    assert.deepEqual(meta.grant_types_supported, GRANT_TYPES, path);
  }
});

test("/openapi.json documents the token form GRANTS defines: the enum and every field", async () => {
  const { t } = await setup();
  using _ = t;
  const doc = await (await t.request("/openapi.json")).json();
  const form = resolve(
    doc,
    doc.paths["/oauth/token"].post.requestBody.content["application/x-www-form-urlencoded"].schema,
  );
  const properties = form.properties!;
  assert.deepEqual(resolve(doc, properties.grant_type!).enum, GRANT_TYPES);
  const fields = new Set(GRANT_TYPES.flatMap((g) => Object.keys(GRANTS[g].fields)));
  assert.deepEqual(
    Object.keys(properties).sort(),
    ["grant_type", "client_id", "client_secret", ...fields].sort(),
  );
  // A field several grants read says what it means for each.
  for (const grant of GRANT_TYPES) {
    for (const field of Object.keys(GRANTS[grant].fields)) {
      assert.match(String(properties[field]!.description), new RegExp(`${grant}: `), field);
    }
  }
});

test("/oauth/token dispatches every grant of GRANTS, and only those (400, never a 500)", async () => {
  const { t, secrets } = await setup();
  using _ = t;
  for (const grant of GRANT_TYPES) {
    const res = await postForm(t, "/oauth/token", { grant_type: grant }, {
      Authorization: basic(`c-${grant}`, secrets[grant]),
    });
    const body = await res.json();
    assert.notEqual(body.error, "unsupported_grant_type", grant);
    assert.ok(res.status < 500, `${grant}: ${res.status}`);
  }
  for (const grant of ["implicit", "constructor", "toString", "__proto__", "hasOwnProperty"]) {
    const res = await postForm(t, "/oauth/token", { grant_type: grant });
    const body = await res.json();
    assert.equal(res.status, 400, grant);
    assert.equal(body.error, "unsupported_grant_type", grant);
    for (const known of GRANT_TYPES) assert.match(body.error_description, new RegExp(known));
  }
});

test("each grant's handler reads exactly the form fields GRANTS declares for it", async () => {
  const { t } = await setup();
  using _ = t;
  const ctx = { services: t.services, config: t.config };
  for (const grant of GRANT_TYPES) {
    const declared = Object.keys(GRANTS[grant].fields);
    const read = new Set<string>();
    const values: Record<string, string> = { grant_type: grant };
    for (const field of declared) values[field] = field === "scope" ? "user" : `x-${field}`;
    const form = {
      get(name: string) {
        read.add(name);
        return values[name];
      },
    };
    const client = await t.services.clients.lookup(`c-${grant}`);
    // Every grant here is refused (no such user, code or token): what matters is what it read.
    await tokenGrant(ctx, { form, client, address: "192.0.2.9" }).catch((err) => {
      if (!(err instanceof OAuthError || err instanceof ApiError)) throw err;
    });
    read.delete("grant_type");
    assert.deepEqual([...read].sort(), [...declared].sort(), grant);
  }
});

test("/admin/clients and the client service accept exactly GRANTS' names", async () => {
  const { t } = await setup();
  using _ = t;
  const { token } = await login(t, "ada", PASSWORD, "admin");
  const create = (body: Record<string, unknown>) =>
    t.post("/admin/clients", body, { Authorization: `Bearer ${token}` });
  for (const grant of GRANT_TYPES) {
    const res = await create({
      client_id: `admin-${grant}`,
      grant_types: [grant],
      ...(grant === "authorization_code" ? { redirect_uris: [REDIRECT] } : {}),
    });
    assert.equal(res.status, 201, `${grant}: ${await res.clone().text()}`);
    await res.body?.cancel();
  }
  const refused = await create({ client_id: "admin-implicit", grant_types: ["implicit"] });
  assert.equal(refused.status, 400);
  assert.equal((await refused.json()).code, "validation_failed");
  await assert.rejects(
    t.services.clients.add("svc-implicit", { grantTypes: ["implicit"] }),
    new RegExp(`must be one of ${GRANT_TYPES.join(", ")}`),
  );
  // Defaults and the public-client rule come from GRANTS too.
  const plain = await t.services.clients.add("svc-default");
  assert.deepEqual(plain.client.grant_types, [defaultGrant(false)]);
  for (const grant of GRANT_TYPES) {
    const attempt = t.services.clients.add(`pub-${grant}`, {
      public: true,
      grantTypes: grant === "authorization_code" ? [grant] : ["authorization_code", grant],
      redirectUris: [REDIRECT],
    });
    if (PUBLIC_GRANT_TYPES.includes(grant)) await attempt;
    else await assert.rejects(attempt, /a public client/, grant);
  }
});

test("deno task client add --help names every grant type, the defaults and the public ones", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    assert.equal(await clientCli(["add", "--help"]), 0);
  } finally {
    console.log = log;
  }
  const help = lines.join("\n");
  assert.match(help, new RegExp(`--grant ${GRANT_TYPES.join("\\|")}\\]`));
  assert.match(
    help,
    new RegExp(`default to ${defaultGrant(false)} \\(--public: ${defaultGrant(true)}`),
  );
  assert.match(help, new RegExp(`only ${PUBLIC_GRANT_TYPES.join(", ")}\\)`));
});

// ---- claims ----

test("claims_supported: RFC 8414's is the access token's claims, OpenID's the ID token's and userinfo's", async () => {
  const { t } = await setup();
  using _ = t;
  const oauth = await (await t.request("/.well-known/oauth-authorization-server")).json();
  assert.deepEqual(oauth.claims_supported, ACCESS_TOKEN_CLAIMS);
  const oidc = await (await t.request("/.well-known/openid-configuration")).json();
  assert.deepEqual(oidc.claims_supported, OPENID_CLAIMS);
  assert.deepEqual(
    [...OPENID_CLAIMS].sort(),
    [...new Set([...ID_TOKEN_CLAIMS, ...USERINFO_CLAIMS])].sort(),
  );
});

test("/me, /userinfo and their documentation carry the claims CLAIMS names", async () => {
  const { t } = await setup();
  using _ = t;
  const { token } = await login(t, "ada", PASSWORD);
  const auth = { headers: { Authorization: `Bearer ${token}` } };
  const me = await (await t.request("/me", auth)).json();
  for (const name of Object.keys(me.claims)) {
    assert.ok((ACCESS_TOKEN_CLAIMS as string[]).includes(name), name);
  }
  const userinfo = await (await t.request("/userinfo", auth)).json();
  assert.deepEqual(Object.keys(userinfo).sort(), [...USERINFO_CLAIMS].sort());

  const doc = await (await t.request("/openapi.json")).json();
  const json = (path: string) =>
    resolve(doc, doc.paths[path].get.responses["200"].content["application/json"].schema);
  const documented = resolve(doc, json("/me").properties!.claims!);
  assert.deepEqual(Object.keys(documented.properties!).sort(), [...ACCESS_TOKEN_CLAIMS].sort());
  assert.deepEqual(
    [...(documented.required as string[])].sort(),
    ACCESS_TOKEN_CLAIMS.filter((n) => !(OPTIONAL_ACCESS_TOKEN_CLAIMS as string[]).includes(n))
      .sort(),
    "only the optional claims are documented as optional",
  );
  const userinfoDoc = json("/userinfo");
  assert.deepEqual(Object.keys(userinfoDoc.properties!).sort(), [...USERINFO_CLAIMS].sort());
  assert.deepEqual([...(userinfoDoc.required as string[])].sort(), [...USERINFO_CLAIMS].sort());
});

test("an ID token carries exactly the ID token claims of CLAIMS", async () => {
  const { t } = await setup();
  using _ = t;
  const key = idTokenKey(t.keys())!;
  const idToken = await signIdToken(key, {
    issuer: t.config.issuer,
    userId: "ada",
    userUid: crypto.randomUUID(),
    clientId: "web",
    nonce: "n-1",
    authTime: t.clock.ms,
    sid: "browser-session",
    amr: ["pwd"],
    accessToken: "access",
    ttl: 600,
    now: t.clock.ms,
  });
  assert.deepEqual(Object.keys(decodeJwt(idToken)).sort(), [...ID_TOKEN_CLAIMS].sort());
});

/** A value of the right type, and values of a wrong one, for each claim type. */
const SAMPLES: Record<ClaimType, { good: unknown; bad: unknown[] }> = {
  text: { good: "ada", bad: ["", 5, ["ada"], null] },
  string: { good: "s", bad: [5, ["s"], {}, null] },
  number: { good: 1767225600, bad: ["1767225600", null, [1]] },
  strings: {
    good: ["pwd", "otp"],
    bad: ["pwd", [1], Array.from({ length: MAX_CLAIM_ITEMS + 1 }, () => "x"), null],
  },
  audience: { good: ["a", "b"], bad: [5, [5], {}, null] },
};

test("the verifier checks every access token claim's type as CLAIMS defines it", async () => {
  const ring = await hmacKeyRing("0123456789abcdefghijklmnopqrstuvwxyz", []);
  const now = Date.UTC(2026, 0, 1);
  const iat = Math.floor(now / 1000);
  const good: Record<string, unknown> = {};
  for (const name of ACCESS_TOKEN_CLAIMS) good[name] = SAMPLES[CLAIMS[name].type].good;
  Object.assign(good, { iss: "me", iat, exp: iat + 600 });
  delete good.aud; // tokens without AUDIENCE carry none
  const sign = (payload: Record<string, unknown>) =>
    new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT", kid: ring.signing.kid })
      .sign(ring.signing.key);
  const verify = async (payload: Record<string, unknown>, audience?: string) =>
    verifyAccessToken(await sign(payload), {
      resolveKey: keyRingResolver(() => ring),
      algorithms: ["HS256"],
      issuer: "me",
      audience,
      now,
    });

  const claims = await verify({ ...good, extra: "dropped" });
  assert.deepEqual(
    Object.keys(claims).sort(),
    ACCESS_TOKEN_CLAIMS.filter((n) => n !== "aud").sort(),
  );
  for (const name of ACCESS_TOKEN_CLAIMS) {
    const { type, access } = CLAIMS[name] as ClaimDefinition;
    // No AUDIENCE here, so jose leaves `aud` alone: its type is checked by CLAIMS' rule only.
    for (const bad of SAMPLES[type].bad) {
      await assert.rejects(
        verify({ ...good, [name]: bad }),
        new RegExp(`token claim ${name} is`),
        `${name}: ${JSON.stringify(bad)?.slice(0, 40)}`,
      );
    }
    const without = { ...good };
    delete without[name];
    if (access === "required") {
      await assert.rejects(
        verify(without),
        new RegExp(`token claim ${name} is`),
        `${name} missing`,
      );
    } else {
      const read = await verify(without);
      assert.equal(
        (read as Record<string, unknown>)[name],
        access === "defaulted" ? "" : undefined,
      );
    }
  }
  // With AUDIENCE set, a token for it passes (its array form too).
  const forAudience = await verify({ ...good, aud: SAMPLES.audience.good }, "a");
  assert.deepEqual(forAudience.aud, SAMPLES.audience.good);
});

test("the two definitions import nothing (the CLI and the published verifier load them)", () => {
  for (const file of ["src/oauth/grant_types.ts", "src/oidc/claims.ts"]) {
    const source = Deno.readTextFileSync(new URL(`../../${file}`, import.meta.url));
    assert.doesNotMatch(source, /^\s*(import|export [^=]* from)\b/m, file);
  }
});

test("a public client (no secret) may have neither the password nor the client_credentials grant", async () => {
  const t = await makeApp();
  using _ = t;
  for (const grant of ["password", "client_credentials"]) {
    await assert.rejects(
      t.services.clients.add(`pub-${grant}`, {
        public: true,
        grantTypes: ["authorization_code", grant],
        redirectUris: [REDIRECT],
      }),
      /a public client \(no secret\) may have only/,
      grant,
    );
  }
});
