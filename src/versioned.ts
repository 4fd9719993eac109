/**
 * A stored value with the versionstamp it was read at: what an optimistic commit checks.
 *
 * @module
 */

/** A value with the versionstamp it was read at. */
export interface Versioned<T> {
  readonly value: T;
  readonly versionstamp: string;
}
