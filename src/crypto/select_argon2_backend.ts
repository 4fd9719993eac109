/**
 * `PASSWORD_HASHER`: which argon2id backend the process uses. `auto` takes the native addon when
 * it loads and Web Crypto otherwise; `native` refuses to start without the addon; `webcrypto`
 * never tries it.
 *
 * @module
 */
import { type Argon2Backend, BACKEND_LABELS, type PasswordHasherChoice } from "./argon2_backend.ts";
import { loadNativeArgon2, NativeArgon2Unavailable } from "./argon2_native.ts";
import { webCryptoArgon2 } from "./argon2_webcrypto.ts";

/** The chosen backend, and why the addon is not used when `auto` fell back. */
export interface SelectedBackend {
  readonly backend: Argon2Backend;
  readonly nativeUnavailable?: NativeArgon2Unavailable;
}

/**
 * Picks the backend for `choice`. Throws {@link NativeArgon2Unavailable} only for `native`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectArgon2Backend } from "./select_argon2_backend.ts";
 * const { backend } = await selectArgon2Backend("webcrypto");
 * assert(backend.name === "webcrypto");
 * ```
 */
export async function selectArgon2Backend(
  choice: PasswordHasherChoice,
  loadNative: () => Promise<Argon2Backend> = loadNativeArgon2,
): Promise<SelectedBackend> {
  if (choice === "webcrypto") return { backend: webCryptoArgon2 };
  try {
    return { backend: await loadNative() };
  } catch (err) {
    const reason = err instanceof NativeArgon2Unavailable
      ? err
      : new NativeArgon2Unavailable(String(err).slice(0, 200), false);
    if (choice === "native") throw reason;
    return { backend: webCryptoArgon2, nativeUnavailable: reason };
  }
}

/**
 * The start-up line's words for a selection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeBackend } from "./select_argon2_backend.ts";
 * import { webCryptoArgon2 } from "./argon2_webcrypto.ts";
 * assert(describeBackend({ backend: webCryptoArgon2 }) === "argon2id via Web Crypto");
 * ```
 */
export function describeBackend(selected: SelectedBackend): string {
  const label = `argon2id via ${BACKEND_LABELS[selected.backend.name]}`;
  const why = selected.nativeUnavailable;
  if (why === undefined) return label;
  return `${label}, native addon ${why.notPermitted ? "not permitted" : "not loaded"}`;
}
