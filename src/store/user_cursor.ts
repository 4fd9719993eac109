/**
 * The cursor of a user listing, the same for every engine: the last id of the page, base64url.
 * Users are listed in the byte order of their ids (KV's key order; `COLLATE "C"` in
 * PostgreSQL), so "after this id" means the same everywhere, and a cursor from one engine
 * pages on another.
 *
 * @module
 */
import { InvalidCursorError } from "../errors.ts";

const PREFIX = "after:";

/**
 * The cursor that continues after `lastId`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cursorAfter, idAfterCursor } from "./user_cursor.ts";
 * assert.equal(idAfterCursor(cursorAfter("ada")), "ada");
 * assert.throws(() => idAfterCursor("not a cursor"));
 * ```
 */
export function cursorAfter(lastId: string): string {
  const bytes = new TextEncoder().encode(PREFIX + lastId);
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The id a cursor continues after; throws `InvalidCursorError` for one no store issued. */
export function idAfterCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,1000}$/.test(cursor)) throw new InvalidCursorError();
  try {
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const text = new TextDecoder("utf-8", { fatal: true })
      .decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    if (!text.startsWith(PREFIX)) throw new InvalidCursorError();
    return text.slice(PREFIX.length);
  } catch {
    throw new InvalidCursorError();
  }
}
