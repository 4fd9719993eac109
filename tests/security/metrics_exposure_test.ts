/**
 * Issue 23 item 9: /metrics is not open to the network by default. A server listening beyond
 * loopback (HOST=0.0.0.0, the default) serves it only with a METRICS_TOKEN of at least 32 bytes;
 * without one it answers 403 saying how to enable it. On loopback it stays as before.
 */
import assert from "node:assert/strict";
import { metricsAccess } from "../../src/routes/metrics.ts";
import { makeApp } from "../helpers/app.ts";

const STRONG = "m".repeat(32);

Deno.test("beyond loopback without a token, /metrics is refused and says what to set", async () => {
  for (const host of ["0.0.0.0", "::", "192.0.2.10"]) {
    using t = await makeApp({ HOST: host });
    const res = await t.request("/metrics");
    assert.equal(res.status, 403, host);
    const body = await res.json();
    assert.equal(body.code, "metrics_token_required");
    assert.match(body.error, /METRICS_TOKEN/);
    assert.ok(!(await t.request("/metrics")).headers.get("content-type")?.includes("text/plain"));
  }
});

Deno.test("beyond loopback, a short token does not open /metrics; a 32-byte one does", async () => {
  {
    using t = await makeApp({ HOST: "0.0.0.0", METRICS_TOKEN: "short-token" });
    const res = await t.request("/metrics", { headers: { Authorization: "Bearer short-token" } });
    assert.equal(res.status, 403);
  }
  using t = await makeApp({ HOST: "0.0.0.0", METRICS_TOKEN: STRONG });
  assert.equal((await t.request("/metrics")).status, 401);
  const ok = await t.request("/metrics", { headers: { Authorization: `Bearer ${STRONG}` } });
  assert.equal(ok.status, 200);
});

Deno.test("on loopback /metrics is as before: open, or behind any METRICS_TOKEN", async () => {
  for (const host of ["127.0.0.1", "::1", "localhost", "127.0.0.2"]) {
    using t = await makeApp({ HOST: host });
    assert.equal((await t.request("/metrics")).status, 200, host);
  }
});

Deno.test("metricsAccess: the rule in one place", () => {
  assert.equal(metricsAccess("127.0.0.1", undefined), "open");
  assert.equal(metricsAccess("127.0.0.1", "x"), "token");
  assert.equal(metricsAccess("0.0.0.0", undefined), "refused");
  assert.equal(metricsAccess("0.0.0.0", "x".repeat(31)), "refused");
  assert.equal(metricsAccess("0.0.0.0", "é".repeat(16)), "token"); // 32 bytes in UTF-8
  assert.equal(metricsAccess("::ffff:127.0.0.1", undefined), "open");
});
