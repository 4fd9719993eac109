/**
 * Argon2id through `@node-rs/argon2`, a native addon: about 3x faster than Web Crypto here, but
 * only where a binding for the platform is installed, loads, and `--allow-ffi` covers it.
 *
 * The package's loader picks the binding by platform; on Linux it first tells glibc from musl by
 * reading `/usr/bin/ldd`, then (if that fails) `process.report` (needs `--allow-sys`), then
 * `ldd --version` (needs `--allow-run`). With `--no-prompt` every probe it is not granted fails
 * instead of asking, and this module reports the addon as unavailable.
 *
 * @module
 */
import type { Argon2Backend } from "./argon2_backend.ts";
import type { Argon2Params } from "./argon2_phc.ts";

/** The addon did not load; `message` is one line saying why. */
export class NativeArgon2Unavailable extends Error {
  /** True when a Deno permission (not a missing or broken binding) stopped it. */
  readonly notPermitted: boolean;
  constructor(message: string, notPermitted: boolean) {
    super(message);
    this.name = "NativeArgon2Unavailable";
    this.notPermitted = notPermitted;
  }
}

/**
 * Loads the addon and checks it on a tiny hash; throws {@link NativeArgon2Unavailable} when it
 * cannot be used.
 *
 * @example
 * ```ts ignore
 * import { loadNativeArgon2 } from "./argon2_native.ts";
 * const native = await loadNativeArgon2(); // needs --allow-ffi on node_modules
 * console.log(native.name);
 * ```
 */
export async function loadNativeArgon2(): Promise<Argon2Backend> {
  let addon: typeof import("@node-rs/argon2");
  try {
    addon = await import("@node-rs/argon2");
    // A binding that loads but does not work (wrong libc, truncated file) fails here, not at
    // the first login.
    await addon.hashRaw("probe", { memoryCost: 8, timeCost: 1, salt: new Uint8Array(8) });
  } catch (err) {
    const failure = describeLoadFailure(err);
    throw new NativeArgon2Unavailable(failure.message, failure.notPermitted);
  }
  const { hash, verify } = addon;
  return Object.freeze({
    name: "native" as const,
    // `Algorithm` is an ambient const enum, which isolated modules cannot read: 2 is Argon2id.
    hash: (password: string, params: Argon2Params) =>
      hash(password, { algorithm: 2 as import("@node-rs/argon2").Algorithm, ...params }),
    verify: (phc: string, password: string) => verify(phc, password),
  });
}

/** Why the loader failed: the chain of causes it threw, reduced to one line. */
interface LoadFailure {
  readonly message: string;
  readonly notPermitted: boolean;
}

/**
 * The loader wraps each attempt in a chain of causes, most of them "Cannot find module" for
 * bindings of other platforms. A binding that was found and failed (say "invalid ELF header")
 * says why; failing that, a permission refusal (the binding, or a probe, was not allowed). A
 * refusal after a failed binding is only the loader's WASI fallback looking further up the tree.
 */
function describeLoadFailure(err: unknown): LoadFailure {
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error && messages.length < 20; e = e.cause) {
    messages.push(e.message.split("\n")[0]!);
  }
  const isPermission = (m: string) => /^Requires \w+ access|NotCapable/.test(m);
  const generic = (m: string) => /^Cannot find|WASI binding|Failed to load native/.test(m);
  const failed = messages.find((m) => !generic(m) && !isPermission(m));
  const refused = messages.find(isPermission);
  const message = failed ?? refused ?? messages[0] ?? String(err);
  return { message: message.slice(0, 200), notPermitted: failed === undefined && !!refused };
}
