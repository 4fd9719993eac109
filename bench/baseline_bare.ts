/**
 * Baseline A: a bare `Deno.serve` answering a small JSON body; the machine's HTTP ceiling.
 * Usage: deno run --allow-net=127.0.0.1 bench/baseline_bare.ts <port>
 *
 * @module
 */
const port = Number(Deno.args[0]);
if (!Number.isInteger(port) || port <= 0) throw new Error("usage: baseline_bare.ts <port>");

const body = JSON.stringify({ ok: true, service: "baseline" });
Deno.serve(
  {
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => console.error(`baseline_bare listening on 127.0.0.1:${port}`),
  },
  () => new Response(body, { headers: { "content-type": "application/json" } }),
);
