/**
 * Timing parity of failed logins. Not a speed target: a relative check that an unknown user, a
 * wrong password and a disabled user each cost about one argon2id verify. A missing dummy hash
 * makes the unknown-user case ~50x cheaper and fails this at once. A locked account is the
 * exception, on purpose: its 429 already says it is locked, and a refusal must cost no hash (a
 * flood of refused guesses must not buy the attacker CPU), so it is checked to be much cheaper.
 */
import assert from "node:assert/strict";
import { loadNativeArgon2 } from "../../src/crypto/argon2_native.ts";
import { webCryptoArgon2 } from "../../src/crypto/argon2_webcrypto.ts";
import { createPasswordHasher, type PasswordHasher } from "../../src/crypto/passwords.ts";
import type { Argon2Backend } from "../../src/crypto/argon2_backend.ts";
import { addUser, makeApp } from "../helpers/app.ts";

const native: Argon2Backend | Error = await loadNativeArgon2().catch((err: Error) => err);
for (const backend of [webCryptoArgon2, native]) {
  const skipped = backend instanceof Error
    ? ` (skipped: the native addon does not load here: ${backend.message})`
    : "";
  Deno.test({
    name: `failed logins cost the same whatever the reason (${
      backend instanceof Error ? "native" : backend.name
    })${skipped}`,
    ignore: backend instanceof Error,
    fn: () => {
      if (backend instanceof Error) return;
      return checkTimingParity(createPasswordHasher({ backend }));
    },
  });
}

async function checkTimingParity(hasher: PasswordHasher) {
  using t = await makeApp(
    {
      LOGIN_LIMIT_PER_ACCOUNT: "3/15m",
      LOGIN_LIMIT_PER_CLIENT: "100000/1m",
    },
    undefined,
    undefined,
    hasher,
  );
  await addUser(t, "ada", "correct horse battery");
  await addUser(t, "off", "correct horse battery");
  await t.services.users.update("off", { disabled: true });
  await addUser(t, "locked", "correct horse battery");

  const cases = {
    unknown: { user_id: "nobody", password: "correct horse battery", status: 401 },
    wrong: { user_id: "ada", password: "not the password", status: 401 },
    disabled: { user_id: "off", password: "correct horse battery", status: 401 },
    locked: { user_id: "locked", password: "correct horse battery", status: 429 },
  };
  const samples: Record<string, number[]> = { unknown: [], wrong: [], disabled: [], locked: [] };
  for (let round = 0; round < 7; round++) {
    // A fresh limit window each round: only "locked" is over its limit.
    t.clock.advance(900);
    for (let i = 0; i < 3; i++) {
      await t.post("/login", { user_id: "locked", password: "nope nope" });
    }
    for (const [name, c] of Object.entries(cases)) {
      const started = performance.now();
      const res = await t.post("/login", { user_id: c.user_id, password: c.password });
      samples[name]!.push(performance.now() - started);
      assert.equal(res.status, c.status, name);
      await res.body?.cancel();
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const medians = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  for (const name of ["unknown", "disabled"]) {
    const ratio = medians[name]! / medians.wrong!;
    assert.ok(
      ratio > 0.5 && ratio < 2,
      `${name}/wrong = ${ratio.toFixed(2)} (${JSON.stringify(medians)})`,
    );
  }
  assert.ok(
    medians.locked! < medians.wrong! / 3,
    `a refusal checks no password: locked/wrong = ${medians.locked! / medians.wrong!}`,
  );
}
