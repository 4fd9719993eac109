import assert from "node:assert/strict";
import { parseDuration, parseRate } from "../../src/duration.ts";

Deno.test("parseDuration: units and bare seconds", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["1", 1],
    ["90", 90],
    ["15s", 15],
    ["30m", 1800],
    ["1h", 3600],
    ["12h", 43200],
    ["30d", 2592000],
    [" 5m ", 300],
    ["999999999", 999999999],
    ["999999999d", 999999999 * 86400],
  ];
  for (const [text, seconds] of cases) assert.equal(parseDuration(text), seconds, text);
});

Deno.test("parseDuration: anything else is undefined", () => {
  for (
    const text of [
      "",
      " ",
      "soon",
      "-1",
      "+1",
      "1.5",
      "1.5m",
      "1e3",
      "m",
      "5 m",
      "5M",
      "5w",
      "5ms",
      "1h30m",
      "0x10",
      "1234567890",
      "\u0661\u0662",
    ]
  ) {
    assert.equal(parseDuration(text), undefined, JSON.stringify(text));
  }
});

Deno.test("parseRate: count/duration", () => {
  assert.deepEqual(parseRate("10/15m"), { max: 10, windowSeconds: 900 });
  assert.deepEqual(parseRate("30/1m"), { max: 30, windowSeconds: 60 });
  assert.deepEqual(parseRate("1/1"), { max: 1, windowSeconds: 1 });
  assert.deepEqual(parseRate(" 5/1h "), { max: 5, windowSeconds: 3600 });
  assert.deepEqual(parseRate("100/1d"), { max: 100, windowSeconds: 86400 });
});

Deno.test("parseRate: malformed, zero count or zero window is undefined", () => {
  for (
    const text of [
      "",
      "10",
      "10/",
      "/15m",
      "0/15m",
      "10/0",
      "10/0m",
      "-1/15m",
      "10/-1m",
      "10/soon",
      "a/15m",
      "10//15m",
      "10/15m/1",
      "1.5/1m",
    ]
  ) {
    assert.equal(parseRate(text), undefined, JSON.stringify(text));
  }
});
