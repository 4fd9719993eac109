import assert from "node:assert/strict";
import { openPasswordHasherLater } from "../../src/crypto/open_password_hasher.ts";

Deno.test("deferred hasher: usable before open(), one backend, the dummy made before any answer", async () => {
  const deferred = await openPasswordHasherLater("webcrypto");
  // needsRehash reads only the string: it answers before anything is opened.
  assert.equal(
    deferred.hasher.needsRehash("$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQ$aGFzaA"),
    true,
  );
  assert.equal(deferred.hasher.backend, "webcrypto");
  // The first call opens it; an unknown user's first login waits for the dummy like any other.
  assert.equal(await deferred.hasher.verifyDummy("correct horse battery"), false);
  const phc = await deferred.hasher.hash("correct horse battery");
  assert.match(phc, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.equal(await deferred.hasher.verify(phc, "correct horse battery"), true);
  assert.equal(await deferred.hasher.verify(phc, "wrong"), false);
  assert.equal(deferred.hasher.needsRehash(phc), false);
  // open() after use opens nothing new and names the backend for the start-up line.
  assert.equal(await deferred.open(), "argon2id via Web Crypto");
  assert.equal(await deferred.open(), "argon2id via Web Crypto");
});
