/**
 * The process's password hasher, on the backend `PASSWORD_HASHER` asks for. Used by the server
 * and the user CLI; with `native` and no loadable addon it prints one line and exits 1.
 *
 * @module
 */
import { parseArgon2idPhc } from "./argon2_phc.ts";
import type { PasswordHasherChoice } from "./argon2_backend.ts";
import {
  createPasswordHasher,
  OWASP_MINIMUM,
  type PasswordHasher,
  phcNeedsRehash,
} from "./passwords.ts";
import { describeBackend, selectArgon2Backend } from "./select_argon2_backend.ts";
import { NativeArgon2Unavailable } from "./argon2_native.ts";

/** The hasher and the words the start-up line uses for it. */
export interface OpenedHasher {
  readonly hasher: PasswordHasher;
  /** For example `argon2id via Web Crypto, native addon not permitted`. */
  readonly description: string;
}

/** Selects the backend and builds the hasher; exits 1 with one line if `native` cannot load. */
export async function openPasswordHasherOrExit(
  choice: PasswordHasherChoice,
): Promise<OpenedHasher> {
  try {
    const selected = await selectArgon2Backend(choice);
    return {
      hasher: createPasswordHasher({ backend: selected.backend }),
      description: describeBackend(selected),
    };
  } catch (err) {
    if (!(err instanceof NativeArgon2Unavailable)) throw err;
    console.error(
      `Configuration error: PASSWORD_HASHER is native but @node-rs/argon2 cannot load (${err.message}); ` +
        "set PASSWORD_HASHER=auto or webcrypto",
    );
    Deno.exit(1);
  }
}

/** A hasher opened off the start path; see {@link openPasswordHasherLater}. */
export interface DeferredHasher {
  /** Usable at once: every hashing call waits until the backend and the dummy hash are ready. */
  readonly hasher: PasswordHasher;
  /** Opens it now if nothing has yet; resolves with the start-up line's words. */
  open(): Promise<string>;
}

/**
 * The hasher for `choice`, opened on first use or on `open()` (the server calls it once its first
 * answer is out, or shortly after it listens: `openOnceSoon` in `server.ts`): loading the addon
 * (about 50 ms of synchronous JavaScript) and making the dummy hash are then off the path to the
 * first answer. Every call waits until the dummy hash exists, so even the first login for an
 * unknown user costs what a known user's does. `native` is loaded before this returns: a server
 * that cannot hash as configured must not start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openPasswordHasherLater } from "./open_password_hasher.ts";
 * const deferred = await openPasswordHasherLater("webcrypto");
 * const phc = await deferred.hasher.hash("correct horse battery");
 * assert(await deferred.hasher.verify(phc, "correct horse battery"));
 * assert.equal(await deferred.open(), "argon2id via Web Crypto");
 * ```
 */
export async function openPasswordHasherLater(
  choice: PasswordHasherChoice,
): Promise<DeferredHasher> {
  const early = choice === "native" ? await openPasswordHasherOrExit(choice) : undefined;
  let opened: Promise<OpenedHasher> | undefined;
  let ready: Promise<PasswordHasher> | undefined;
  let current: PasswordHasher | undefined;
  const open = () => opened ??= early ? Promise.resolve(early) : openPasswordHasherOrExit(choice);
  const whenReady = () =>
    ready ??= open().then(async ({ hasher }) => {
      await hasher.verifyDummy("warm-up"); // the dummy hash exists before any answer needs it
      return current = hasher;
    });
  const hasher: PasswordHasher = {
    get backend() {
      // Known once opened; until then the choice says what it will be, or auto's likelier pick.
      return current?.backend ?? early?.hasher.backend ??
        (choice === "webcrypto" ? "webcrypto" : "native");
    },
    hash: async (password) => (await whenReady()).hash(password),
    verify: async (phc, password) => (await whenReady()).verify(phc, password),
    verifyDummy: async (password) => (await whenReady()).verifyDummy(password),
    // These read only the PHC string: no need to wait for the backend.
    accepts: (phc) => parseArgon2idPhc(phc) !== undefined,
    needsRehash: (phc) => phcNeedsRehash(phc, OWASP_MINIMUM),
  };
  return {
    hasher,
    async open() {
      void whenReady().catch(() => {}); // a failure surfaces where a hash is awaited
      return (await open()).description;
    },
  };
}
