/**
 * The one definition of what a user id, a password, a role and a role list may be, used by the
 * HTTP schemas, the user service, the CLI (through the service) and the config. No imports
 * beyond text helpers: the config and the keys CLI load it without the hasher's native addon.
 *
 * @module
 */
import { hasControlCharacter } from "../text.ts";

export const MAX_USER_ID_LENGTH = 128;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;
export const MAX_ROLE_LENGTH = 64;
export const MAX_ROLES = 32;
/** The role every admin API token must carry. */
export const ADMIN_ROLE = "admin";
const ROLE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Why a user id is refused, or `undefined`: 1 to 128 characters, no control characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userIdProblem } from "./user_rules.ts";
 * assert(userIdProblem("ada") === undefined);
 * assert(userIdProblem("") !== undefined && userIdProblem("a\nb") !== undefined);
 * ```
 */
export function userIdProblem(id: string): string | undefined {
  if (id.length < 1) return "user_id is required";
  if (id.length > MAX_USER_ID_LENGTH) {
    return `user_id must be at most ${MAX_USER_ID_LENGTH} characters`;
  }
  if (hasControlCharacter(id)) {
    return "user_id must not contain control characters";
  }
  // A lone surrogate is stored as U+FFFD, so two different ids would name one user.
  return unicodeProblem("user_id", id);
}

/** Characters that render as nothing (or a blank) or reorder the text around them. */
const INVISIBLE =
  /[\p{Default_Ignorable_Code_Point}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u2800]/u;

/**
 * Why the id of a new user is refused, or `undefined`: {@link userIdProblem}, and nothing that
 * does not show. Stored ids compare exactly, so `admin` and `ａｄｍｉｎ` (full width),
 * `admin\u200b` (a zero-width space), `admin ` or `\u202enimda` (right-to-left override) would be
 * other users that read as `admin` in logs, tokens and admin screens. Not caught: letters of
 * other scripts that look alike (Cyrillic `а`, UTS #39's confusables) and case (`Admin`); an
 * admin creating users sees those. Only new ids are held to it: an id stored before keeps
 * signing in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newUserIdProblem } from "./user_rules.ts";
 * assert(newUserIdProblem("Ada Lovelace") === undefined && newUserIdProblem("日本語") === undefined);
 * assert(newUserIdProblem("\uff41da") !== undefined && newUserIdProblem("ada\u200b") !== undefined);
 * ```
 */
export function newUserIdProblem(id: string): string | undefined {
  const problem = userIdProblem(id);
  if (problem !== undefined) return problem;
  if (INVISIBLE.test(id)) return "user_id must not contain invisible or direction characters";
  if (id.trim() !== id) return "user_id must not begin or end with white space";
  // NFKC: no full-width or other compatibility forms, and one encoding of each accent (NFC).
  if (id.normalize("NFKC") !== id) {
    return "user_id must be in Unicode normalization form NFKC (no full-width letters)";
  }
  return undefined;
}

/**
 * Why a new password is refused, or `undefined`: 8 to 1024 characters of valid Unicode.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { passwordProblem } from "./user_rules.ts";
 * assert(passwordProblem("correct horse") === undefined);
 * assert(passwordProblem("short") !== undefined);
 * assert(passwordProblem("lone \ud800 surrogate") === "password must be valid Unicode");
 * ```
 */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) {
    return `password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return `password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  }
  return unicodeProblem("password", password);
}

/**
 * Why a password (or any text) named `name` is not valid Unicode, or `undefined`. A lone
 * surrogate is hashed as U+FFFD by every backend, so `"\ud800"`, `"\udc00"` and `"\ufffd"`
 * would all be one password; such text is refused wherever a password comes in, even at a
 * login (the 400 says something about the submitted text only, nothing about the account).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unicodeProblem } from "./user_rules.ts";
 * assert(unicodeProblem("password", "p\u00e4ss \u{1F511}") === undefined);
 * assert(unicodeProblem("password", "p\udc00ss") === "password must be valid Unicode");
 * ```
 */
export function unicodeProblem(name: string, text: string): string | undefined {
  return text.isWellFormed() ? undefined : `${name} must be valid Unicode`;
}

/**
 * Why a role is refused, or `undefined`: 1 to 64 of `A-Z a-z 0-9 _ . : -`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roleProblem } from "./user_rules.ts";
 * assert(roleProblem("svc:read") === undefined);
 * assert(roleProblem("no spaces") !== undefined);
 * ```
 */
export function roleProblem(role: string): string | undefined {
  if (ROLE_PATTERN.test(role)) return undefined;
  return `role "${
    role.slice(0, MAX_ROLE_LENGTH)
  }" must be 1 to ${MAX_ROLE_LENGTH} of A-Z a-z 0-9 _ . : -`;
}

/** Why a role list is refused, or `undefined`: 1 to 32 valid roles. */
export function rolesProblem(roles: readonly string[]): string | undefined {
  if (roles.length === 0) return "at least one role is required";
  if (roles.length > MAX_ROLES) return `at most ${MAX_ROLES} roles`;
  for (const role of roles) {
    const problem = roleProblem(role);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
