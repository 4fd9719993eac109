/**
 * Issue 23 item 3: some load balancers write the client hop of X-Forwarded-For as `ip:port`,
 * `[v6]` or `[v6]:port`. Those name the client as a bare address does; a hop that still does
 * not parse puts the request on the proxy's own address, and says so once.
 */
import assert from "node:assert/strict";
import { clientAddress, parseTrustedProxies } from "../../src/client_address.ts";
import { makeApp } from "../helpers/app.ts";

const proxy = parseTrustedProxies("10.0.0.0/8")!;

Deno.test("a trusted proxy's ip:port, [v6] and [v6]:port hops name the client", () => {
  const cases: [string, string][] = [
    ["203.0.113.9:5555", "203.0.113.9"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["[2001:DB8::1]:443", "2001:db8::1"],
    ["198.51.100.7:80, 10.0.0.2:3000", "198.51.100.7"],
    ["[::ffff:192.0.2.5]:1", "192.0.2.5"],
  ];
  for (const [header, client] of cases) {
    assert.equal(clientAddress("10.0.0.1", header, proxy), client, header);
  }
  // A bare IPv6 address keeps its colons (no port is read from it).
  assert.equal(clientAddress("10.0.0.1", "2001:db8::1", proxy), "2001:db8::1");
});

Deno.test("what still does not parse falls back to the peer, and is reported once", () => {
  const seen: string[] = [];
  const report = (hop: string) => seen.push(hop);
  for (const header of ["203.0.113.9:port", "[2001:db8::1", "host.example:80", "1.2.3.4:99999"]) {
    assert.equal(clientAddress("10.0.0.1", header, proxy, report), "10.0.0.1", header);
  }
  assert.equal(seen.length, 4);
  // An untrusted peer's header is never read, so never reported.
  assert.equal(clientAddress("192.0.2.1", "junk", proxy, report), "192.0.2.1");
  assert.equal(seen.length, 4);
});

Deno.test("behind a proxy writing ip:port, each client has its own login budget", async () => {
  using t = await makeApp({ LOGIN_LIMIT_PER_CLIENT: "2/1m", TRUST_PROXY: "10.0.0.0/8" });
  const from = (hop: string) =>
    t.post(
      "/login",
      { user_id: "x", password: "whatever1" },
      { "X-Forwarded-For": hop },
      "10.1.1.1",
    );
  assert.equal((await from("203.0.113.7:1111")).status, 401);
  assert.equal((await from("203.0.113.7:2222")).status, 401);
  assert.equal((await from("203.0.113.7:3333")).status, 429, "one client, whatever its port");
  assert.equal((await from("203.0.113.8:1111")).status, 401, "another client is not affected");
  assert.equal((await from("[2001:db8::7]:1")).status, 401);
});

Deno.test("the server warns once about a hop it cannot read from a trusted proxy", async () => {
  using t = await makeApp({ TRUST_PROXY: "10.0.0.0/8" });
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    for (let i = 0; i < 3; i++) {
      await t.post("/login", { user_id: "x", password: "whatever1" }, {
        "X-Forwarded-For": "client.example\u001b[31m",
      }, "10.1.1.1");
    }
  } finally {
    console.error = original;
  }
  const warnings = lines.filter((line) => line.includes("X-Forwarded-For"));
  assert.equal(warnings.length, 1, lines.join("\n"));
  assert.match(warnings[0]!, /TRUST_PROXY/);
  assert.ok(!warnings[0]!.includes("\u001b"), "no control character reaches the log");
});
