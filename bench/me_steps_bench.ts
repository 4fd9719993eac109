/**
 * The per-request work of `GET /me`, step by step (issue 24 item 3), in process, with no socket:
 * the whole request through the real app (`createApp` on in-memory KV, the default HS256 and
 * `LOG_LEVEL=info` into a writer that drops each line), then each step on its own, with the
 * same inputs the app sees:
 *
 * routing, header parsing, JWT verify (cached, and uncached for scale), the session gate
 * (cached), the JSON answer, the security headers, the metrics, the log line; and the three
 * old middleware layers against the one pass that replaced them (`request_chain.ts`), on a
 * one-route app.
 *
 * Run: `deno bench --allow-read --allow-write --allow-env --allow-ffi=./node_modules
 * bench/me_steps_bench.ts` (or `deno task bench`, which runs every `*_bench.ts`).
 *
 * @module
 */
import { Context, Hono } from "hono";
import { createApp } from "../src/app.ts";
import { parseTrustedProxies } from "../src/client_address.ts";
import { parseConfig } from "../src/config/parse_config.ts";
import { loadKeyRing } from "../src/crypto/keys.ts";
import { createPasswordHasher, OWASP_MINIMUM } from "../src/crypto/passwords.ts";
import { createLogger } from "../src/logger.ts";
import { createMetrics } from "../src/metrics.ts";
import { honoAnswer, requestChain } from "../src/middleware/request_chain.ts";
import { requestLog } from "../src/middleware/request_log.ts";
import { requestRecorder } from "../src/middleware/request_metrics.ts";
import { bearerToken } from "../src/middleware/require_auth.ts";
import {
  presetSecurityHeaders,
  securityHeaderList,
  securityHeaders,
} from "../src/middleware/security_headers.ts";
import { createServices } from "../src/services.ts";
import { kvStores } from "../src/store/kv_stores.ts";
import { keyRingResolver, verifyAccessToken } from "../src/tokens/access_token.ts";
import { VerifiedTokenCache } from "../src/tokens/verified_token_cache.ts";

const ISSUER = "http://127.0.0.1:10000";
const PASSWORD = "correct horse battery staple";
// A fixed clock: the session gate's one-second cache never expires, as under steady load.
const NOW = Date.UTC(2026, 0, 1);
const now = () => NOW;

const config = parseConfig({
  SECRET_KEY: "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
  ISSUER,
  HOST: "127.0.0.1",
  LOG_LEVEL: "info",
  LOGIN_LIMIT_PER_CLIENT: "100000/1m",
});
const kv = await Deno.openKv(":memory:");
const ring = await loadKeyRing(config, new Date(NOW));
const logger = createLogger("info", () => {}); // the line is built, then dropped
const services = createServices({
  config,
  stores: kvStores(kv),
  keys: () => ring,
  hasher: createPasswordHasher({ params: OWASP_MINIMUM }),
  logger,
  now,
});
const app = createApp(services, config, logger);
const env = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 40000 } };
await services.users.add("ada", PASSWORD, ["user"]);
const loginAnswer = await app.request("/login", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: "ada", password: PASSWORD }),
}, env);
const { token } = await loginAnswer.json() as { token: string };
const authorization = `Bearer ${token}`;
const meRequest = () => new Request("http://127.0.0.1:10000/me", { headers: { authorization } });
const first = await app.fetch(meRequest(), env);
if (first.status !== 200) throw new Error(`/me answered ${first.status}: ${await first.text()}`);
const meBody = await first.text();

// ---- the whole request ----

Deno.bench("GET /me, whole (app.fetch)", { group: "GET /me", baseline: true }, async () => {
  await (await app.fetch(meRequest(), env)).arrayBuffer();
});

// What server.ts asks first: a repeat answered without Hono (http/me_fast_path.ts).
if (app.answerMeAgain(meRequest(), env) === undefined) throw new Error("/me fast path missed");
Deno.bench("GET /me, whole, repeated (answerMeAgain: no Hono)", { group: "GET /me" }, async () => {
  await app.answerMeAgain(meRequest(), env)!.arrayBuffer();
});

Deno.bench("the Request object itself (Deno.serve makes it)", { group: "GET /me" }, () => {
  meRequest();
});

// ---- each step ----

Deno.bench("routing (router.match GET /me)", { group: "GET /me" }, () => {
  app.router.match("GET", "/me");
});

const request = meRequest();
Deno.bench("header parsing (Authorization -> bearer token)", { group: "GET /me" }, () => {
  bearerToken(request.headers.get("authorization") ?? undefined);
});

const resolveKey = keyRingResolver(() => ring);
const verifyOptions = { resolveKey, algorithms: ["HS256"] as const, issuer: ISSUER, now: NOW };
const claims = await verifyAccessToken(token, verifyOptions);
const cache = new VerifiedTokenCache();
cache.set(token, claims, "kid");
Deno.bench("JWT verify, cached (the server's path)", { group: "GET /me" }, () => {
  cache.get(token, NOW);
});

Deno.bench("JWT verify, uncached (for scale: once per token)", { group: "GET /me" }, async () => {
  await verifyAccessToken(token, verifyOptions);
});

await services.gate.isActive(claims);
Deno.bench("session gate (cached: the same second)", { group: "GET /me" }, async () => {
  await services.gate.isActive(claims);
  await services.gate.roles(claims);
});

Deno.bench("JSON answer (the body, serialized once per token)", { group: "GET /me" }, () => {
  const c = new Context(request);
  c.body(meBody, 200, { "Content-Type": "application/json" });
});

const headerList = securityHeaderList({ issuer: ISSUER });
Deno.bench("JSON answer with the security headers", { group: "GET /me" }, () => {
  const c = new Context(request);
  presetSecurityHeaders(c, headerList);
  c.body(meBody, 200, { "Content-Type": "application/json" });
});

// A context as the app leaves it after answering /me, for the steps that run after the route.
let answered: Context | undefined;
const capture = new Hono();
capture.use(async (c, next) => {
  await next();
  answered = c;
});
capture.get("/me", (c) => c.body(meBody, 200, { "Content-Type": "application/json" }));
await capture.fetch(meRequest(), env);
const afterAnswer = answered!;
const trustProxy = parseTrustedProxies("")!;
const record = requestRecorder(createMetrics());
Deno.bench("metrics (histogram series of the route, observe)", { group: "GET /me" }, () => {
  const answered = honoAnswer(afterAnswer, trustProxy);
  record(answered.route, answered.method, answered.status, 0.0005);
});

const log = requestLog(logger);
Deno.bench("log line (request id, JSON line built and written)", { group: "GET /me" }, () => {
  log.end(honoAnswer(afterAnswer, trustProxy), afterAnswer.res.headers, log.start()!, 0.5);
});

// ---- three middleware layers against one pass, on a one-route app ----

function oneRouteApp(middleware: (app: Hono) => void): Hono {
  const small = new Hono();
  middleware(small);
  small.get("/me", (c) => c.body(meBody, 200, { "Content-Type": "application/json" }));
  return small;
}

const threeLayers = oneRouteApp((small) => {
  const metrics = createMetrics();
  const recordOld = requestRecorder(metrics);
  const logOld = requestLog(logger);
  small.use(async (c, next) => {
    const requestId = logOld.start();
    const started = performance.now();
    await next();
    const answered = honoAnswer(c, trustProxy);
    if (requestId !== undefined) {
      logOld.end(answered, c.res.headers, requestId, performance.now() - started);
    }
  });
  small.use(async (c, next) => {
    const started = performance.now();
    await next();
    const answered = honoAnswer(c, trustProxy);
    recordOld(
      answered.route,
      answered.method,
      answered.status,
      (performance.now() - started) / 1000,
    );
  });
  small.use(securityHeaders({ issuer: ISSUER }));
});
const onePass = oneRouteApp((small) => {
  small.use(requestChain({ logger, trustProxy, metrics: createMetrics(), issuer: ISSUER }));
});

Deno.bench("headers, metrics, log: three middleware layers", {
  group: "chain",
  baseline: true,
}, async () => {
  await (await threeLayers.fetch(meRequest(), env)).arrayBuffer();
});

Deno.bench("headers, metrics, log: one pass (request_chain.ts)", { group: "chain" }, async () => {
  await (await onePass.fetch(meRequest(), env)).arrayBuffer();
});

const routeAlone = oneRouteApp(() => {});
Deno.bench("none of them (the route alone)", { group: "chain" }, async () => {
  await (await routeAlone.fetch(meRequest(), env)).arrayBuffer();
});
