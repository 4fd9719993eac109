/**
 * Issue 4, end to end: graceful stop on SIGTERM with a request in flight, SIGINT, durability of
 * acknowledged logins and refreshes across `kill -9`, and what the logs may (not) contain.
 */
import assert from "node:assert/strict";
import {
  assertError,
  assertTokenPair,
  cliOk,
  decodeJwt,
  dirWithUsers,
  freePort,
  getJson,
  loginOk,
  me,
  PASSWORD,
  postJson,
  readDotEnv,
  refresh,
  refreshOk,
  type RunningServer,
  scratchDir,
  startServer,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

/** Waits for the process to exit by itself, at most `ms`; SIGKILLs it and fails otherwise. */
async function exitWithin(server: RunningServer, ms: number): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    const result = await Promise.race([server.process.status, timeout]);
    if (result === "timeout") {
      await server.stop("SIGKILL");
      assert.fail(`server did not exit within ${ms} ms:\n${server.stderr()}`);
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

test("SIGTERM with logins in flight: each gets its 200, then exit 0 within 10 s", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const dir = scratch.path;
  const server = await startServer({ dir, env: { LOGIN_LIMIT_PER_CLIENT: "1000/1m" } });
  try {
    assert.equal((await getJson(`${server.url}/healthz`)).status, 200);
    // Ten logins at once: argon2id runs at most a few at a time, so when the first answer
    // arrives the others are in flight. SIGTERM goes out right then.
    let signalledAt = 0;
    const answeredAt: number[] = [];
    const logins = Array.from({ length: 10 }, async () => {
      const answer = await postJson(`${server.url}/login`, { user_id: "ada", password: PASSWORD });
      answeredAt.push(performance.now());
      if (signalledAt === 0) {
        signalledAt = performance.now();
        server.process.kill("SIGTERM");
      }
      return answer;
    });
    const answers = await Promise.all(logins);
    for (const answer of answers) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assertTokenPair(answer.body);
    }
    assert.ok(
      answeredAt.some((at) => at > signalledAt),
      "some logins were still in flight when SIGTERM was sent",
    );
    const status = await exitWithin(server, 10_000);
    assert.equal(status.code, 0, server.stderr());
    // The server's own record: it logged the signal, then finished logins.
    await server.stop();
    const lines = server.stdout().split("\n").filter((line) => line.trim() !== "");
    const signalLine = lines.findIndex((line) => line.includes('"SIGTERM"'));
    assert.ok(signalLine !== -1, `the signal is logged:\n${server.stdout()}`);
    const finishedAfter = lines.slice(signalLine + 1).filter((line) => {
      const record = JSON.parse(line) as { path?: unknown; status?: unknown };
      return record.path === "/login" && record.status === 200;
    });
    assert.ok(finishedAfter.length >= 1, "logins finished after the signal");
  } finally {
    await server.stop("SIGKILL");
  }
});

test("SIGTERM while a login body is half sent: the login still completes", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const server = await startServer({ dir: scratch.path });
  try {
    const body = JSON.stringify({ user_id: "ada", password: PASSWORD });
    const half = Math.floor(body.length / 2);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const encoder = new TextEncoder();
    await conn.write(encoder.encode(
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
    ));
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server is now reading it
    server.process.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    await conn.write(encoder.encode(body.slice(half)));
    let answer = "";
    const decoder = new TextDecoder();
    for await (const chunk of conn.readable) answer += decoder.decode(chunk, { stream: true });
    assert.match(answer, /^HTTP\/1\.1 200/, answer.slice(0, 300));
    assert.match(answer, /"refresh_token"/);
    assert.equal((await exitWithin(server, 10_000)).code, 0, server.stderr());
  } finally {
    await server.stop("SIGKILL");
  }
});

test("SIGINT: exit 0", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const dir = scratch.path;
  const server = await startServer({ dir });
  try {
    await loginOk(server, "ada");
    server.process.kill("SIGINT");
    assert.equal((await exitWithin(server, 10_000)).code, 0, server.stderr());
  } finally {
    await server.stop("SIGKILL");
  }
});

test("kill -9 right after a 200: the acknowledged state survives", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const dir = scratch.path;
  const env = { REFRESH_GRACE_SECONDS: "0" };
  // Restarted where it ran: with no ISSUER the issuer follows the port.
  const port = freePort();

  /** Runs `fn` on a server in `dir`, then SIGKILLs it: no graceful stop, no flush on exit. */
  const crashAfter = async <T>(fn: (server: RunningServer) => Promise<T>): Promise<T> => {
    const server = await startServer({ dir, env, port });
    let status: Deno.CommandStatus;
    try {
      return await fn(server);
    } finally {
      status = await server.stop("SIGKILL");
      assert.equal(status.signal, "SIGKILL");
    }
  };

  // 1. kill -9 right after a 200 from /login.
  const first = await crashAfter((server) => loginOk(server, "ada"));

  // 2. Restarted: the session and its refresh token are there; kill -9 right after /refresh.
  const second = await crashAfter(async (server) => {
    assert.equal((await me(server, first.token)).status, 200, "session survived");
    return await refreshOk(server, first.refresh_token);
  });

  // 3. Restarted: the acknowledged refresh token works, and the spent one is still spent.
  await withServer({ dir, env, port }, async (server) => {
    assert.equal((await me(server, second.token)).status, 200);
    const third = await refreshOk(server, second.refresh_token);
    assert.equal(decodeJwt(third.token).payload.sid, decodeJwt(first.token).payload.sid);
    await loginOk(server, "ada"); // the user survived too
    assertError(await refresh(server, first.refresh_token), 401, "refresh_token_reused");
    assertError(await me(server, third.token), 401, "invalid_token");
  });
});

test("logs: JSON request lines on stdout; no password, token or secret anywhere", async () => {
  const bootstrap = "bootstrap-Log-Pa55word";
  const wrong = "wrong-Pa55word-in-log";
  await using scratch = await scratchDir();
  const server = await startServer({ dir: scratch.path, env: { BOOTSTRAP_PASSWORD: bootstrap } });
  const secrets: string[] = [PASSWORD, bootstrap, wrong];
  let status: Deno.CommandStatus;
  try {
    const secretKey = readDotEnv(server.dir).SECRET_KEY;
    assert.ok(secretKey);
    secrets.push(secretKey);
    await cliOk(server.dir, ["add", "ada"], { stdin: `${PASSWORD}\n` });
    const admin = await loginOk(server, "admin", bootstrap);
    const first = await loginOk(server, "ada");
    const second = await refreshOk(server, first.refresh_token);
    const failed = await postJson(`${server.url}/login`, { user_id: "ada", password: wrong });
    assert.equal(failed.status, 401);
    const unknown = await postJson(`${server.url}/login`, { user_id: "ghost", password: wrong });
    assert.equal(unknown.status, 401);
    // `first` was spent and so was its child: presenting it is reuse, whatever the grace window.
    const third = await refreshOk(server, second.refresh_token);
    const reused = await refresh(server, first.refresh_token);
    assert.equal(reused.status, 401);
    assert.equal((await me(server, admin.token)).status, 200);
    const bearerFail = await me(server, third.token);
    assert.equal(bearerFail.status, 401, "session revoked by the reuse");
    for (const pair of [admin, first, second, third]) {
      secrets.push(pair.token, pair.refresh_token, pair.token.split(".")[2]!);
    }
  } finally {
    status = await server.stop();
  }
  assert.equal(status.code, 0);

  const stdout = server.stdout();
  const all = stdout + server.stderr();
  for (const secret of secrets) {
    assert.ok(secret.length >= 8);
    assert.ok(!all.includes(secret), `the output contains a secret (${secret.slice(0, 6)}...)`);
  }

  const lines = stdout.split("\n").filter((line) => line.trim() !== "");
  assert.ok(lines.length > 0, "stdout has log lines");
  const records = lines.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return assert.fail(`stdout line is not JSON: ${line}`);
    }
  });
  const requests = records.filter((r) => r.path !== undefined && r.status !== undefined);
  for (const r of requests) {
    assert.equal(typeof r.request_id, "string");
    assert.ok((r.request_id as string).length > 0);
    assert.equal(typeof r.method, "string");
    assert.equal(typeof r.path, "string");
    assert.equal(typeof r.status, "number");
    assert.equal(typeof r.duration_ms, "number");
    assert.ok((r.duration_ms as number) >= 0);
  }
  const seen = (method: string, path: string, statusCode: number) =>
    requests.some((r) => r.method === method && r.path === path && r.status === statusCode);
  assert.ok(seen("POST", "/login", 200), "a 200 login is logged");
  assert.ok(seen("POST", "/login", 401), "a failed login is logged");
  assert.ok(seen("POST", "/refresh", 200), "a refresh is logged");
  assert.ok(seen("POST", "/refresh", 401), "the reuse is logged");
  assert.ok(seen("GET", "/me", 401), "a refused /me is logged");
  assert.equal(new Set(requests.map((r) => r.request_id)).size, requests.length, "ids unique");
});
