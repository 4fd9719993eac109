/**
 * Users: validation, credentials and management, shared by `/login`, the admin API, the CLI
 * and the first-start bootstrap, so each rule lives once.
 *
 * @module
 */
import { ApiError, ContendedError } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import type { PasswordHasher } from "../crypto/passwords.ts";
import type { PublicUser } from "../wire.ts";
import { ADMIN_ROLE, passwordProblem, rolesProblem, userIdProblem } from "./user_rules.ts";
import type { Guard, UserPage, UserRecord, UserStore } from "./user_store.ts";

export type { PublicUser } from "../wire.ts";

/** Lost commit races in a row (a concurrent change to the user) before answering `busy`. */
const MAX_CHANGE_ATTEMPTS = 32;

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
  readonly store: UserStore;
  readonly hasher: PasswordHasher;
  readonly now: () => number;
  /** What the user service asks of the sessions when a user changes or goes. */
  readonly sessions: {
    /** Ends every session of a user (password change, disable, removal). */
    revokeAll(userId: string, reason: string): Promise<unknown>;
    /** Drops a removed user's session index. */
    deleteSessionIndex(userId: string): Promise<void>;
  };
  /** The domain event stream: `user_changed` after every change to a user. */
  readonly onEvent?: EmitEvent;
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
  const changed = (userId: string) => deps.onEvent?.({ type: "user_changed", user_id: userId });

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
      throw new ApiError("invalid_credentials", "invalid credentials");
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
    for (let attempt = 0; attempt < MAX_CHANGE_ATTEMPTS; attempt++) {
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
      changed(userId);
      const lostRole = before.roles.some((role) => !after.roles.includes(role));
      if (passwordHash !== undefined || (after.disabled && !before.disabled) || lostRole) {
        await deps.sessions.revokeAll(
          userId,
          passwordHash !== undefined ? "password changed" : "user changed",
        );
      }
      return after;
    }
    throw new ContendedError(`changes to user "${userId}" are contended`);
  }

  async function remove(userId: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_CHANGE_ATTEMPTS; attempt++) {
      const found = await store.getUser(userId);
      if (!found) throw notFound(userId);
      const guards = isActiveAdmin(found.value) ? [await anotherAdmin(userId)] : [];
      if (!(await store.deleteUser(userId, found.versionstamp, guards))) continue;
      changed(userId);
      await deps.sessions.revokeAll(userId, "user removed");
      await deps.sessions.deleteSessionIndex(userId);
      return;
    }
    throw new ContendedError(`changes to user "${userId}" are contended`);
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
  if (problem !== undefined) throw new ApiError("validation_failed", problem);
}

function conflict(message: string): ApiError {
  return new ApiError("conflict", message);
}

function notFound(userId: string): ApiError {
  return new ApiError("not_found", `user "${userId}" not found`);
}
