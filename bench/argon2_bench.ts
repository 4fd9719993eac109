/**
 * argon2id at OWASP's minimum (m=19456 KiB, t=2, p=1) through the server's own hasher
 * (`createPasswordHasher` in src/crypto/passwords.ts, `@node-rs/argon2`). Iterations are fixed
 * because one hash costs tens of milliseconds.
 *
 * Needs the scoped `--allow-ffi` of the `bench` task and `NAPI_RS_NATIVE_LIBRARY_PATH`.
 *
 * @module
 */
import { createPasswordHasher, OWASP_MINIMUM } from "../src/crypto/passwords.ts";

const hasher = createPasswordHasher({ params: OWASP_MINIMUM });
const password = "correct horse battery staple";
const phc = await hasher.hash(password);
if (!(await hasher.verify(phc, password))) throw new Error("argon2id verify failed");

Deno.bench("argon2id hash (m=19456,t=2,p=1)", { group: "argon2id", n: 24, warmup: 2 }, async () => {
  await hasher.hash(password);
});

Deno.bench(
  "argon2id verify (m=19456,t=2,p=1)",
  { group: "argon2id", baseline: true, n: 24, warmup: 2 },
  async () => {
    await hasher.verify(phc, password);
  },
);
