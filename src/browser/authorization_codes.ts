/**
 * Authorization codes (RFC 6749 section 4.1.2): 256 random bits, single use, 60 seconds, bound to
 * the client, the redirect URI, the PKCE challenge, the nonce, the user and the browser session,
 * stored as SHA-256 hashes. A code presented again after it was spent is `invalid_grant`, and the
 * token session it issued is revoked (RFC 6749 section 4.1.2: "SHOULD revoke (when possible) all
 * tokens previously issued based on that authorization code"; RFC 9700 section 4.5), but only
 * when the replay carries every binding a first exchange must (see `redeem`): anyone else holding
 * a spent code gets `invalid_grant` and changes nothing.
 *
 * Spending is two guarded commits: mark the code used (only one exchange can), start the token
 * session, then record that session on the code. A replay that lands between the two marks the
 * code `reused`, so the second commit fails and the exchange revokes its own fresh session: a
 * replay never leaves a live session behind, whatever the order.
 *
 * @module
 */
import { base64url, decodeJwt } from "jose";
import { sha256Base64url } from "../crypto/digests.ts";
import { ApiError } from "../errors.ts";
import type { SessionClient } from "../tokens/session_store.ts";
import type { SessionService } from "../tokens/sessions.ts";
import { type UserRecord, type UserStore, userUid } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";
import type { TokenPair } from "../wire.ts";
import type {
  AuthorizationCodeRecord,
  AuthorizationCodeStore,
} from "./authorization_code_store.ts";
import type { BrowserSessionStore } from "./browser_session_store.ts";
import { isBrowserSessionLive } from "./browser_sessions.ts";
import { verifiesS256 } from "./pkce.ts";

/** How long a code can be spent: RFC 6749 section 4.1.2 recommends at most 10 minutes. */
export const CODE_TTL_MS = 60_000;
const CODE = /^[A-Za-z0-9_-]{43}$/;
const MAX_ATTEMPTS = 8;

/** Dependencies of {@link createAuthorizationCodes}. */
export interface AuthorizationCodeDeps {
  readonly store: AuthorizationCodeStore;
  readonly browserSessions: Pick<BrowserSessionStore, "getBrowserSession">;
  readonly users: Pick<UserStore, "getUser">;
  readonly sessions: Pick<SessionService, "start" | "revoke">;
  readonly now: () => number;
}

/** What a new code is bound to. */
export type CodeBinding = Omit<
  AuthorizationCodeRecord,
  "hash" | "createdAt" | "expiresAt" | "usedAt" | "issuedSid" | "reused"
>;

/** The token request's side of the exchange. */
export interface CodeExchange {
  readonly code: string;
  /** The client that authenticated (confidential) or named itself (public), as registered now. */
  readonly client: SessionClient;
  readonly redirectUri: string | undefined;
  readonly codeVerifier: string | undefined;
}

/** A spent code: what it was bound to, the user as read, and the token pair it issued. */
export interface RedeemedCode {
  readonly code: AuthorizationCodeRecord;
  readonly user: UserRecord;
  readonly pair: TokenPair;
}

/** SHA-256 of a code, base64url: its store key. */
export function codeHash(code: string): string {
  return sha256Base64url(code);
}

/** Creates the authorization code service. */
export function createAuthorizationCodes(deps: AuthorizationCodeDeps) {
  /** Issues a code bound to `binding`; the code itself is returned once, never stored. */
  async function issue(binding: CodeBinding): Promise<string> {
    const code = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
    const now = deps.now();
    await deps.store.createCode({
      ...binding,
      hash: codeHash(code),
      createdAt: now,
      expiresAt: now + CODE_TTL_MS,
    });
    return code;
  }

  /** Spends a code; {@link InvalidCodeError} for anything wrong with it, reuse included. */
  async function redeem(exchange: CodeExchange): Promise<RedeemedCode> {
    if (!CODE.test(exchange.code)) throw invalidGrant("authorization code is invalid");
    const hash = codeHash(exchange.code);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await deps.store.getCode(hash);
      if (!entry) throw invalidGrant("authorization code is invalid or expired");
      const code = entry.value;
      if (code.usedAt !== undefined) {
        // A spent code revokes what it issued only when presented as its first exchange had to
        // be: by its own client (authenticated when confidential), with its redirect URI and
        // its PKCE verifier; expiry aside, RFC 6749 4.1.2's revocation is for the code's own
        // exchange coming second. A public client's client_id and the redirect URI travel with
        // the code through the browser (history, logs, Referer), so they prove nothing; the
        // verifier never does (RFC 7636, RFC 9700 section 4.5), nor does a confidential client's
        // secret. Anyone else gets invalid_grant and cannot end the victim's session.
        checkBindings(code, exchange);
        return await replayed(entry);
      }
      if (deps.now() >= code.expiresAt) throw invalidGrant("authorization code has expired");
      checkBindings(code, exchange);
      const { user, browser } = await usableUser(code);
      const spent: AuthorizationCodeRecord = { ...code, usedAt: deps.now() };
      if (!(await deps.store.updateCode(spent, entry.versionstamp))) continue;
      const fresh = await deps.store.getCode(hash);
      // Bound to the client in its current generation: removing it or rotating its secret
      // ends the session (`clientMatches`).
      // The session's tokens say how the browser signed in (`amr`, RFC 8176), refreshed too.
      // Recorded on the session, which ends with the sign-in (`sign_out.ts`).
      const started = deps.sessions.start(user, code.role, exchange.client, code.amr, {
        key: code.browserSessionKey,
        expiresAt: browser.expiresAt,
      });
      const pair = await started.catch((err) => {
        // The user changed between the read and the session's guarded commit; a store failure
        // stays what it is (503).
        if (err instanceof ApiError && err.code === "invalid_credentials") {
          throw invalidGrant("the user changed; sign in again");
        }
        throw err;
      });
      const sid = decodeJwt(pair.token).sid as string;
      // A logout that ended the browser session after the check above listed the user's
      // sessions before this one existed: it must not outlive the sign-in.
      if (!(await deps.browserSessions.getBrowserSession(code.browserSessionKey))) {
        await deps.sessions.revoke(sid, "browser session ended");
        throw invalidGrant("the browser session has ended; sign in again");
      }
      const recorded = fresh !== undefined && fresh.value.reused !== true &&
        await deps.store.updateCode({ ...spent, issuedSid: sid }, fresh.versionstamp);
      if (!recorded) {
        // Replayed between the two commits: what this exchange issued must not outlive it.
        await deps.sessions.revoke(sid, "authorization code reused");
        throw reusedError();
      }
      return { code, user, pair };
    }
    throw invalidGrant("authorization code exchange is contended; start again");
  }

  /** A spent code again: mark it reused and revoke what it issued. */
  async function replayed(entry: Versioned<AuthorizationCodeRecord>): Promise<never> {
    let current: Versioned<AuthorizationCodeRecord> | undefined = entry;
    for (let attempt = 0; current && attempt < MAX_ATTEMPTS; attempt++) {
      const marked = current.value.reused === true ||
        await deps.store.updateCode({ ...current.value, reused: true }, current.versionstamp);
      if (marked) {
        if (current.value.issuedSid !== undefined) {
          await deps.sessions.revoke(current.value.issuedSid, "authorization code reused");
        }
        break;
      }
      current = await deps.store.getCode(entry.value.hash);
    }
    throw reusedError();
  }

  /** The bindings the token request must match (RFC 6749 section 4.1.3, RFC 7636 4.6). */
  function checkBindings(code: AuthorizationCodeRecord, exchange: CodeExchange): void {
    if (code.clientId !== exchange.client.clientId) {
      throw invalidGrant("authorization code was issued to another client");
    }
    if (exchange.redirectUri !== code.redirectUri) {
      throw invalidGrant("redirect_uri differs from the authorization request's");
    }
    if (code.codeChallenge !== undefined) {
      if (exchange.codeVerifier === undefined) throw invalidGrant("code_verifier is required");
      if (!verifiesS256(code.codeChallenge, exchange.codeVerifier)) {
        throw invalidGrant("code_verifier does not match the code_challenge");
      }
    } else if (exchange.codeVerifier !== undefined) {
      // RFC 9700 section 4.8.2: a verifier for a code issued without a challenge is a downgrade.
      throw invalidGrant("code_verifier given, but the authorization request had no challenge");
    }
  }

  /**
   * The code's user, as read now: the browser session that signed in must still stand for it
   * (not logged out, not ended by a password change, disable or epoch bump) and the user must
   * still hold the role.
   */
  async function usableUser(code: AuthorizationCodeRecord) {
    const [browser, found] = await Promise.all([
      deps.browserSessions.getBrowserSession(code.browserSessionKey),
      deps.users.getUser(code.userId),
    ]);
    const user = found?.value;
    if (!browser || !isBrowserSessionLive(browser.value, user, deps.now())) {
      throw invalidGrant("the browser session has ended; sign in again");
    }
    if (!found || !user || userUid(user) !== code.userUid || !user.roles.includes(code.role)) {
      throw invalidGrant("the user changed; sign in again");
    }
    return { user: { ...user, versionstamp: found.versionstamp }, browser: browser.value };
  }

  return { issue, redeem };
}

/** The authorization code service's interface. */
export type AuthorizationCodes = ReturnType<typeof createAuthorizationCodes>;

/**
 * A code refused (RFC 6749 section 5.2 `invalid_grant`): the token endpoint answers it so. Its
 * own class, so this module (which the CLI loads through `services.ts`) stays free of HTTP.
 */
export class InvalidCodeError extends Error {
  constructor(description: string) {
    super(description);
    this.name = "InvalidCodeError";
  }
}

function invalidGrant(description: string): InvalidCodeError {
  return new InvalidCodeError(description);
}

function reusedError(): InvalidCodeError {
  return invalidGrant(
    "authorization code was already used; the tokens issued from it have been revoked",
  );
}
