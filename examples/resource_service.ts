/**
 * A complete resource service that trusts the auth server's tokens, verifying them from its
 * JWKS alone (run the auth server with JWT_ALG=EdDSA, ES256 or RS256):
 *
 *   AUTH_URL=http://localhost:10000 deno run --allow-net --allow-env examples/resource_service.ts
 *
 * @module
 */
import { Hono } from "hono";
import { requireAuth } from "../src/middleware/require_auth.ts";

/** The service's routes, protected by `requireAuth`. */
export function createResourceApp(authUrl: string, issuer: string = authUrl): Hono {
  const app = new Hono();
  const auth = requireAuth({ issuer, jwksUrl: `${authUrl}/.well-known/jwks.json`, cache: true });
  // People only (requireAuth's default): a service account's `sub` is a client id, not a user.
  app.use("/orders/*", auth);
  app.get("/orders/mine", (c) => c.json({ owner: c.get("auth").sub, role: c.get("auth").role }));
  // Service accounts only (client_credentials), holding the scope "stats".
  app.get(
    "/reports/daily",
    requireAuth({
      issuer,
      jwksUrl: `${authUrl}/.well-known/jwks.json`,
      subjects: "clients",
      scopes: ["stats"],
    }),
    (c) => c.json({ client: c.get("auth").client_id }),
  );
  app.delete(
    "/orders/:id",
    requireAuth({ issuer, jwksUrl: `${authUrl}/.well-known/jwks.json`, roles: ["admin"] }),
    (c) => c.json({ deleted: c.req.param("id") }),
  );
  return app;
}

if (import.meta.main) {
  const authUrl = Deno.env.get("AUTH_URL") ?? "http://localhost:10000";
  Deno.serve({ port: 8080 }, createResourceApp(authUrl).fetch);
}
