/**
 * Small text checks shared by configuration, schemas and the user rules.
 *
 * @module
 */

/**
 * Whether text holds a control character (C0, DEL, C1, or a line/paragraph separator).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasControlCharacter } from "./text.ts";
 * assert(hasControlCharacter("a\tb") && !hasControlCharacter("Ada Lovelace"));
 * ```
 */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
      return true;
    }
  }
  return false;
}
