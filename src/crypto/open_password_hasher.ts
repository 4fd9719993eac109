/**
 * The process's password hasher, on the backend `PASSWORD_HASHER` asks for. Used by the server
 * and the user CLI; with `native` and no loadable addon it prints one line and exits 1.
 *
 * @module
 */
import type { PasswordHasherChoice } from "./argon2_backend.ts";
import { createPasswordHasher, type PasswordHasher } from "./passwords.ts";
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
