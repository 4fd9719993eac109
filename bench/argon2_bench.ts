/**
 * argon2id at OWASP's minimum (m=19456 KiB, t=2, p=1) through the server's own hasher
 * (`createPasswordHasher` in src/crypto/passwords.ts) on each backend: Web Crypto, and the
 * `@node-rs/argon2` addon where it loads. Iterations are fixed because one hash costs tens of
 * milliseconds.
 *
 * The native backend needs the `bench` task's `--allow-ffi=./node_modules`.
 *
 * @module
 */
import { loadNativeArgon2 } from "../src/crypto/argon2_native.ts";
import { webCryptoArgon2 } from "../src/crypto/argon2_webcrypto.ts";
import { createPasswordHasher, OWASP_MINIMUM } from "../src/crypto/passwords.ts";

const native = await loadNativeArgon2().catch(() => undefined);
const password = "correct horse battery staple";

for (const backend of native ? [native, webCryptoArgon2] : [webCryptoArgon2]) {
  const hasher = createPasswordHasher({ params: OWASP_MINIMUM, backend });
  const phc = await hasher.hash(password);
  if (!(await hasher.verify(phc, password))) throw new Error("argon2id verify failed");
  const group = `argon2id ${backend.name}`;

  Deno.bench(
    `argon2id hash, ${backend.name} (m=19456,t=2,p=1)`,
    { group, n: 24, warmup: 2 },
    async () => {
      await hasher.hash(password);
    },
  );

  Deno.bench(
    `argon2id verify, ${backend.name} (m=19456,t=2,p=1)`,
    { group, baseline: true, n: 24, warmup: 2 },
    async () => {
      await hasher.verify(phc, password);
    },
  );
}
