/**
 * The app built in-process on an in-memory KV store and a controllable clock, for fast tests
 * through `app.request`. End-to-end tests use `server_process.ts` instead.
 */
import { createApp } from "../../src/app.ts";
import { type Config, parseConfig, type RawVars } from "../../src/config/parse_config.ts";
import { type KeyRing, loadKeyRing } from "../../src/crypto/keys.ts";
import { createPasswordHasher, type PasswordHasher } from "../../src/crypto/passwords.ts";
import { selectArgon2Backend } from "../../src/crypto/select_argon2_backend.ts";
import { createLogger } from "../../src/logger.ts";
import { createServices, type Services } from "../../src/services.ts";
import { kvStores } from "../../src/store/kv_stores.ts";
import type { Stores } from "../../src/store/stores.ts";

export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/** A clock tests move by hand. Starts at 2026-01-01T00:00:00Z. */
export class TestClock {
  ms = Date.UTC(2026, 0, 1);
  now = () => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/**
 * One shared hasher: argon2id at OWASP's minimum on the backend production's `auto` picks here
 * (the native addon when it loads, Web Crypto otherwise).
 */
export const hasher = createPasswordHasher({
  backend: (await selectArgon2Backend("auto")).backend,
});

export interface TestApp {
  readonly app: ReturnType<typeof createApp>;
  readonly services: Services;
  readonly config: Config;
  readonly kv: Deno.Kv;
  /** The stores the services run on (`stores` option of {@link makeApp}, else KV stores). */
  readonly stores: Stores;
  readonly clock: TestClock;
  readonly logLines: string[];
  keys(): KeyRing;
  /** `app.request` as if from `client` (default 192.0.2.1). */
  request(path: string, init?: RequestInit, client?: string): Promise<Response>;
  /** POST JSON. */
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
    client?: string,
  ): Promise<Response>;
  close(): void;
  [Symbol.dispose](): void;
}

/** Builds the app with `vars` over safe test defaults (and another hasher when given). */
export async function makeApp(
  vars: RawVars = {},
  keysDir?: string,
  /** Wraps the KV stores, e.g. in a fake that fails or contends (`faulty_stores.ts`). */
  wrapStores: (stores: Stores) => Stores = (stores) => stores,
  /** The password hasher the services use (default the shared one), e.g. a spy. */
  passwordHasher: PasswordHasher = hasher,
): Promise<TestApp> {
  const config = parseConfig({
    SECRET_KEY: TEST_SECRET,
    ISSUER: "https://auth.test",
    // In-process: nothing listens. Loopback, so /metrics is served as on a local server (issue
    // 23: beyond loopback it needs a 32-byte METRICS_TOKEN; tests/security/metrics_exposure_test).
    HOST: "127.0.0.1",
    LOG_LEVEL: "debug",
    ...(keysDir ? { KEYS_PATH: `${keysDir}/keys.json` } : {}),
    ...vars,
  });
  const clock = new TestClock();
  const kv = await Deno.openKv(":memory:");
  const stores = wrapStores(kvStores(kv));
  const ring = await loadKeyRing(config, new Date(clock.ms));
  const logLines: string[] = [];
  const logger = createLogger(config.logLevel, (line) => logLines.push(line));
  const services = createServices({
    config,
    stores,
    keys: () => ring,
    hasher: passwordHasher,
    logger,
    now: clock.now,
  });
  const app = createApp(services, config, logger);
  const request = (path: string, init: RequestInit = {}, client = "192.0.2.1") =>
    Promise.resolve(
      app.request(path, init, {
        remoteAddr: { transport: "tcp", hostname: client, port: 40000 },
      }),
    );
  const close = () => kv.close();
  return {
    app,
    services,
    config,
    kv,
    stores,
    clock,
    logLines,
    keys: () => ring,
    request,
    post: (path, body, headers = {}, client) =>
      request(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }, client),
    close,
    [Symbol.dispose]: close,
  };
}

/**
 * Another instance on `t`'s store and clock (with `t`'s keys unless `keys` is given): its own
 * services, caches, session gate and app, as a second process on the same store has.
 */
export function otherInstance(t: TestApp, keys: () => KeyRing = t.keys) {
  const logger = createLogger("silent");
  const services = createServices({
    config: t.config,
    stores: kvStores(t.kv),
    keys,
    hasher,
    logger,
    now: t.clock.now,
  });
  return { services, app: createApp(services, t.config, logger) };
}

/** Adds a user through the user service (the same path as the CLI). */
export async function addUser(
  t: TestApp,
  userId: string,
  password: string,
  roles: string[] = ["user"],
): Promise<void> {
  await t.services.users.add(userId, password, roles);
}

/** Logs in and returns the parsed 200 body; throws on any other status. */
export async function login(
  t: TestApp,
  userId: string,
  password: string,
  role?: string,
): Promise<{ token: string; refresh_token: string; expires_in: number; token_type: string }> {
  const res = await t.post("/login", { user_id: userId, password, ...(role ? { role } : {}) });
  if (res.status !== 200) throw new Error(`login ${res.status}: ${await res.text()}`);
  return await res.json();
}
