/** The second-factor store over a failing Deno KV: every operation is StoreUnavailableError. */
import assert from "node:assert/strict";
import { StoreUnavailableError } from "../../src/errors.ts";
import { kvStores } from "../../src/store/kv_stores.ts";
import { challenge, factors, NOW } from "../helpers/mfa_records.ts";

Deno.test("MFA store (Deno KV): every operation on a failing KV throws StoreUnavailableError", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = kvStores(kv).mfa;
  kv.close();
  const operations: [string, () => Promise<unknown>][] = [
    ["getFactors", () => store.getFactors("u1")],
    ["putFactors", () => store.putFactors("u1", factors(1), null)],
    ["deleteFactors", () => store.deleteFactors("u1")],
    ["createChallenge", () => store.createChallenge("c", challenge, NOW)],
    ["getChallenge", () => store.getChallenge("c")],
    ["failChallenge", () => store.failChallenge("c", undefined, "v", NOW)],
    ["completeChallenge", () =>
      store.completeChallenge({
        challengeId: "c",
        challengeVersionstamp: "v",
        userUid: "u1",
        factors: factors(1),
        factorsVersionstamp: "v",
      })],
  ];
  for (const [name, operation] of operations) {
    await assert.rejects(operation, StoreUnavailableError, name);
  }
});
