/**
 * The one test of "this request carries a form" (HTML forms, `/authorize`, end-session, OAuth's
 * token and revocation requests): the media type of `Content-Type`, parameters aside.
 *
 * @module
 */

/** The media type of a form body. */
export const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

/**
 * Whether a `Content-Type` header names a form body (any case, any parameters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isFormBody } from "./form_body.ts";
 * assert.ok(isFormBody("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
 * assert.ok(!isFormBody("application/json"));
 * assert.ok(!isFormBody(undefined));
 * ```
 */
export function isFormBody(contentType: string | undefined): boolean {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() === FORM_MEDIA_TYPE;
}
