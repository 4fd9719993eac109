import assert from "node:assert/strict";
import { parseArgon2idPhc } from "../../src/crypto/argon2_phc.ts";
import { webCryptoArgon2 } from "../../src/crypto/argon2_webcrypto.ts";
import { createPasswordHasher, OWASP_MINIMUM, parsePhcParams } from "../../src/crypto/passwords.ts";
import {
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  passwordProblem,
} from "../../src/users/user_rules.ts";

const hasher = createPasswordHasher();
const PASSWORD = "correct horse battery staple";

/** A hash made with weaker-than-OWASP parameters, as an old deployment might have stored. */
function weakHash(password: string): Promise<string> {
  return webCryptoArgon2.hash(password, { memoryCost: 4096, timeCost: 1, parallelism: 1 });
}

Deno.test("hash: argon2id PHC string with at least OWASP's parameters", async () => {
  const phc = await hasher.hash(PASSWORD);
  assert.match(phc, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  const params = parsePhcParams(phc);
  assert.ok(params);
  assert.ok(params.memoryCost >= 19456, `m=${params.memoryCost}`);
  assert.ok(params.timeCost >= 2, `t=${params.timeCost}`);
  assert.ok(params.parallelism >= 1, `p=${params.parallelism}`);
  assert.ok(!phc.includes(PASSWORD));
  const again = await hasher.hash(PASSWORD);
  assert.notEqual(again, phc, "a fresh salt each time");
});

Deno.test("verify: true for the password, false otherwise", async () => {
  const phc = await hasher.hash(PASSWORD);
  assert.equal(await hasher.verify(phc, PASSWORD), true);
  assert.equal(await hasher.verify(phc, PASSWORD + " "), false);
  assert.equal(await hasher.verify(phc, ""), false);
  assert.equal(await hasher.verify(phc, PASSWORD.toUpperCase()), false);
});

Deno.test("verify: unicode passwords round-trip", async () => {
  const phc = await hasher.hash("pässwörd-\u{1F511}");
  assert.equal(await hasher.verify(phc, "pässwörd-\u{1F511}"), true);
  assert.equal(await hasher.verify(phc, "passwort-\u{1F511}"), false);
});

Deno.test("verify: a malformed or foreign stored hash is false, never a throw", async () => {
  const good = await hasher.hash(PASSWORD);
  const malformed = [
    "",
    "not a hash",
    "$argon2id$",
    "$argon2id$v=19$m=19456,t=2,p=1$",
    "$argon2id$v=19$m=19456,t=2,p=1$!!!!$!!!!",
    good.slice(0, -10),
    good.replace("$argon2id$", "$argon2i$"),
    good.replace("$argon2id$", "$argon2d$"),
    "$2b$12$abcdefghijklmnopqrstuuWxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
    PASSWORD,
  ];
  for (const phc of malformed) {
    assert.equal(await hasher.verify(phc, PASSWORD), false, JSON.stringify(phc));
  }
});

Deno.test("verify: a weaker argon2id hash still verifies", async () => {
  const weak = await weakHash(PASSWORD);
  assert.equal(await hasher.verify(weak, PASSWORD), true);
  assert.equal(await hasher.verify(weak, "wrong password"), false);
});

Deno.test("verifyDummy: always false, even for the dummy's own input", async () => {
  assert.equal(await hasher.verifyDummy(PASSWORD), false);
  assert.equal(await hasher.verifyDummy(""), false);
});

Deno.test("needsRehash: weaker params yes, current params no, foreign strings yes", async () => {
  assert.equal(hasher.needsRehash(await weakHash(PASSWORD)), true);
  assert.equal(hasher.needsRehash(await hasher.hash(PASSWORD)), false);
  assert.equal(hasher.needsRehash("garbage"), true);
  assert.equal(hasher.needsRehash("$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA"), true);
  // Each parameter alone triggers it.
  const phc = (m: number, t: number, p: number) =>
    `$argon2id$v=19$m=${m},t=${t},p=${p}$c2FsdA$aGFzaA`;
  assert.equal(hasher.needsRehash(phc(19455, 2, 1)), true);
  assert.equal(hasher.needsRehash(phc(19456, 1, 1)), true);
  assert.equal(hasher.needsRehash(phc(19456, 2, 1)), false);
  assert.equal(hasher.needsRehash(phc(65536, 3, 4)), false, "stronger is fine");
});

Deno.test("needsRehash: judged against the hasher's own (raised) params", () => {
  const stronger = createPasswordHasher({
    params: { memoryCost: 65536, timeCost: 3, parallelism: 2 },
  });
  const phc = (m: number, t: number, p: number) =>
    `$argon2id$v=19$m=${m},t=${t},p=${p}$c2FsdA$aGFzaA`;
  assert.equal(stronger.needsRehash(phc(19456, 2, 1)), true);
  assert.equal(stronger.needsRehash(phc(65536, 3, 1)), true, "fewer lanes");
  assert.equal(stronger.needsRehash(phc(65536, 3, 2)), false);
});

Deno.test("createPasswordHasher: refuses parameters below OWASP's minimum", () => {
  const below = [
    { ...OWASP_MINIMUM, memoryCost: 19455 },
    { ...OWASP_MINIMUM, timeCost: 1 },
    { ...OWASP_MINIMUM, parallelism: 0 },
    { memoryCost: 4096, timeCost: 1, parallelism: 1 },
  ];
  for (const params of below) {
    assert.throws(() => createPasswordHasher({ params }), TypeError, JSON.stringify(params));
  }
  assert.doesNotThrow(() => createPasswordHasher({ params: OWASP_MINIMUM }));
  assert.throws(() => createPasswordHasher({ maxConcurrent: 0 }), TypeError);
});

Deno.test("OWASP_MINIMUM is m=19456, t=2, p=1 and frozen", () => {
  assert.deepEqual({ ...OWASP_MINIMUM }, { memoryCost: 19456, timeCost: 2, parallelism: 1 });
  assert.ok(Object.isFrozen(OWASP_MINIMUM));
});

Deno.test("parsePhcParams: argon2id only", () => {
  assert.deepEqual(parsePhcParams("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"), {
    memoryCost: 19456,
    timeCost: 2,
    parallelism: 1,
  });
  assert.equal(parsePhcParams("$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"), undefined);
  assert.equal(parsePhcParams("$argon2id$v=16$m=19456,t=2,p=1$c2FsdA$aGFzaA"), undefined);
  assert.equal(parsePhcParams("$argon2id$v=19$t=2,m=19456,p=1$c2FsdA$aGFzaA"), undefined);
  assert.equal(parsePhcParams(""), undefined);
});

Deno.test("passwordProblem: 8 to 1024 characters", () => {
  assert.equal(MIN_PASSWORD_LENGTH, 8);
  assert.equal(MAX_PASSWORD_LENGTH, 1024);
  assert.match(passwordProblem("") ?? "", /at least 8/);
  assert.match(passwordProblem("1234567") ?? "", /at least 8/);
  assert.equal(passwordProblem("12345678"), undefined);
  assert.equal(passwordProblem("x".repeat(1024)), undefined);
  assert.match(passwordProblem("x".repeat(1025)) ?? "", /at most 1024/);
});

Deno.test("hasher: concurrent hashes are bounded and all verify", async () => {
  const small = createPasswordHasher({ maxConcurrent: 2 });
  const passwords = Array.from({ length: 4 }, (_, i) => `password-${i}-xyz`);
  const hashes = await Promise.all(passwords.map((p) => small.hash(p)));
  const checks = await Promise.all(hashes.map((h, i) => small.verify(h, passwords[i]!)));
  assert.deepEqual(checks, [true, true, true, true]);
  assert.equal(await small.verify(hashes[0]!, passwords[1]!), false);
});

Deno.test("passwordProblem: a lone surrogate is refused (every backend hashes it as U+FFFD)", () => {
  for (
    const bad of ["lone \ud800 high", "lone \udc00 low", "ends high \ud83d", "\udfff starts low"]
  ) {
    assert.equal(passwordProblem(bad), "password must be valid Unicode", JSON.stringify(bad));
  }
  assert.equal(passwordProblem("a pair \ud83d\udd11 is fine"), undefined);
  assert.equal(passwordProblem("replacement \ufffd is a character"), undefined);
});

Deno.test("stored hash bounds: m <= 256 MiB, t <= 16, p <= 8; one past each is refused at once", async () => {
  const at = (m: number, t: number, p: number) =>
    `$argon2id$v=19$m=${m},t=${t},p=${p}$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g`;
  for (const phc of [at(262144, 2, 1), at(19456, 16, 1), at(19456, 2, 8), at(65536, 3, 4)]) {
    assert.ok(parseArgon2idPhc(phc), phc);
    assert.equal(hasher.accepts(phc), true, phc);
  }
  // 1 GiB at t=8 took the reviewer 10.7 s on the native backend; now refused before any work.
  for (const phc of [at(262145, 2, 1), at(1048576, 8, 1), at(19456, 17, 1), at(19456, 2, 9)]) {
    assert.equal(parseArgon2idPhc(phc), undefined, phc);
    assert.equal(hasher.accepts(phc), false, phc);
    const started = performance.now();
    assert.equal(await hasher.verify(phc, PASSWORD), false, phc);
    assert.ok(performance.now() - started < 50, `refused without hashing: ${phc}`);
  }
});

Deno.test("verify: a hash with other parameters holds its slot as long as a current verify", async () => {
  // Raised parameters: 4 passes. A hash stored at m=4096, t=1 costs about 1/19 of that.
  const raised = createPasswordHasher({
    params: { ...OWASP_MINIMUM, timeCost: 4 },
    maxConcurrent: 1,
  });
  const old = await weakHash(PASSWORD);
  const current = await raised.hash(PASSWORD);
  const time = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  // Per-round ratios, each round's pair back to back, alternating which goes first: a burst of
  // load from other processes (longer than a round) then scales both sides of one ratio
  // instead of landing on one case (a median of 5 per case failed under a mutation run's load).
  const samples = { old: [] as number[], current: [] as number[] };
  const ratios: number[] = [];
  for (let i = 0; i < 9; i++) {
    const pair = i % 2 === 0
      ? [
        await time(() => raised.verify(current, "wrong password")),
        await time(() => raised.verify(old, "wrong password")),
      ]
      : [
        await time(() => raised.verify(old, "wrong password")),
        await time(() => raised.verify(current, "wrong password")),
      ].reverse();
    samples.current.push(pair[0]!);
    samples.old.push(pair[1]!);
    ratios.push(pair[1]! / pair[0]!);
  }
  assert.equal(await raised.verify(old, PASSWORD), true, "still verifies");
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(ratios);
  assert.ok(
    ratio > 0.5 && ratio < 2,
    `old/current = ${ratio.toFixed(2)} ${JSON.stringify(samples)}`,
  );
});

Deno.test("verify: a backend that throws on a well-formed stored hash answers false, never true", async () => {
  const good = await hasher.hash(PASSWORD);
  const failing = createPasswordHasher({
    backend: {
      name: "webcrypto",
      hash: (password, params) => webCryptoArgon2.hash(password, params),
      verify: () => Promise.reject(new Error("backend failed")),
    },
  });
  assert.equal(failing.accepts(good), true, "the hash itself is fine");
  assert.equal(await failing.verify(good, PASSWORD), false);
  assert.equal(await failing.verify(good, "wrong password"), false);
});
