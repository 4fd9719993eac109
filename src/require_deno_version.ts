/**
 * Stops the process with one line when Deno is too old: password hashing needs Web Crypto
 * Argon2id, which Deno ships from 2.9. Imported first by the entry points, so it runs before
 * anything else.
 *
 * @module
 */

/** The first Deno with `Argon2id` in Web Crypto. */
export const MIN_DENO_VERSION = "2.9.0";

/**
 * Why `version` cannot run this server, or `undefined` when it can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoVersionProblem } from "./require_deno_version.ts";
 * assert(denoVersionProblem("2.9.6") === undefined);
 * assert(denoVersionProblem("3.0.0") === undefined);
 * assert(denoVersionProblem("2.8.3")?.includes("Deno 2.9.0 or newer"));
 * ```
 */
export function denoVersionProblem(version: string): string | undefined {
  const parts = (v: string) => v.split(/[.+-]/).slice(0, 3).map((n) => Number(n) || 0);
  const have = parts(version);
  const need = parts(MIN_DENO_VERSION);
  for (let i = 0; i < 3; i++) {
    if (have[i]! > need[i]!) return undefined;
    if (have[i]! < need[i]!) {
      return `This server needs Deno ${MIN_DENO_VERSION} or newer (Web Crypto Argon2id); ` +
        `this is Deno ${version}: run \`deno upgrade\``;
    }
  }
  return undefined;
}

if (typeof Deno === "object" && Deno.version?.deno) {
  const problem = denoVersionProblem(Deno.version.deno);
  if (problem !== undefined) {
    console.error(problem);
    Deno.exit(1);
  }
}
