/**
 * Users: validation, credentials and management, shared by `/login`, the admin API, the CLI
 * and the first-start bootstrap, so each rule lives once.
 *
 * @module
 */
import { AuthError } from "../errors.ts";
import { hasControlCharacter } from "../text.ts";
import { type PasswordHasher, passwordProblem } from "../crypto/passwords.ts";
import type { Guard, KvStore, UserPage, UserRecord } from "../store/kv_store.ts";

export const MAX_USER_ID_LENGTH = 128;
const ROLE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_ROLES = 32;
const ADMIN_ROLE = "admin";

/**
 * Why a user id is refused, or `undefined`: 1 to 128 characters, no control characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userIdProblem } from "./user_service.ts";
 * assert(userIdProblem("ada") === undefined);
 * assert(userIdProblem("") !== undefined && userIdProblem("a\nb") !== undefined);
 * ```
 */
export function userIdProblem(id: string): string | undefined {
  if (id.length < 1 || id.length > MAX_USER_ID_LENGTH) {
    return `user_id must be 1 to ${MAX_USER_ID_LENGTH} characters`;
  }
  if (hasControlCharacter(id)) {
    return "user_id must not contain control characters";
  }
  // A lone surrogate is stored as U+FFFD, so two different ids would name one user.
  if (!id.isWellFormed()) return "user_id must be valid Unicode";
  return undefined;
}

/** Why a role list is refused, or `undefined`. */
export function rolesProblem(roles: readonly string[]): string | undefined {
  if (roles.length === 0) return "at least one role is required";
  if (roles.length > MAX_ROLES) return `at most ${MAX_ROLES} roles`;
  const bad = roles.find((role) => !ROLE_PATTERN.test(role));
  if (bad !== undefined) return `role "${bad.slice(0, 64)}" must be 1 to 64 of A-Z a-z 0-9 _ . : -`;
  return undefined;
}

/** A user as shown to people and the admin API: never the hash. */
export interface PublicUser {
  user_id: string;
  roles: string[];
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

/** The user record without its password hash. */
export function publicUser(user: UserRecord): PublicUser {
  return {
    user_id: user.id,
    roles: [...user.roles],
    disabled: user.disabled,
    created_at: new Date(user.createdAt).toISOString(),
    updated_at: new Date(user.updatedAt).toISOString(),
  };
}

/** Dependencies of {@link createUserService}. */
export interface UserDeps {
  readonly store: KvStore;
  readonly hasher: PasswordHasher;
  readonly now: () => number;
  /** Ends every session of a user (password change, disable, removal). */
  readonly revokeSessions: (userId: string, reason: string) => Promise<unknown>;
  /** Told after every change to a user (caches forget what they knew). */
  readonly onChange?: (userId: string) => void;
}

/** What may change on a user. */
export interface UserChange {
  readonly roles?: readonly string[];
  readonly disabled?: boolean;
  readonly password?: string;
}

/** Creates the user service. */
export function createUserService(deps: UserDeps) {
  const { store, hasher } = deps;

  /**
   * Checks credentials; the same error and about the same time for every failure. Returns the
   * user with the versionstamp it was read at (sessions record it).
   */
  async function authenticate(
    userId: string,
    password: string,
  ): Promise<UserRecord & { readonly versionstamp: string }> {
    const found = await store.getUser(userId);
    const matches = found
      ? await hasher.verify(found.value.passwordHash, password)
      : await hasher.verifyDummy(password);
    if (!found || !matches || found.value.disabled) {
      throw new AuthError("invalid_credentials", "invalid credentials");
    }
    if (hasher.needsRehash(found.value.passwordHash)) {
      // Best effort: a concurrent change wins (and the session commit will then refuse).
      const upgraded = { ...found.value, passwordHash: await hasher.hash(password) };
      const versionstamp = await store.updateUser(upgraded, found.versionstamp);
      if (versionstamp !== undefined) return { ...upgraded, versionstamp };
    }
    return { ...found.value, versionstamp: found.versionstamp };
  }

  async function add(
    userId: string,
    password: string,
    roles: readonly string[],
  ): Promise<UserRecord> {
    requireValid(userIdProblem(userId) ?? passwordProblem(password) ?? rolesProblem(roles));
    if (await store.getUser(userId)) throw conflict(`user "${userId}" already exists`);
    const now = deps.now();
    const user: UserRecord = {
      id: userId,
      passwordHash: await hasher.hash(password),
      roles: [...new Set(roles)],
      disabled: false,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await store.createUser(user))) throw conflict(`user "${userId}" already exists`);
    return user;
  }

  async function get(userId: string): Promise<UserRecord> {
    const found = await store.getUser(userId);
    if (!found) throw notFound(userId);
    return found.value;
  }

  async function list(limit: number, cursor?: string): Promise<UserPage> {
    return await store.listUsers({ limit, cursor });
  }

  /** Applies a change; ends the user's sessions when it takes anything away. */
  async function update(userId: string, change: UserChange): Promise<UserRecord> {
    if (change.roles !== undefined) requireValid(rolesProblem(change.roles));
    if (change.password !== undefined) requireValid(passwordProblem(change.password));
    const passwordHash = change.password === undefined
      ? undefined
      : await hasher.hash(change.password);
    for (;;) {
      const found = await store.getUser(userId);
      if (!found) throw notFound(userId);
      const before = found.value;
      const after: UserRecord = {
        ...before,
        ...(change.roles !== undefined ? { roles: [...new Set(change.roles)] } : {}),
        ...(change.disabled !== undefined ? { disabled: change.disabled } : {}),
        ...(passwordHash !== undefined ? { passwordHash } : {}),
        updatedAt: deps.now(),
      };
      const guards = isActiveAdmin(before) && !isActiveAdmin(after)
        ? [await anotherAdmin(userId)]
        : [];
      if (!(await store.updateUser(after, found.versionstamp, guards))) continue;
      deps.onChange?.(userId);
      const lostRole = before.roles.some((role) => !after.roles.includes(role));
      if (passwordHash !== undefined || (after.disabled && !before.disabled) || lostRole) {
        await deps.revokeSessions(
          userId,
          passwordHash !== undefined ? "password changed" : "user changed",
        );
      }
      return after;
    }
  }

  async function remove(userId: string): Promise<void> {
    for (;;) {
      const found = await store.getUser(userId);
      if (!found) throw notFound(userId);
      const guards = isActiveAdmin(found.value) ? [await anotherAdmin(userId)] : [];
      if (!(await store.deleteUser(userId, found.versionstamp, guards))) continue;
      deps.onChange?.(userId);
      await deps.revokeSessions(userId, "user removed");
      await store.deleteSessionIndex(userId);
      return;
    }
  }

  /**
   * Another enabled admin, as a guard for the commit: if that admin changes before the commit
   * (say, two admins demoting each other at once), the commit fails and is retried, and the
   * retry finds no other admin and refuses.
   */
  async function anotherAdmin(exceptId: string): Promise<Guard> {
    for await (const user of store.allUsers()) {
      if (user.value.id !== exceptId && isActiveAdmin(user.value)) {
        return { id: user.value.id, versionstamp: user.versionstamp };
      }
    }
    throw conflict("cannot remove, disable or demote the last enabled admin");
  }

  return { authenticate, add, get, list, update, remove };
}

/** The user service's interface. */
export type UserService = ReturnType<typeof createUserService>;

function isActiveAdmin(user: UserRecord): boolean {
  return !user.disabled && user.roles.includes(ADMIN_ROLE);
}

function requireValid(problem: string | undefined): void {
  if (problem !== undefined) throw new AuthError("validation_failed", problem);
}

function conflict(message: string): AuthError {
  return new AuthError("conflict", message);
}

function notFound(userId: string): AuthError {
  return new AuthError("not_found", `user "${userId}" not found`);
}
