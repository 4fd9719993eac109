/**
 * Timing parity of failed logins. Not a speed target: a relative check that an unknown user, a
 * wrong password and a disabled user each cost about one argon2id verify. A missing dummy hash
 * makes the unknown-user case ~50x cheaper and fails this at once. A locked account is the
 * exception, on purpose: its 429 already says it is locked, and a refusal must cost no hash (a
 * flood of refused guesses must not buy the attacker CPU), so it is checked to be much cheaper.
 * The same holds after the hashing parameters are raised, for accounts still on old hashes and
 * for a stored hash that cannot be used. Each case is timed in interleaved rounds and judged by
 * its median ratio to the reference case in the same round: the suite shares 2 cores with others.
 */
import assert from "node:assert/strict";
import { loadNativeArgon2 } from "../../src/crypto/argon2_native.ts";
import { webCryptoArgon2 } from "../../src/crypto/argon2_webcrypto.ts";
import {
  createPasswordHasher,
  OWASP_MINIMUM,
  type PasswordHasher,
} from "../../src/crypto/passwords.ts";
import type { Argon2Backend } from "../../src/crypto/argon2_backend.ts";
import { addUser, makeApp } from "../helpers/app.ts";
import { ENV, FFI, lacking, needs } from "../helpers/permissions.ts";

/** The addon reads the environment and loads through FFI: tried only when the run grants both. */
const ADDON = [ENV, FFI];
const native: Argon2Backend | Error | undefined = lacking(ADDON).length > 0
  ? undefined // the native cases are skipped below, their names saying the flags
  : await loadNativeArgon2().catch((err: Error) => err);
/**
 * The server's allocator setting (the `start` and `test` tasks set it). Without it glibc reuses a
 * freed hash's 19 MiB on some threads and maps fresh memory on others, so one argon2id run costs
 * about 50 ms and the next 110 ms whatever it checks: the cases would differ by the thread they
 * land on, not by what the server does (seen as 0.48 and 2.04 ratios in full runs).
 */
const MMAP_THRESHOLD = "MALLOC_MMAP_THRESHOLD_";
const allocatorAsServed = Deno.build.os !== "linux" ||
  (Deno.permissions.querySync({ name: "env", variable: MMAP_THRESHOLD }).state === "granted" &&
    Deno.env.get(MMAP_THRESHOLD) === "131072");
for (const backend of [webCryptoArgon2, native]) {
  const test = backend === webCryptoArgon2 ? Deno.test : needs(...ADDON);
  const unusable = backend === undefined || backend instanceof Error || !allocatorAsServed;
  const label = backend === undefined || backend instanceof Error ? "native" : backend.name;
  const skipped = backend instanceof Error
    ? ` (skipped: the native addon does not load here: ${backend.message})`
    : !allocatorAsServed && backend !== undefined
    ? ` (skipped: needs ${MMAP_THRESHOLD}=131072, the server's setting; deno task test sets it)`
    : "";
  test({
    name: `failed logins cost the same whatever the reason (${label})${skipped}`,
    ignore: unusable,
    fn: () => {
      if (unusable) return;
      return checkTimingParity(createPasswordHasher({ backend }));
    },
  });
  test({
    name: `failed logins cost the same after the parameters are raised (${label})${skipped}`,
    ignore: unusable,
    fn: () => {
      if (unusable) return;
      return checkParityAfterRaise(backend);
    },
  });
}

/**
 * After a raise to t=4, users not seen since keep the hashes of an old deployment (m=4096, t=1:
 * about 1/19 of the work) until they next log in. A wrong password for one of them must still
 * cost what an unknown user costs (a dummy at the new parameters), and so must a user whose
 * stored hash cannot be used at all.
 */
async function checkParityAfterRaise(backend: Argon2Backend) {
  const raised = createPasswordHasher({ backend, params: { ...OWASP_MINIMUM, timeCost: 4 } });
  using t = await makeApp(
    { LOGIN_LIMIT_PER_ACCOUNT: "1000/1m", LOGIN_LIMIT_PER_CLIENT: "100000/1m" },
    undefined,
    undefined,
    raised,
  );
  const password = "correct horse battery";
  for (const userId of ["current", "legacy", "corrupt"]) await addUser(t, userId, password);
  const replaceHash = async (userId: string, passwordHash: string) => {
    const found = (await t.stores.users.getUser(userId))!;
    await t.stores.users.updateUser({ ...found.value, passwordHash }, found.versionstamp);
  };
  await replaceHash(
    "legacy",
    await backend.hash(password, { memoryCost: 4096, timeCost: 1, parallelism: 1 }),
  );
  await replaceHash("corrupt", "$argon2id$v=19$m=19456,t=2,p=1$not-base64$!");

  const { ratios, medians } = await interleavedRatios(
    ["unknown", "current", "legacy", "corrupt"],
    "current",
    {
      async run(name) {
        const userId = name === "unknown" ? "nobody" : name;
        const res = await t.post("/login", { user_id: userId, password: "not the password" });
        assert.equal(res.status, 401, name);
        await res.body?.cancel();
      },
    },
  );
  for (const name of ["unknown", "legacy", "corrupt"]) {
    const ratio = ratios[name]!;
    assert.ok(
      ratio > 0.5 && ratio < 2,
      `${name}/current = ${ratio.toFixed(2)} (${JSON.stringify(medians)})`,
    );
  }
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
  const { ratios, medians } = await interleavedRatios(Object.keys(cases), "wrong", {
    async beforeRound() {
      // A fresh limit window each round: only "locked" is over its limit.
      t.clock.advance(900);
      for (let i = 0; i < 3; i++) {
        await (await t.post("/login", { user_id: "locked", password: "nope nope" })).body?.cancel();
      }
    },
    async run(name) {
      const c = cases[name as keyof typeof cases];
      const res = await t.post("/login", { user_id: c.user_id, password: c.password });
      assert.equal(res.status, c.status, name);
      await res.body?.cancel();
    },
  });
  for (const name of ["unknown", "disabled"]) {
    const ratio = ratios[name]!;
    assert.ok(
      ratio > 0.5 && ratio < 2,
      `${name}/wrong = ${ratio.toFixed(2)} (${JSON.stringify(medians)})`,
    );
  }
  assert.ok(
    ratios.locked! < 1 / 3,
    `a refusal checks no password: locked/wrong = ${ratios.locked} (${JSON.stringify(medians)})`,
  );
}

/**
 * Times `run` for every case in each of 15 rounds, after a warm-up round. Interleaved, each
 * round starting one case later; each case is judged by the median over rounds of its time
 * divided by `reference`'s time in the same round, so a burst of load from the other suites on
 * the machine (it lasts longer than a round) cancels out instead of landing on one case.
 * Returns those median ratios, and the per-case medians (ms) for messages.
 */
async function interleavedRatios(
  cases: readonly string[],
  reference: string,
  steps: { beforeRound?: () => Promise<void>; run: (name: string) => Promise<void> },
): Promise<{ ratios: Record<string, number>; medians: Record<string, number> }> {
  const samples: Record<string, number[]> = Object.fromEntries(cases.map((name) => [name, []]));
  for (let round = 0; round <= 15; round++) {
    await steps.beforeRound?.();
    for (let i = 0; i < cases.length; i++) {
      const name = cases[(round + i) % cases.length]!;
      const started = performance.now();
      await steps.run(name);
      if (round > 0) samples[name]!.push(performance.now() - started);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const perCase = <T>(f: (xs: number[]) => T) =>
    Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, f(xs)]));
  const ref = samples[reference]!;
  return {
    ratios: perCase((xs) => median(xs.map((x, round) => x / ref[round]!))),
    medians: perCase((xs) => Math.round(median(xs) * 10) / 10),
  };
}
