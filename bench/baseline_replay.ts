/**
 * Baseline C: a bare `Deno.serve` answering, for every request, exactly the bytes the real
 * server's `GET /me` answers (status, headers, body), recorded by bench/run.ts. It measures what
 * the answer itself costs the HTTP layer, with no application code at all.
 * Usage: deno run --allow-net=127.0.0.1 --allow-read=<file> bench/baseline_replay.ts <port> <file>
 *
 * @module
 */
const port = Number(Deno.args[0]);
const file = Deno.args[1];
if (!Number.isInteger(port) || port <= 0 || !file) {
  throw new Error("usage: baseline_replay.ts <port> <recorded-answer.json>");
}
const recorded: { status: number; headers: [string, string][]; body: string } = JSON.parse(
  await Deno.readTextFile(file),
);
// Headers the HTTP layer writes itself are left to it, as for the real server.
const headers = recorded.headers.filter(([name]) => !["content-length", "date"].includes(name));

Deno.serve(
  {
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => console.error(`baseline_replay listening on 127.0.0.1:${port}`),
  },
  () => new Response(recorded.body, { status: recorded.status, headers }),
);
