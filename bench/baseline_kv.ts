/**
 * Baseline B: `Deno.serve` making one Deno KV atomic commit per request on a KV file, shaped
 * like a refresh rotation's: read the posted JSON, then one commit of a versionstamp check and
 * a set (with expiry) of a record of about the size of a refresh token's, and a small JSON answer.
 *
 * Usage: deno run --allow-net=127.0.0.1 --allow-read=<dir> --allow-write=<dir>
 *          bench/baseline_kv.ts <port> <kv file>
 *
 * @module
 */
const port = Number(Deno.args[0]);
const path = Deno.args[1];
if (!Number.isInteger(port) || port <= 0 || !path) {
  throw new Error("usage: baseline_kv.ts <port> <kv file>");
}

const kv = await Deno.openKv(path);
const EXPIRE_MS = 30 * 86_400_000;

Deno.serve(
  {
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => console.error(`baseline_kv listening on 127.0.0.1:${port}`),
  },
  async (request) => {
    if (request.method === "POST") await request.text();
    const at = Date.now();
    const key = ["baseline", crypto.randomUUID()];
    const result = await kv.atomic()
      .check({ key, versionstamp: null })
      .set(key, {
        sid: crypto.randomUUID(),
        userId: "admin",
        issuedAt: at,
        expiresAt: at + EXPIRE_MS,
      }, { expireIn: EXPIRE_MS })
      .commit();
    return new Response(JSON.stringify({ ok: result.ok }), {
      status: result.ok ? 200 : 409,
      headers: { "content-type": "application/json" },
    });
  },
);
