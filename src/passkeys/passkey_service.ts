/**
 * Passkeys (WebAuthn Level 2) through `@simplewebauthn/server`: a signed-in user registers
 * discoverable credentials; anyone signs in with one alone (no user name, no password). The
 * relying-party id is the host of `ISSUER`, the expected origin its origin. User verification
 * is required at registration and at every sign-in (the UV flag, WebAuthn L2 section 7.2 step
 * 15), so a passkey sign-in is two factors by itself: `amr` `["hwk", "user"]` (`"swk"` for a
 * synced, backed-up credential; RFC 8176). The signature counter must grow whenever the
 * authenticator keeps one (section 6.1.1; the library refuses a counter that did not), and the
 * new counter is written under the versionstamp it was read at, so two sign-ins with one
 * assertion cannot both pass.
 *
 * Every challenge is random, stored for 5 minutes, and taken (read and deleted in one commit)
 * by the response that answers it: it is used once.
 *
 * @module
 */
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { base64url } from "jose";
import { ApiError } from "../errors.ts";
import type { EmitEvent } from "../events.ts";
import { type UserRecord, type UserStore, userUid } from "../users/user_store.ts";
import type { Versioned } from "../versioned.ts";
import { isCredentialId } from "./credential_id.ts";
import type { PasskeyRecord, PasskeyStore } from "./passkey_store.ts";

/**
 * `@simplewebauthn/server`, loaded on the first passkey call: it is the largest module a server
 * would otherwise evaluate at start-up (about 250 ms of CPU and 20 MB, more than the rest of the
 * app's routes), and most servers never see a passkey. A string literal, so `deno compile`
 * still embeds it.
 */
let webauthnModule: Promise<typeof import("@simplewebauthn/server")> | undefined;
function webauthn(): Promise<typeof import("@simplewebauthn/server")> {
  // A failed load is not kept: the next passkey call tries again.
  return webauthnModule ??= import("@simplewebauthn/server").catch((err) => {
    webauthnModule = undefined;
    throw err;
  });
}

/** How long registration and sign-in options stay answerable. */
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60_000;
/** Most passkeys one user may register. */
export const MAX_PASSKEYS_PER_USER = 20;

/** Dependencies of {@link createPasskeyService}. */
export interface PasskeyDeps {
  readonly store: PasskeyStore;
  /** `ISSUER`: its host is the RP id, its origin the one responses must come from. */
  readonly issuer: string;
  readonly now: () => number;
  readonly onEvent?: EmitEvent;
}

/** A passkey sign-in that verified: whose, and how (`amr`). */
export interface PasskeySignIn {
  readonly userId: string;
  readonly userUid: string;
  readonly amr: readonly string[];
}

/** The relying party an `ISSUER` names, or `undefined` when it is not an http(s) URL. */
export function relyingParty(issuer: string): { id: string; origin: string } | undefined {
  try {
    const url = new URL(issuer);
    if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
    return { id: url.hostname, origin: url.origin };
  } catch {
    return undefined;
  }
}

/** Creates the passkey service. */
export function createPasskeyService(deps: PasskeyDeps) {
  const emit: EmitEvent = (event) => deps.onEvent?.(event);
  const { store } = deps;
  const rp = relyingParty(deps.issuer);

  function requireRp() {
    if (!rp) {
      throw new ApiError("not_found", "passkeys need ISSUER to be an http(s) URL (its host)");
    }
    return rp;
  }

  async function newChallenge(
    purpose: "registration" | "authentication",
    challenge: string,
    id: string,
    userUid?: string,
  ) {
    const now = deps.now();
    await store.putChallenge(id, {
      challenge,
      purpose,
      ...(userUid !== undefined ? { userUid } : {}),
      expiresAt: now + PASSKEY_CHALLENGE_TTL_MS,
    }, now);
  }

  async function takeChallenge(id: string, purpose: "registration" | "authentication") {
    const taken = await store.takeChallenge(id);
    if (!taken || taken.purpose !== purpose || taken.expiresAt <= deps.now()) {
      throw new ApiError("invalid_passkey", "the passkey challenge is unknown, used or expired");
    }
    return taken;
  }

  return {
    relyingParty: rp,

    /** The user's passkeys. */
    list(user: UserRecord): Promise<PasskeyRecord[]> {
      return store.listPasskeys(userUid(user));
    },

    /** Removes one of the user's passkeys; 404 when it is not theirs. */
    async remove(user: UserRecord, id: string): Promise<void> {
      // An id that is no credential id is no key of the store (nor of any passkey).
      if (!isCredentialId(id) || !(await store.deletePasskey(userUid(user), id))) {
        throw new ApiError("not_found", "no such passkey of this user");
      }
      emit({ type: "passkey_removed", user_id: user.id });
    },

    /** Options for `navigator.credentials.create` (a discoverable credential, UV required). */
    async registrationOptions(user: UserRecord): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const { id: rpID } = requireRp();
      const uid = userUid(user);
      const existing = await store.listPasskeys(uid);
      if (existing.length >= MAX_PASSKEYS_PER_USER) {
        throw new ApiError("conflict", `at most ${MAX_PASSKEYS_PER_USER} passkeys per user`);
      }
      const options = await (await webauthn()).generateRegistrationOptions({
        rpName: rpID,
        rpID,
        userName: user.id,
        userID: new TextEncoder().encode(uid),
        attestationType: "none",
        excludeCredentials: existing.map((p) => ({
          id: p.id,
          transports: p.transports as AuthenticatorTransportFuture[],
        })),
        authenticatorSelection: { residentKey: "required", userVerification: "required" },
      });
      // One pending registration per user: a new one replaces it.
      await newChallenge("registration", options.challenge, `registration/${uid}`, uid);
      return options;
    },

    /** Verifies a registration response and stores the passkey. */
    async register(user: UserRecord, response: RegistrationResponseJSON): Promise<PasskeyRecord> {
      const { id: rpID, origin } = requireRp();
      const uid = userUid(user);
      const { challenge } = await takeChallenge(`registration/${uid}`, "registration");
      let verified;
      try {
        verified = await (await webauthn()).verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
      } catch (err) {
        throw refused(err);
      }
      if (!verified.verified) throw refused(undefined);
      const { credential, credentialBackedUp } = verified.registrationInfo;
      const record: PasskeyRecord = {
        id: credential.id,
        userId: user.id,
        userUid: uid,
        publicKey: base64url.encode(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports ?? [],
        backedUp: credentialBackedUp,
        createdAt: deps.now(),
      };
      if (!(await store.createPasskey(record))) {
        throw new ApiError("conflict", "this passkey is already registered");
      }
      emit({ type: "passkey_registered", user_id: user.id });
      return record;
    },

    /** Options for `navigator.credentials.get`: any discoverable passkey of this RP. */
    async authenticationOptions(): Promise<
      { challenge_id: string; options: PublicKeyCredentialRequestOptionsJSON }
    > {
      const { id: rpID } = requireRp();
      const options = await (await webauthn()).generateAuthenticationOptions({
        rpID,
        userVerification: "required",
        allowCredentials: [],
      });
      const challengeId = base64url.encode(crypto.getRandomValues(new Uint8Array(24)));
      await newChallenge("authentication", options.challenge, `authentication/${challengeId}`);
      return { challenge_id: challengeId, options };
    },

    /** Verifies a sign-in: whose passkey it is, with its counter moved on; else 401. */
    async authenticate(
      challengeId: string,
      response: AuthenticationResponseJSON,
    ): Promise<PasskeySignIn> {
      const { id: rpID, origin } = requireRp();
      const { challenge } = await takeChallenge(`authentication/${challengeId}`, "authentication");
      // Every door (the JSON route, the login page, a second step) reaches here: an id that is
      // no credential id is refused before it names a store key.
      const found = isCredentialId(response.id) ? await store.getPasskey(response.id) : undefined;
      if (!found) throw refused(undefined);
      const passkey = found.value;
      let verified;
      try {
        verified = await (await webauthn()).verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          credential: {
            id: passkey.id,
            publicKey: new Uint8Array(base64url.decode(passkey.publicKey)),
            counter: passkey.counter,
            transports: passkey.transports as AuthenticatorTransportFuture[],
          },
          requireUserVerification: true,
        });
      } catch (err) {
        emit({ type: "passkey_sign_in", user_id: passkey.userId, outcome: "failed" });
        throw refused(err);
      }
      const info = verified.authenticationInfo;
      if (!verified.verified || !info.userVerified) throw refused(undefined);
      const updated: PasskeyRecord = {
        ...passkey,
        counter: info.newCounter,
        lastUsedAt: deps.now(),
      };
      // The counter read is the one checked: a concurrent sign-in with it loses here.
      if (!(await store.updatePasskey(updated, found.versionstamp))) throw refused(undefined);
      emit({ type: "passkey_sign_in", user_id: passkey.userId, outcome: "passed" });
      return {
        userId: passkey.userId,
        userUid: passkey.userUid,
        amr: [info.credentialBackedUp ? "swk" : "hwk", "user"],
      };
    },
  };
}

/**
 * The user a verified passkey sign-in names, as stored now: gone, disabled, or removed and
 * created again under the same name (another uid), it is 401 `invalid_credentials`.
 */
export async function passkeyUser(
  users: Pick<UserStore, "getUser">,
  signIn: PasskeySignIn,
): Promise<Versioned<UserRecord>> {
  const user = await users.getUser(signIn.userId);
  if (!user || user.value.disabled || userUid(user.value) !== signIn.userUid) {
    throw new ApiError("invalid_credentials", "invalid credentials");
  }
  return user;
}

/** The passkey service's interface. */
export type PasskeyService = ReturnType<typeof createPasskeyService>;

function refused(err: unknown): ApiError {
  // The library's message says which check failed (origin, RP id, UV, counter): no secret.
  const why = err instanceof Error ? `: ${err.message.slice(0, 200)}` : "";
  return new ApiError("invalid_passkey", `the passkey response was not accepted${why}`);
}
