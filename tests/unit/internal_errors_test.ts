/**
 * Issue 24: the internal errors carry stable codes like the API's, told apart by them; the API's
 * answers to them stay byte-for-byte what they were.
 */
import assert from "node:assert/strict";
import { CliError } from "../../src/cli/output.ts";
import { ConfigError } from "../../src/config/config_error.ts";
import {
  apiErrorResponse,
  ContendedError,
  ERROR_STATUS,
  INTERNAL_ERROR_CODES,
  internalErrorCode,
  InvalidCursorError,
  StoreUnavailableError,
  toApiError,
} from "../../src/errors.ts";
import { BusyError, isTransientStoreError } from "../../src/store/busy_retry.ts";
import { TransferError } from "../../src/store/transfer.ts";

const EVERY = [
  new StoreUnavailableError("kv closed"),
  new ContendedError("hot key"),
  new InvalidCursorError(),
  new BusyError(new TypeError("database is locked"), 20),
  new ConfigError("PORT", "must be a number from 1 to 65535"),
  new TransferError("line 2 is not JSON"),
  new CliError("no such user", 3),
];

Deno.test("every internal error has its own code, none of them an API code", () => {
  assert.deepEqual(EVERY.map(internalErrorCode), [...INTERNAL_ERROR_CODES]);
  for (const code of INTERNAL_ERROR_CODES) assert.ok(!(code in ERROR_STATUS), code);
  assert.equal(internalErrorCode(new TypeError("a bug")), undefined);
  assert.equal(internalErrorCode({ code: "store_busy" }), undefined, "only errors");
  assert.equal(internalErrorCode(Object.assign(new Error("x"), { code: "ENOENT" })), undefined);
});

Deno.test("the API answers the store's errors exactly as before", async () => {
  const answers = await Promise.all(EVERY.map(async (err) => {
    const api = toApiError(err);
    if (!api) return undefined;
    const res = apiErrorResponse(api);
    return `${res.status} ${res.headers.get("Retry-After")} ${await res.text()}`;
  }));
  assert.deepEqual(answers, [
    '503 1 {"error":"the store is unavailable; try again","code":"unavailable"}',
    '503 1 {"error":"the request is contended; try again","code":"busy"}',
    '400 null {"error":"cursor is invalid","code":"validation_failed"}',
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

Deno.test("a busy-store retry never retries the store's own typed errors", () => {
  for (const err of EVERY) {
    const locked = Object.assign(err, { message: `${err.message}: database is locked` });
    assert.equal(isTransientStoreError(locked), false, locked.name);
  }
  assert.equal(isTransientStoreError(new TypeError("database is locked")), true);
});
