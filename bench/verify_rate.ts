/**
 * The raw argon2id verify rate of a hasher: what `/login` is compared with.
 *
 * @module
 */
import type { PasswordHasher } from "../src/crypto/passwords.ts";

/**
 * Verifies through `hasher` (its parameters and its bound on concurrent hashes) with `callers`
 * requests in flight for `seconds`: the rate, and latency percentiles.
 */
export async function verifyRate(hasher: PasswordHasher, callers: number, seconds: number) {
  const password = "bench-password-0123456789";
  const phc = await hasher.hash(password);
  for (let i = 0; i < 4; i++) await hasher.verify(phc, password); // warm-up
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      if (!(await hasher.verify(phc, password))) throw new Error("argon2id verify failed");
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    rps: latencies.length / elapsed,
    verifies: latencies.length,
    seconds: elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    callers,
  };
}
