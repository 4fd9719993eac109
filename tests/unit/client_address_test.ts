import assert from "node:assert/strict";
import { clientAddress, isTrusted, parseTrustedProxies } from "../../src/client_address.ts";

function trusted(text: string) {
  const parsed = parseTrustedProxies(text);
  assert.ok(parsed, `${text} parses`);
  return parsed;
}

Deno.test("parseTrustedProxies: valid lists", () => {
  assert.deepEqual(trusted("").ranges, []);
  assert.deepEqual(trusted(" , ").ranges, []);
  assert.equal(trusted("127.0.0.1").ranges.length, 1);
  assert.equal(trusted("10.0.0.0/8, 192.168.0.0/16 ,::1, fd00::/8").ranges.length, 4);
  assert.equal(trusted("0.0.0.0/0").ranges.length, 1);
  assert.equal(trusted("::/0").ranges.length, 1);
  assert.equal(trusted("2001:db8::/32").ranges.length, 1);
  assert.equal(trusted("::ffff:10.0.0.1").ranges.length, 1);
  assert.equal(trusted("1:2:3:4:5:6:7:8").ranges.length, 1);
  assert.equal(trusted("1:2:3:4:5:6:1.2.3.4").ranges.length, 1);
});

Deno.test("parseTrustedProxies: malformed entries make the whole list undefined", () => {
  for (
    const text of [
      "not-an-ip",
      "localhost",
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.-4",
      "10.0.0.0/33",
      "10.0.0.0/",
      "10.0.0.0/x",
      "10.0.0.0/-1",
      "10.0.0.0/8/8",
      "::1/129",
      "1::2::3",
      ":::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "12345::1",
      "g::1",
      "fe80::1%eth0",
      "::1.2.3",
      "1.2.3.4, bogus",
      "[::1]",
      "1.2.3.4:80",
    ]
  ) {
    assert.equal(parseTrustedProxies(text), undefined, text);
  }
});

Deno.test("parseTrustedProxies: an IPv4 dotted quad is only allowed as the last 32 bits", () => {
  // RFC 4291 2.2: the dotted-quad form may only end an IPv6 address.
  for (const text of ["1.2.3.4::", "1.2.3.4::1", "::1.2.3.4:1"]) {
    assert.equal(parseTrustedProxies(text), undefined, text);
  }
});

Deno.test("isTrusted: exact addresses and CIDR ranges", () => {
  const t = trusted("10.0.0.0/8, 192.168.1.7, 2001:db8::/32, ::1");
  assert.equal(isTrusted(t, "10.0.0.1"), true);
  assert.equal(isTrusted(t, "10.255.255.255"), true);
  assert.equal(isTrusted(t, "11.0.0.1"), false);
  assert.equal(isTrusted(t, "9.255.255.255"), false);
  assert.equal(isTrusted(t, "192.168.1.7"), true);
  assert.equal(isTrusted(t, "192.168.1.8"), false);
  assert.equal(isTrusted(t, "2001:db8::1"), true);
  assert.equal(isTrusted(t, "2001:DB8:ffff::1"), true);
  assert.equal(isTrusted(t, "2001:db9::1"), false);
  assert.equal(isTrusted(t, "::1"), true);
  assert.equal(isTrusted(t, "0:0:0:0:0:0:0:1"), true, "uncompressed form of ::1");
  assert.equal(isTrusted(t, "::2"), false);
  assert.equal(isTrusted(t, "garbage"), false);
  assert.equal(isTrusted(t, ""), false);
});

Deno.test("isTrusted: a range's host bits are ignored; /0 matches its family only", () => {
  const t = trusted("10.1.2.3/8");
  assert.equal(isTrusted(t, "10.200.0.1"), true);
  const v4all = trusted("0.0.0.0/0");
  assert.equal(isTrusted(v4all, "203.0.113.9"), true);
  assert.equal(isTrusted(v4all, "2001:db8::1"), false);
  const v6all = trusted("::/0");
  assert.equal(isTrusted(v6all, "2001:db8::1"), true);
  assert.equal(isTrusted(v6all, "203.0.113.9"), false);
});

Deno.test("isTrusted: IPv4-mapped IPv6 peers match IPv4 ranges", () => {
  const t = trusted("127.0.0.1, 10.0.0.0/8");
  assert.equal(isTrusted(t, "::ffff:127.0.0.1"), true);
  assert.equal(isTrusted(t, "::FFFF:10.9.8.7"), true);
  assert.equal(isTrusted(t, "::ffff:11.0.0.1"), false);
  const mapped = trusted("::ffff:127.0.0.1");
  assert.equal(isTrusted(mapped, "127.0.0.1"), true);
});

Deno.test("clientAddress: X-Forwarded-For is ignored unless the peer is trusted", () => {
  const none = trusted("");
  assert.equal(clientAddress("203.0.113.9", "1.2.3.4", none), "203.0.113.9");
  const proxy = trusted("127.0.0.1");
  assert.equal(clientAddress("203.0.113.9", "1.2.3.4", proxy), "203.0.113.9");
  assert.equal(clientAddress("127.0.0.2", "1.2.3.4", proxy), "127.0.0.2");
  assert.equal(clientAddress("127.0.0.1", "1.2.3.4", proxy), "1.2.3.4");
});

Deno.test("clientAddress: a trusted peer without the header is the client", () => {
  const proxy = trusted("127.0.0.1");
  assert.equal(clientAddress("127.0.0.1", undefined, proxy), "127.0.0.1");
  assert.equal(clientAddress("127.0.0.1", "", proxy), "127.0.0.1");
});

Deno.test("clientAddress: the right-most untrusted hop wins (forged left hops ignored)", () => {
  const proxies = trusted("10.0.0.0/8");
  // The client forged "6.6.6.6"; its real address was appended by the first trusted proxy.
  assert.equal(
    clientAddress("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2", proxies),
    "198.51.100.7",
  );
  assert.equal(clientAddress("10.0.0.1", "6.6.6.6,198.51.100.7", proxies), "198.51.100.7");
  // Every hop is a trusted proxy: the left-most is the best guess.
  assert.equal(clientAddress("10.0.0.1", "10.0.0.9, 10.0.0.2", proxies), "10.0.0.9");
});

Deno.test("clientAddress: a malformed hop makes the proxy's header untrusted", () => {
  const proxies = trusted("10.0.0.0/8");
  for (
    const header of [
      "garbage",
      "198.51.100.7, garbage",
      "198.51.100.7, , 10.0.0.2",
      "198.51.100.7:port", // ip:port and [v6]:port are read (issue 23): proxy_hop_forms_test
      "unknown",
      "[2001:db8::1",
      ",",
    ]
  ) {
    assert.equal(clientAddress("10.0.0.1", header, proxies), "10.0.0.1", header);
  }
  // A malformed hop left of the right-most untrusted hop is never reached.
  assert.equal(clientAddress("10.0.0.1", "garbage, 198.51.100.7", proxies), "198.51.100.7");
});

Deno.test("clientAddress: IPv6 hops are lower-cased; IPv4-mapped hops become IPv4", () => {
  const proxies = trusted("::1, 10.0.0.0/8");
  assert.equal(clientAddress("::1", "2001:DB8::A", proxies), "2001:db8::a");
  assert.equal(clientAddress("::1", "::FFFF:198.51.100.7", proxies), "198.51.100.7");
  assert.equal(clientAddress("::ffff:10.0.0.1", "198.51.100.7", proxies), "198.51.100.7");
  // A mapped trusted hop is skipped like its IPv4 form.
  assert.equal(
    clientAddress("10.0.0.1", "198.51.100.7, ::ffff:10.0.0.3", proxies),
    "198.51.100.7",
  );
});
