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
import { ADMIN_ROLE, newUserIdProblem, passwordProblem, rolesProblem } from "./user_rules.ts";
import {
  type Guard,
  keptSession,
  sessionEpoch,
  type UserPage,
  type UserRecord,
  type UserStore,
  userUid,
} from "./user_store.ts";

export type { PublicUser } from "../wire.ts";

/** Lost commit races in a row (a concurrent change to the user) before answering `busy`. */
const MAX_CHANGE_ATTEMPTS = 32;
/** Distinct users with an unusable stored hash remembered as reported (then it starts over). */
const MAX_REPORTED_UNUSABLE = 1024;

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
  /** What the user service asks of the sessions when a user goes. */
  readonly sessions: {
    /** Forgets a removed user's sessions (tidying only: its sessions are dead by uid). */
    deleteUserSessions(userUid: string): Promise<void>;
  };
  /** The domain event stream: `user_changed` after every change to a user. */
  readonly onEvent?: EmitEvent;
}

/** What may change on a user. */
export interface UserChange {
  readonly roles?: readonly string[];
  readonly disabled?: boolean;
  readonly password?: string;
  /** End every session even if nothing else is taken away (global logout). */
  readonly endSessions?: boolean;
  /** The one session to keep when this change ends the others (self-service password change). */
  readonly keepSession?: string;
}

/** Creates the user service. */
export function createUserService(deps: UserDeps) {
  const { store, hasher } = deps;
  const changed = (user: UserRecord, removed = false) =>
    deps.onEvent?.({
      type: "user_changed",
      user_id: user.id,
      uid: userUid(user),
      epoch: removed ? Infinity : sessionEpoch(user),
      kept: removed ? undefined : keptSession(user),
    });

  /** Users whose stored hash was reported unusable: one log line each, not one per attempt. */
  const reportedUnusable = new Set<string>();
  function reportUnusableHash(userId: string): void {
    if (reportedUnusable.has(userId)) return;
    if (reportedUnusable.size >= MAX_REPORTED_UNUSABLE) reportedUnusable.clear();
    reportedUnusable.add(userId);
    deps.onEvent?.({ type: "password_hash_unusable", user_id: userId });
  }

  /**
   * Checks credentials; the same error and about the same time for every failure. Returns the
   * user with the versionstamp it was read at (sessions record it).
   */
  async function authenticate(
    userId: string,
    password: string,
  ): Promise<UserRecord & { readonly versionstamp: string }> {
    const found = await store.getUser(userId);
    const usable = found !== undefined && hasher.accepts(found.value.passwordHash);
    if (found && !usable) reportUnusableHash(found.value.id);
    // An unusable stored hash costs a dummy verify too: no answer comes back early. An
    // ill-formed password never matches: every backend would read a lone surrogate as U+FFFD.
    const matches = usable
      ? await hasher.verify(found.value.passwordHash, password)
      : await hasher.verifyDummy(password);
    if (!found || !matches || !password.isWellFormed() || found.value.disabled) {
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
    requireValid(newUserIdProblem(userId) ?? passwordProblem(password) ?? rolesProblem(roles));
    if (await store.getUser(userId)) throw conflict(`user "${userId}" already exists`);
    const now = deps.now();
    const user: UserRecord = {
      id: userId,
      passwordHash: await hasher.hash(password),
      roles: [...new Set(roles)],
      disabled: false,
      createdAt: now,
      updatedAt: now,
      uid: crypto.randomUUID(),
      sessionEpoch: 0,
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

  /**
   * Applies a change. When it takes anything away (password, enabled, a role) it ends the
   * user's sessions in the same commit, by moving the user to the next session epoch: there is
   * no second step to be cut short.
   */
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
      const proposed: UserRecord = {
        ...before,
        ...(change.roles !== undefined ? { roles: [...new Set(change.roles)] } : {}),
        ...(change.disabled !== undefined ? { disabled: change.disabled } : {}),
        ...(passwordHash !== undefined ? { passwordHash } : {}),
        updatedAt: deps.now(),
      };
      const lostRole = before.roles.some((role) => !proposed.roles.includes(role));
      const endsSessions = passwordHash !== undefined || change.endSessions === true ||
        (proposed.disabled && !before.disabled) || lostRole;
      const after = endsSessions ? nextEpoch(proposed, change.keepSession) : proposed;
      const guards = isActiveAdmin(before) && !isActiveAdmin(after)
        ? [await anotherAdmin(userId)]
        : [];
      if (!(await store.updateUser(after, found.versionstamp, guards))) continue;
      changed(after);
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
      // The sessions died with the record: they are bound to its uid, which no new user gets.
      changed(found.value, true);
      await deps.sessions.deleteUserSessions(userUid(found.value));
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

/**
 * The user at its next session epoch (every session ends), keeping at most `keep`: a usable
 * session, so at the current epoch, or the session kept last time, possibly still at the epoch
 * it was first kept at (it need not have refreshed in between), which therefore carries over.
 */
function nextEpoch(user: UserRecord, keep: string | undefined): UserRecord {
  const { keptSession: _, keptSessionEpoch: _epoch, ...rest } = user;
  const epoch = sessionEpoch(user);
  const before = keptSession(user);
  return {
    ...rest,
    uid: userUid(user),
    sessionEpoch: epoch + 1,
    ...(keep !== undefined
      ? { keptSession: keep, keptSessionEpoch: before?.sid === keep ? before.epoch : epoch }
      : {}),
  };
}

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
