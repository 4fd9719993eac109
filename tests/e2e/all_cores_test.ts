/**
 * Issue 20, end to end: `deno task start:all-cores` serves one port from several processes on
 * one store. Which process answered is read from what each keeps in its own memory: the
 * per-client refresh limit (`REFRESH_LIMIT_PER_CLIENT`, this instance's own). At 1 an hour, each
 * process lets one refresh through (401, the token being bogus) and refuses the rest (429), so
 * over fresh connections the number of 401s is the number of processes that answered. Linux
 * only (elsewhere the task runs one process: `src/all_cores.ts`).
 */
import assert from "node:assert/strict";
import { taskCommand } from "../helpers/server_process.ts";
import { dirWithUsers, freePort, loginOk, PASSWORD, scratchDir } from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const LINUX = Deno.build.os === "linux";

/** Starts the task in `dir` and waits for the line saying every process listens. */
async function startAllCores(dir: string, env: Record<string, string>) {
  const { env: taskEnv, args } = taskCommand("start:all-cores");
  const child = new Deno.Command("deno", {
    args,
    cwd: dir,
    env: { ...taskEnv, ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  const deadline = Date.now() + 60_000;
  while (!/share the port \(pids [\d, ]+\)/.test(stderr) && !exited && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const status = await child.status;
    clearTimeout(timer);
    await reading;
    return status;
  };
  if (!/share the port/.test(stderr)) {
    await stop();
    throw new Error(`start:all-cores did not listen:\n${stderr}`);
  }
  const pids = stderr.match(/share the port \(pids ([\d, ]+)\)/)![1]!.split(", ").map(Number);
  return { pids, stderr: () => stderr, stop };
}

/** One HTTP/1.1 request on a connection of its own (closed after): the status code. */
async function statusOnNewConnection(
  port: number,
  method: "GET" | "POST",
  path: string,
  options: { body?: unknown; token?: string } = {},
): Promise<number> {
  const body = options.body === undefined ? "" : JSON.stringify(options.body);
  const headers = [
    `Host: 127.0.0.1:${port}`,
    "Connection: close",
    ...(options.token ? [`Authorization: Bearer ${options.token}`] : []),
    ...(body ? ["Content-Type: application/json", `Content-Length: ${body.length}`] : []),
  ];
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(
      `${method} ${path} HTTP/1.1\r\n${headers.join("\r\n")}\r\n\r\n${body}`,
    ),
  );
  const answer = await new Response(conn.readable).text(); // read to the end: closes it
  return Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

test({
  name: "start:all-cores: two processes answer on one port, share one store, stop together",
  ignore: !LINUX,
  async fn() {
    await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
    const port = freePort();
    const server = await startAllCores(scratch.path, {
      HOST: "127.0.0.1",
      PORT: String(port),
      WEB_CONCURRENCY: "2",
      REFRESH_LIMIT_PER_CLIENT: "1/1h",
      LOGIN_LIMIT_PER_CLIENT: "100000/1m",
      LOGIN_LIMIT_PER_ACCOUNT: "100000/1m",
      LOG_LEVEL: "warn",
    });
    let stopped = false;
    try {
      assert.equal(server.pids.length, 2);
      const probes: number[] = [];
      for (let i = 0; i < 24; i++) {
        probes.push(
          await statusOnNewConnection(port, "POST", "/refresh", { body: { refresh_token: "x" } }),
        );
      }
      const letThrough = probes.filter((s) => s === 401).length;
      assert.equal(letThrough, 2, `one refresh let through by each process: ${probes}`);
      assert.equal(probes.filter((s) => s === 429).length, 22, String(probes));

      // One store: logins from fresh connections (both processes) all land, and a session
      // started by one process is live on every one that answers.
      const logins = await Promise.all(
        Array.from({ length: 12 }, () =>
          statusOnNewConnection(port, "POST", "/login", {
            body: { user_id: "ada", password: PASSWORD },
          })),
      );
      assert.deepEqual(logins, Array(12).fill(200));
      const { token } = await loginOk({ url: `http://127.0.0.1:${port}` }, "ada");
      const mes: number[] = [];
      for (let i = 0; i < 12; i++) {
        mes.push(await statusOnNewConnection(port, "GET", "/me", { token }));
      }
      assert.deepEqual(mes, Array(12).fill(200));

      const status = await server.stop();
      stopped = true;
      assert.equal(status.code, 0, server.stderr());
      for (const pid of server.pids) assert.ok(!alive(pid), `process ${pid} stopped`);
    } finally {
      if (!stopped) await server.stop();
    }
  },
});

test("start:all-cores: a bad WEB_CONCURRENCY is one line and exit code 1", async () => {
  await using scratch = await scratchDir();
  const { env, args } = taskCommand("start:all-cores");
  const out = await new Deno.Command("deno", {
    args,
    cwd: scratch.path,
    env: { ...env, WEB_CONCURRENCY: "lots" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1);
  assert.equal(
    stderr.trim(),
    "Configuration error: WEB_CONCURRENCY must be a whole number from 1 to 999, not lots",
  );
});

test({
  name: "start:all-cores: a process that cannot start stops the whole, with its line, once",
  ignore: !LINUX,
  async fn() {
    await using scratch = await scratchDir();
    const { env, args } = taskCommand("start:all-cores");
    const out = await new Deno.Command("deno", {
      args,
      cwd: scratch.path,
      env: { ...env, WEB_CONCURRENCY: "2", PORT: String(freePort()), SECRET_KEY: "short" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.equal(stderr.match(/Configuration error: SECRET_KEY/g)?.length, 1, stderr);
    assert.match(stderr, /a server process exited by itself \(code 1\); stopping the others/);
  },
});
