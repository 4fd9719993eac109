/**
 * `deno test` as typed grants no permission; `deno task test` grants what the whole suite needs.
 * A test declares the permissions it needs with {@link needs}; when the run lacks one, the test
 * is registered as ignored and its name says what it needs and which command runs it, instead of
 * failing with `NotCapable` (or, on a terminal, prompting). `Deno.permissions.querySync` never
 * prompts: a permission that is not granted ("prompt" or "denied") counts as lacking.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** Reading files (temporary directories, fixtures, the checkout). */
export const READ: Deno.PermissionDescriptor = { name: "read" };
/** Writing files (temporary directories, `.env`, KV files). */
export const WRITE: Deno.PermissionDescriptor = { name: "write" };
/** The environment (the configuration loader reads it). */
export const ENV: Deno.PermissionDescriptor = { name: "env" };
/** Listening and connecting (real servers, `fetch`). */
export const NET: Deno.PermissionDescriptor = { name: "net" };
/** Starting `deno` (the real server, the CLIs, `deno info`). */
export const RUN_DENO: Deno.PermissionDescriptor = { name: "run", command: "deno" };
/** Starting `sh` (the README's commands). */
export const RUN_SH: Deno.PermissionDescriptor = { name: "run", command: "sh" };
/** Starting `wrk` (the login flood). */
export const RUN_WRK: Deno.PermissionDescriptor = { name: "run", command: "wrk" };
/** Starting Chromium (the browser tests; `chromium` on PATH is Debian's `/usr/bin/chromium`). */
export const RUN_CHROMIUM: Deno.PermissionDescriptor = { name: "run", command: "chromium" };
/** Loading the native argon2 addon (the test task grants `--allow-ffi=./node_modules`). */
export const FFI: Deno.PermissionDescriptor = {
  name: "ffi",
  path: fileURLToPath(new URL("../../node_modules", import.meta.url)),
};

/** The flag that grants `descriptor`, as `deno task test` spells it. */
function flagOf(descriptor: Deno.PermissionDescriptor): string {
  return descriptor.name === "run" && "command" in descriptor && descriptor.command
    ? `--allow-run=${descriptor.command}`
    : `--allow-${descriptor.name}`;
}

/**
 * The flags of the permissions in `wanted` this run lacks, e.g. `["--allow-write"]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lacking } from "./permissions.ts";
 * assert.deepEqual(lacking([]), []);
 * ```
 */
export function lacking(wanted: readonly Deno.PermissionDescriptor[]): string[] {
  return wanted.filter((d) => Deno.permissions.querySync(d).state !== "granted").map(flagOf);
}

type TestFn = (t: Deno.TestContext) => void | Promise<void>;
type TestOptions = Omit<Deno.TestDefinition, "name" | "fn">;

/** `Deno.test`'s three call forms; the test runs only when the run has every needed permission. */
export interface TestWithNeeds {
  (name: string, fn: TestFn): void;
  (name: string, options: TestOptions, fn: TestFn): void;
  (definition: Deno.TestDefinition): void;
}

/**
 * `Deno.test` for tests that need `wanted`: registered as usual when the run grants them all,
 * else ignored, its name ending `[skipped: needs --allow-x ...; deno task test runs it]`.
 *
 * For example (in a test file): `const test = needs(READ, WRITE, ENV);` then
 * `test("writes a first-run .env", async () => {...});`.
 */
export function needs(...wanted: Deno.PermissionDescriptor[]): TestWithNeeds {
  const missing = lacking(wanted);
  return ((first: string | Deno.TestDefinition, second?: TestOptions | TestFn, third?: TestFn) => {
    const definition: Deno.TestDefinition = typeof first !== "string"
      ? first
      : typeof second === "function"
      ? { name: first, fn: second }
      : { ...second, name: first, fn: third! };
    if (missing.length === 0) return Deno.test(definition);
    Deno.test({
      ...definition,
      name: `${definition.name} [skipped: needs ${missing.join(" ")}; deno task test runs it]`,
      ignore: true,
    });
  }) as TestWithNeeds;
}
