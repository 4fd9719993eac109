/**
 * Issue 24 item 5: password hashes run at most as many at once as there are cores (each holds
 * 19 MiB: this bounds the memory logins take), whatever the number of callers; the rest wait
 * their turn and all complete.
 */
import assert from "node:assert/strict";
import type { Argon2Backend } from "../../src/crypto/argon2_backend.ts";
import { createPasswordHasher } from "../../src/crypto/passwords.ts";

/** A backend that only counts how many of its calls are in flight at once. */
function countingBackend() {
  let inFlight = 0;
  const seen = { max: 0, calls: 0 };
  const work = async <T>(value: T): Promise<T> => {
    inFlight++;
    seen.calls++;
    seen.max = Math.max(seen.max, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight--;
    return value;
  };
  const backend: Argon2Backend = {
    name: "webcrypto",
    hash: () =>
      work("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA"),
    verify: () => work(true),
  };
  return { backend, seen };
}

Deno.test("hashes at once: the core count by default, however many callers", async () => {
  const cores = navigator.hardwareConcurrency;
  const { backend, seen } = countingBackend();
  const hasher = createPasswordHasher({ backend });
  const phc = await hasher.hash("correct horse battery");
  const callers = 4 * cores + 3;
  const results = await Promise.all(
    Array.from(
      { length: callers },
      (_, i) =>
        i % 2 === 0 ? hasher.verify(phc, "correct horse battery") : hasher.hash(`password ${i}`),
    ),
  );
  assert.equal(results.length, callers);
  assert.equal(seen.calls, callers + 2); // and the dummy hash, and the first hash
  assert.equal(seen.max, cores, `at most ${cores} at once, and the slots were all used`);
});

Deno.test("hashes at once: maxConcurrent when given", async () => {
  const { backend, seen } = countingBackend();
  const hasher = createPasswordHasher({ backend, maxConcurrent: 1 });
  await Promise.all(Array.from({ length: 6 }, (_, i) => hasher.hash(`password ${i}`)));
  assert.equal(seen.max, 1);
});
