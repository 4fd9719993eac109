/**
 * The known name closest to a mistyped one, for "did you mean ...?" lines.
 *
 * @module
 */

/**
 * Edit distance with adjacent transpositions (optimal string alignment): `PROT` is one edit from
 * `PORT`, as `TOKEN_TLL` is from `TOKEN_TTL` and `JWT_ALGO` from `JWT_ALG`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { editDistance } from "./closest_name.ts";
 * assert.equal(editDistance("PROT", "PORT"), 1);
 * assert.equal(editDistance("JWT_ALGO", "JWT_ALG"), 1);
 * assert.equal(editDistance("abc", "abc"), 0);
 * ```
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** How a name relates to the closest known one. */
export interface Closest {
  readonly name: string;
  /** The same name in another case (`port` for `PORT`). */
  readonly sameButCase: boolean;
  /** Close enough to be a typo of it (at most a third of its letters differ). */
  readonly likelyTypo: boolean;
}

/**
 * The known name closest to `name` (case ignored; the first of equals in `known`'s order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closestName } from "./closest_name.ts";
 * const known = ["PORT", "HOST", "TOKEN_TTL"];
 * assert.deepEqual(closestName("port", known), { name: "PORT", sameButCase: true, likelyTypo: true });
 * assert.equal(closestName("TOKEN_TLL", known).name, "TOKEN_TTL");
 * assert.equal(closestName("DATABASE", known).likelyTypo, false);
 * ```
 */
export function closestName(name: string, known: readonly string[]): Closest {
  const upper = name.toUpperCase();
  let best = known[0] ?? "";
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(upper, candidate.toUpperCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return {
    name: best,
    sameButCase: bestDistance === 0,
    likelyTypo: bestDistance <= Math.max(1, Math.floor(best.length / 3)),
  };
}
