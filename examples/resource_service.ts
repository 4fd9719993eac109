/**
 * A complete resource service that trusts the auth server's tokens. With the quickstart's
 * defaults (`JWT_ALG=HS256`) it verifies them with the auth server's `SECRET_KEY`, given in its
 * environment; with an asymmetric `JWT_ALG` (EdDSA, ES256, RS256) it needs no secret, only the
 * server's JWKS:
 *
 *   SECRET_KEY=$(sed -n 's/^SECRET_KEY=//p' .env) deno run --allow-net --allow-env examples/resource_service.ts
 *   deno run --allow-net --allow-env examples/resource_service.ts     # EdDSA, ES256 or RS256
 *
 * Environment: `AUTH_URL` (default `http://localhost:10000`), `ISSUER` (default `AUTH_URL`),
 * `SECRET_KEY` (HS256 only), `HOST` (default `127.0.0.1`: this machine only) and `PORT`
 * (default `8080`).
 *
 * @module
 */
import { Hono } from "hono";
import {
  importHmacKey,
  requireAuth,
  type RequireAuthOptions,
} from "../src/middleware/require_auth.ts";

type KeySource = Pick<RequireAuthOptions, "key" | "jwksUrl">;

/**
 * The service's routes, protected by `requireAuth`: verified with `hmacKey` (HS256, the shared
 * secret) when given, else from the auth server's JWKS.
 */
export function createResourceApp(
  authUrl: string,
  issuer: string = authUrl,
  hmacKey?: Awaited<ReturnType<typeof importHmacKey>>,
): Hono {
  const keys: KeySource = hmacKey
    ? { key: hmacKey }
    : { jwksUrl: `${authUrl}/.well-known/jwks.json` };
  const app = new Hono();
  // People only (requireAuth's default): a service account's `sub` is a client id, not a user.
  app.use("/orders/*", requireAuth({ issuer, ...keys, cache: true }));
  app.get("/orders/mine", (c) => c.json({ owner: c.get("auth").sub, role: c.get("auth").role }));
  // Service accounts only (client_credentials), holding the scope "stats".
  app.get(
    "/reports/daily",
    requireAuth({ issuer, ...keys, subjects: "clients", scopes: ["stats"] }),
    (c) => c.json({ client: c.get("auth").client_id }),
  );
  app.delete(
    "/orders/:id",
    requireAuth({ issuer, ...keys, roles: ["admin"] }),
    (c) => c.json({ deleted: c.req.param("id") }),
  );
  return app;
}

if (import.meta.main) {
  const env = (name: string) => Deno.env.get(name)?.trim() || undefined;
  const authUrl = env("AUTH_URL") ?? "http://localhost:10000";
  const issuer = env("ISSUER") ?? authUrl;
  const secret = env("SECRET_KEY");
  const hostname = env("HOST") ?? "127.0.0.1";
  const port = Number(env("PORT") ?? 8080);
  const verifying = secret
    ? "HS256 tokens with SECRET_KEY"
    : `EdDSA, ES256 and RS256 tokens from ${authUrl}/.well-known/jwks.json`;
  const app = createResourceApp(authUrl, issuer, secret ? await importHmacKey(secret) : undefined);
  Deno.serve({
    hostname,
    port,
    onListen: ({ hostname, port }) =>
      console.log(
        `Resource service listening on http://${hostname}:${port} (verifying ${verifying}, issuer ${issuer})`,
      ),
  }, app.fetch);
}
