/**
 * How long a `deno task keys rotate` takes to reach two running servers on one KV file, with no
 * signal: from the CLI's exit to the new key in both JWKS. Also the switch delay: from a key's
 * `activates_at` to the first login token carrying it. Run:
 *
 *   NAPI_RS_NATIVE_LIBRARY_PATH=@node-rs/argon2-linux-x64-gnu deno run --allow-net --allow-env \
 *     --allow-read --allow-write --allow-run --allow-ffi bench/key_propagation.ts
 *
 * Servers listen on 127.0.0.1 and are stopped at the end. Prints medians of ROUNDS rounds.
 *
 * @module
 */
import { join } from "node:path";
import { freshDir, runTask, startServer } from "../tests/helpers/server_process.ts";

const ROUNDS = 7;
const env = {
  JWT_ALG: "EdDSA",
  BOOTSTRAP_PASSWORD: "correct horse battery",
  LOGIN_LIMIT_PER_CLIENT: "10000/1m",
  LOGIN_LIMIT_PER_ACCOUNT: "10000/1m",
};

async function kids(url: string): Promise<string[]> {
  const body = await (await fetch(`${url}/.well-known/jwks.json`)).json();
  return body.keys.map((k: { kid: string }) => k.kid);
}

async function signingKid(url: string): Promise<string> {
  const res = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: "admin", password: env.BOOTSTRAP_PASSWORD }),
  });
  const { token } = await res.json();
  return JSON.parse(atob(token.split(".")[0].replaceAll("-", "+").replaceAll("_", "/"))).kid;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const dir = await freshDir();
const first = await startServer({ dir, env });
const second = await startServer({ dir, env });
const seen: number[] = [];
const switched: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const before = new Set(await kids(first.url));
    const rotated = await runTask("keys", dir, ["rotate"], {
      env: { JWT_ALG: "EdDSA", KEY_PUBLISH_AHEAD: "2s" },
    });
    if (rotated.code !== 0) throw new Error(rotated.stderr);
    const done = performance.now();
    let newKid = "";
    for (const server of [first, second]) {
      for (;;) {
        const now = await kids(server.url);
        const added = now.find((k) => !before.has(k));
        if (added) {
          newKid = added;
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    seen.push(performance.now() - done);
    const jwks = await (await fetch(`${first.url}/.well-known/jwks.json`)).json();
    const activatesAt = Date.parse(
      jwks.keys.find((k: { kid: string }) => k.kid === newKid).activates_at,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, activatesAt - Date.now())));
    for (const server of [first, second]) {
      while (await signingKid(server.url) !== newKid) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    switched.push(Date.now() - activatesAt);
  }
} finally {
  await first.stop();
  await second.stop();
  await Deno.remove(join(dir), { recursive: true });
}
console.log(
  `rotate -> both JWKS list the key: median ${median(seen).toFixed(0)} ms ` +
    `(min ${Math.min(...seen).toFixed(0)}, max ${Math.max(...seen).toFixed(0)}, n=${ROUNDS})`,
);
console.log(
  `activates_at -> both sign with it: median ${median(switched)} ms ` +
    `(min ${Math.min(...switched)}, max ${Math.max(...switched)}, n=${ROUNDS})`,
);
