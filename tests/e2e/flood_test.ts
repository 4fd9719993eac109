/**
 * A login flood cannot stall honest users. The real server, behind a trusted proxy
 * (`TRUST_PROXY=127.0.0.1`, clients told apart by `X-Forwarded-For`): `wrk -c256` floods
 * `/login` from one client address, guessing the honest user's password, for several seconds,
 * while the honest user signs in from another address with its device token. The honest median
 * latency under the flood must stay within 4x its idle median (same run, same machine), and no
 * answer may be a 5xx. Needs `wrk` on PATH (`.ci/run` installs it: `apt-get install -y wrk`); the
 * test task may run `deno`, `sh` and `wrk`, nothing else.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runWrk } from "../../bench/wrk.ts";
import { withServer } from "./support.ts";
import { needs, NET, READ, RUN_DENO, RUN_WRK, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO, RUN_WRK);

const PASSWORD = "flood test password 1";
const HONEST = "198.51.100.10";
const FLOODER = "203.0.113.66";
const SCRIPT = fileURLToPath(new URL("./flood.lua", import.meta.url));
const SAMPLES = 12;
const FLOOD_SECONDS = 8;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test("a wrk -c256 flood of /login from one client: honest median <= 4x idle, nothing 5xx", async () => {
  await requireWrk();
  await withServer({
    env: { TRUST_PROXY: "127.0.0.1", BOOTSTRAP_PASSWORD: PASSWORD, LOG_LEVEL: "warn" },
  }, async (server) => {
    let deviceToken: string | undefined;
    const honestLogin = async (): Promise<number> => {
      const started = performance.now();
      const res = await fetch(`${server.url}/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Forwarded-For": HONEST },
        body: JSON.stringify({
          user_id: "admin",
          password: PASSWORD,
          ...(deviceToken ? { device_token: deviceToken } : {}),
        }),
      });
      const elapsed = performance.now() - started;
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      deviceToken = body.device_token;
      return elapsed;
    };
    await honestLogin(); // warm-up, and the device token
    const idle: number[] = [];
    for (let i = 0; i < SAMPLES; i++) idle.push(await honestLogin());

    const flood = runWrk("wrk", {
      url: server.url,
      threads: 2,
      connections: 256,
      seconds: FLOOD_SECONDS,
      script: SCRIPT,
      headers: [`X-Forwarded-For: ${FLOODER}`],
      env: { FLOOD_BODY: JSON.stringify({ user_id: "admin", password: "a wrong guess" }) },
    });
    await new Promise((r) => setTimeout(r, 1500)); // the flood at full speed
    const flooded: number[] = [];
    for (let i = 0; i < SAMPLES; i++) flooded.push(await honestLogin());
    const result = await flood;

    const counts = /FLOOD_STATUS 2xx=(\d+) 4xx=(\d+) 429=(\d+) 5xx=(\d+) other=(\d+)/.exec(
      result.output,
    );
    assert.ok(counts, result.output);
    const [, ok, client, limited, serverErrors] = counts.map(Number);
    const figures =
      `idle median ${median(idle).toFixed(1)} ms, under flood ${median(flooded).toFixed(1)} ms (${
        (median(flooded) / median(idle)).toFixed(2)
      }x); flood ${result.rps.toFixed(0)} rps, ` +
      `${result.requests} requests: 2xx ${ok}, 4xx ${client} (429 ${limited}), 5xx ${serverErrors}`;
    console.error(`[flood] ${figures}`);
    assert.equal(serverErrors, 0, figures);
    assert.equal(ok, 0, `the flood guessed wrong every time: ${figures}`);
    assert.ok(result.requests > 1000, `a real flood: ${figures}`);
    assert.ok(median(flooded) <= 4 * median(idle), figures);
    assert.equal(result.socketErrors, undefined, `wrk socket errors: ${result.socketErrors}`);
  });
});

/** Fails with the fix when wrk is missing (rather than skipping: a skipped test proves nothing). */
async function requireWrk(): Promise<void> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error("this test needs wrk on PATH: apt-get update && apt-get install -y wrk");
    }
    throw err;
  }
}
