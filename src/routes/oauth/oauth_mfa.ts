/**
 * The password grant's answer for a user with an active second factor: 403
 * `{"error": "mfa_required", "error_description", "mfa_token", "methods"}`, the JSON `/login`'s
 * `mfa_required` in RFC 6749 section 5.2's shape (extra members are allowed there; Auth0's
 * password grant answers the same error with an `mfa_token`). The client finishes at
 * `POST /login/mfa`; the session is bound to this client, so its refresh tokens need it.
 *
 * @module
 */
import type { MfaRequired } from "../../mfa/mfa_login.ts";
import { OAuthError } from "./oauth_error.ts";

/** A password grant that needs its second step. */
export class OAuthMfaRequired extends OAuthError {
  readonly #challenge: MfaRequired;

  constructor(challenge: MfaRequired) {
    super("mfa_required", "a second factor is required: POST /login/mfa with mfa_token");
    this.#challenge = challenge;
  }

  override toJSON() {
    return { ...super.toJSON(), ...this.#challenge };
  }
}
