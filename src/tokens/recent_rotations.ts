/**
 * The sessions this instance rotated last, each as its rotation committed it (record and the
 * versionstamp the store answered), so that the next refresh of the chain can commit without
 * reading the session first: one store call instead of two.
 *
 * Why a remembered record may stand in for a read: the rotation's commit checks the session's
 * versionstamp (and the user's), so it succeeds only if the stored session is still exactly
 * the remembered one; a change anywhere else (another instance's rotation, a revocation, a
 * logout, a change to the user) makes it fail, and the refresh then reads the store and decides
 * again. It stands in only for the refresh that presents the record's current token while the
 * record is live: any other answer (grace, reuse, expiry) is decided on a read, never on memory.
 *
 * @module
 */
import type { Versioned } from "../versioned.ts";
import { isSessionLive, type SessionRecord } from "./session_store.ts";

/** Rotations remembered at most (the oldest is dropped first): about 1 KB each. */
export const RECENT_ROTATIONS = 1024;

/**
 * A bounded memory of rotated sessions, by sid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RecentRotations } from "./recent_rotations.ts";
 * import type { SessionRecord } from "./session_store.ts";
 * const rotated = (currentHash: string, refreshedAt: number) =>
 *   ({ sid: "s", currentHash, refreshedAt, expiresAt: 10, maxExpiresAt: 20 }) as SessionRecord;
 * const recent = new RecentRotations(2);
 * recent.remember({ value: rotated("h", 0), versionstamp: "v1" });
 * assert.equal(recent.take("s", "other", 5), undefined, "not its current token: a read decides");
 * recent.remember({ value: rotated("h", 0), versionstamp: "v1" });
 * assert.equal(recent.take("s", "h", 10), undefined, "not live by the record: a read decides");
 * recent.remember({ value: rotated("h", 0), versionstamp: "v1" });
 * assert.equal(recent.take("s", "h", 5)?.versionstamp, "v1");
 * assert.equal(recent.take("s", "h", 5), undefined, "taken once");
 * // A rotation that remembers late does not replace a later one of the same session.
 * recent.remember({ value: rotated("h3", 2), versionstamp: "v3" });
 * recent.remember({ value: rotated("h2", 1), versionstamp: "v2" });
 * assert.equal(recent.take("s", "h3", 5)?.versionstamp, "v3");
 * ```
 */
export class RecentRotations {
  readonly #entries = new Map<string, Versioned<SessionRecord>>();
  readonly #limit: number;

  constructor(limit = RECENT_ROTATIONS) {
    this.#limit = limit;
  }

  /**
   * The remembered session `sid`, if a refresh presenting the token hashed `hash` at `now` may
   * use it instead of a read: the record's current token, live by the record. Forgotten either
   * way: a rotation that commits remembers its own result again.
   */
  take(sid: string, hash: string, now: number): Versioned<SessionRecord> | undefined {
    const entry = this.#entries.get(sid);
    if (entry === undefined) return undefined;
    this.#entries.delete(sid);
    if (entry.value.currentHash !== hash || !isSessionLive(entry.value, now)) return undefined;
    return entry;
  }

  /**
   * Remembers a session as a commit just stored it, unless a later rotation of it is held (a
   * rotation remembers once its access token is signed: a grace presenter's refresh of the child
   * may commit and remember first).
   */
  remember(entry: Versioned<SessionRecord>): void {
    const held = this.#entries.get(entry.value.sid);
    if (held !== undefined && held.value.refreshedAt > entry.value.refreshedAt) return;
    this.#entries.delete(entry.value.sid);
    this.#entries.set(entry.value.sid, entry);
    if (this.#entries.size > this.#limit) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Forgets a session this instance ended (its commit would fail anyway: this saves the try). */
  forget(sid: string): void {
    this.#entries.delete(sid);
  }
}
