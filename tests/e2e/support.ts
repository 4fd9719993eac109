/**
 * Shared pieces of the end-to-end tests: a server that is always stopped, small HTTP helpers,
 * and token checks that do not use jose.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createPublicKey, type JsonWebKey, verify as verifySignature } from "node:crypto";
import { join } from "node:path";
import { parseEnv } from "node:util";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import jwt from "npm:jsonwebtoken@^9.0.2";
import {
  freePort,
  freshDir,
  postJson,
  type RunningServer,
  runTask,
  type StartOptions,
  startServer,
  taskCommand,
} from "../helpers/server_process.ts";

export { freePort, postJson, runTask, startServer };
export type { RunningServer };

/** A password long enough for every rule, used by most tests. */
export const PASSWORD = "correct horse battery";

/** The JSON answer of a request. */
export interface JsonAnswer {
  readonly status: number;
  readonly headers: Headers;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

/** The `/login` and `/refresh` 200 body. */
export interface TokenPair {
  readonly token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly refresh_token: string;
}

/**
 * Starts a server, runs `fn`, and always stops it (SIGTERM) and waits for its exit; a server
 * that does not exit 0 fails the test.
 */
export async function withServer<T>(
  options: StartOptions,
  fn: (server: RunningServer) => Promise<T>,
): Promise<T> {
  const server = await startServer(options);
  let result: T;
  let status: Deno.CommandStatus;
  try {
    result = await fn(server);
  } finally {
    status = await server.stop();
  }
  assert.equal(status.code, 0, `server exit code\n${server.stderr()}`);
  return result;
}

/** A fresh temporary directory (no `.env`), removed when disposed (`await using`). */
export interface ScratchDir extends AsyncDisposable {
  readonly path: string;
}

/** A fresh temporary directory with no `.env`; `await using` removes it afterwards. */
export async function scratchDir(): Promise<ScratchDir> {
  const path = await freshDir();
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** A scratch directory with users added through the CLI before any server runs. */
export async function dirWithUsers(
  users: readonly { id: string; roles: readonly string[]; password?: string }[],
  env: Record<string, string> = {},
): Promise<ScratchDir> {
  const scratch = await scratchDir();
  const dir = scratch.path;
  for (const user of users) {
    await cliOk(dir, ["add", user.id, ...user.roles.flatMap((r) => ["--role", r])], {
      stdin: `${user.password ?? PASSWORD}\n`,
      env,
    });
  }
  return scratch;
}

/** Runs `deno task user ...` and requires exit code 0. */
export async function cliOk(
  dir: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
) {
  const result = await runTask("user", dir, args, options);
  assert.equal(result.code, 0, `user ${args.join(" ")}: ${result.stderr}`);
  return result;
}

/** GETs a URL (optionally with a bearer token) and parses the JSON answer. */
export async function getJson(url: string, token?: string): Promise<JsonAnswer> {
  const response = await fetch(url, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? parse(text) : text };
}

/** Sends any request and parses the JSON answer (an empty body gives `undefined`). */
export async function request(url: string, init: RequestInit): Promise<JsonAnswer> {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? parse(text) : undefined,
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`Not JSON: ${text.slice(0, 200)}`);
  }
}

/** Logs in and requires 200. */
export async function loginOk(
  server: { url: string },
  userId: string,
  password: string = PASSWORD,
  role?: string,
): Promise<TokenPair> {
  const body = role === undefined
    ? { user_id: userId, password }
    : { user_id: userId, password, role };
  const res = await postJson(`${server.url}/login`, body);
  assert.equal(res.status, 200, `login ${userId}: ${JSON.stringify(res.body)}`);
  assertTokenPair(res.body);
  return res.body;
}

/** Presents a refresh token. */
export async function refresh(server: { url: string }, refreshToken: string) {
  return await postJson(`${server.url}/refresh`, { refresh_token: refreshToken });
}

/** Presents a refresh token and requires 200. */
export async function refreshOk(server: { url: string }, refreshToken: string): Promise<TokenPair> {
  const res = await refresh(server, refreshToken);
  assert.equal(res.status, 200, `refresh: ${JSON.stringify(res.body)}`);
  assertTokenPair(res.body);
  return res.body;
}

/** GET /me with a bearer token. */
export async function me(server: { url: string }, token: string): Promise<JsonAnswer> {
  return await getJson(`${server.url}/me`, token);
}

/** Asserts the contract's 200 body of /login and /refresh. */
export function assertTokenPair(body: unknown): asserts body is TokenPair {
  const pair = body as TokenPair;
  assert.equal(typeof pair.token, "string");
  assert.equal(pair.token.split(".").length, 3);
  assert.equal(pair.token_type, "Bearer");
  assert.equal(typeof pair.expires_in, "number");
  assert.match(pair.refresh_token, /^[A-Za-z0-9_-]{32,}$/);
}

/** Asserts a contract error body: exactly `error` and a snake_case `code` (`code` if given). */
export function assertError(answer: JsonAnswer, status: number, code?: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.deepEqual(Object.keys(answer.body ?? {}).sort(), ["code", "error"]);
  if (code === undefined) assert.match(answer.body.code, /^[a-z][a-z0-9_]*$/);
  else assert.equal(answer.body.code, code);
  assert.equal(typeof answer.body.error, "string");
  assert.ok(answer.body.error.length > 0);
}

/** The variables of `dir/.env`. */
export function readDotEnv(dir: string): Record<string, string> {
  const vars = parseEnv(Deno.readTextFileSync(join(dir, ".env")));
  return Object.fromEntries(
    Object.entries(vars).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

/** Header and payload of a JWT, decoded without verifying (no jose). */
// deno-lint-ignore no-explicit-any
export function decodeJwt(token: string): { header: any; payload: any } {
  const [header, payload] = token.split(".");
  assert.ok(header !== undefined && payload !== undefined, "a JWT has three parts");
  return {
    header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
  };
}

/** A public JWK as published at `/.well-known/jwks.json`. */
export type PublishedJwk = JsonWebKey & { kid?: string; alg?: string; use?: string };

/**
 * Verifies an asymmetric token from a JWKS alone, without jose: `jsonwebtoken` for ES256 and
 * RS256, `node:crypto` for EdDSA (which jsonwebtoken lacks). Returns the payload.
 */
export function verifyWithJwks(
  token: string,
  jwks: { keys: PublishedJwk[] },
  issuer: string,
): Record<string, unknown> {
  const { header } = decodeJwt(token);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is in the JWKS`);
  assert.equal(jwk.alg, header.alg, "the JWK's alg is the token's");
  const publicKey = createPublicKey({ key: jwk, format: "jwk" });
  assert.equal(publicKey.type, "public");
  if (header.alg === "EdDSA") {
    const [h, p, s] = token.split(".") as [string, string, string];
    const ok = verifySignature(
      null,
      Buffer.from(`${h}.${p}`),
      publicKey,
      Buffer.from(s, "base64url"),
    );
    assert.equal(ok, true, "Ed25519 signature verifies with node:crypto");
    const { payload } = decodeJwt(token);
    assert.equal(payload.iss, issuer);
    assert.ok(payload.exp > Date.now() / 1000, "not expired");
    return payload;
  }
  return jwt.verify(token, publicKey, {
    algorithms: [header.alg],
    issuer,
  }) as Record<string, unknown>;
}

/** Polls `check` every 50 ms until it is true, for at most `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the `start` task in `dir` until it exits by itself (bounded), e.g. on a bad setting. */
export async function runServerToExit(
  dir: string,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { env: taskEnv, args } = taskCommand("start");
  const child = new Deno.Command("deno", {
    args,
    cwd: dir,
    env: { ...taskEnv, HOST: "127.0.0.1", PORT: String(freePort()), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
  }, timeoutMs);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}
