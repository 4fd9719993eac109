/**
 * Moving every record between engines as JSON lines (`deno task store export|import`): users
 * (with their password hashes, so nobody resets a password), OAuth clients, the signing key set
 * (still encrypted under `SECRET_KEY`) with its in-use marks, the users' second factors (TOTP
 * secrets still sealed under `SECRET_KEY` and bound to the user's uid, recovery-code hashes,
 * passkeys: a user who moved without them would sign in with a password alone), and the live
 * sessions (so signed-in users stay signed in). Pending login and passkey challenges stay behind:
 * they last minutes, and a user asked for a second step starts again. Only the ports are used, so
 * any engine exports to any other.
 *
 * The first line names the format: `{"format":"auth-store","version":2}`; then one object a
 * line, `{"kind":"user"|"client"|"key_set"|"key_in_use"|"mfa"|"passkey"|"session", ...}`.
 * Version 1 (the first export, before second factors moved) is refused: it may lack factors.
 *
 * @module
 */
import type { InternalErrorCode } from "../errors.ts";
import { isStoredKeySet, type StoredKeySet } from "../keys/key_store.ts";
import type { MfaRecord } from "../mfa/mfa_store.ts";
import type { PasskeyRecord } from "../passkeys/passkey_store.ts";
import type { ClientRecord } from "../oauth/client_store.ts";
import { isSessionLive, type SessionRecord } from "../tokens/session_store.ts";
import { type UserRecord, userUid } from "../users/user_store.ts";
import type { Stores } from "./stores.ts";

/** The header line's object. */
export const EXPORT_HEADER = { format: "auth-store", version: 2 } as const;

/** One exported line. */
export type ExportLine =
  | { readonly kind: "user"; readonly record: UserRecord }
  | { readonly kind: "client"; readonly record: ClientRecord }
  | { readonly kind: "key_set"; readonly record: StoredKeySet }
  | { readonly kind: "key_in_use"; readonly kid: string; readonly at: number }
  | { readonly kind: "mfa"; readonly userUid: string; readonly record: MfaRecord }
  | { readonly kind: "passkey"; readonly record: PasskeyRecord }
  | { readonly kind: "session"; readonly record: SessionRecord };

/** What an import wrote, by kind. */
export interface ImportCounts {
  users: number;
  clients: number;
  keySets: number;
  keysInUse: number;
  /** Users whose second factors (TOTP, recovery codes) moved. */
  factors: number;
  passkeys: number;
  sessions: number;
}

/** A line that cannot be imported, or a target that is not empty. */
export class TransferError extends Error {
  readonly code = "transfer_refused" satisfies InternalErrorCode;
  constructor(message: string) {
    super(message);
    this.name = "TransferError";
  }
}

/**
 * Every record of `stores` as lines (header first); sessions only while live at `now`; second
 * factors and passkeys only of the users exported (a user removed leaves none to move).
 */
export async function* exportLines(stores: Stores, now: number): AsyncGenerator<string> {
  yield JSON.stringify(EXPORT_HEADER);
  const uids: string[] = [];
  for await (const { value } of stores.users.allUsers()) {
    uids.push(userUid(value));
    yield line({ kind: "user", record: value });
  }
  for (const record of await stores.clients.listClients()) yield line({ kind: "client", record });
  const keys = await stores.keys.read();
  if (keys) yield line({ kind: "key_set", record: keys.set });
  for (const [kid, at] of await stores.keys.inUse()) yield line({ kind: "key_in_use", kid, at });
  const exported = new Set(uids);
  for await (const { userUid, record } of stores.mfa.allFactors()) {
    if (exported.has(userUid)) yield line({ kind: "mfa", userUid, record });
  }
  for await (const record of stores.passkeys.allPasskeys()) {
    if (exported.has(record.userUid)) yield line({ kind: "passkey", record });
  }
  for (const uid of uids) {
    for (const record of await stores.sessions.listUserSessions(uid)) {
      if (isSessionLive(record, now)) yield line({ kind: "session", record });
    }
  }
}

/**
 * Reads exported lines into `stores`, which must hold no user, client or key set (a move, not
 * a merge: nothing of the target is overwritten). A session keeps its refresh-token hashes but
 * not the user stamp it recorded (a stamp of the old engine): its next refresh checks the user
 * afresh. Throws {@link TransferError} naming the line of the first problem.
 */
export async function importLines(
  stores: Stores,
  lines: AsyncIterable<string>,
  now: number,
): Promise<ImportCounts> {
  if (
    await stores.users.hasUsers() || (await stores.clients.listClients()).length > 0 ||
    await stores.keys.read()
  ) {
    throw new TransferError(
      "The target store is not empty (it has users, clients or keys): import into a fresh one " +
        "(start no server on it first)",
    );
  }
  const counts: ImportCounts = {
    users: 0,
    clients: 0,
    keySets: 0,
    keysInUse: 0,
    factors: 0,
    passkeys: 0,
    sessions: 0,
  };
  let number = 0;
  for await (const text of lines) {
    number++;
    if (text.trim() === "") continue;
    const parsed = parse(text, number);
    if (number === 1) {
      if ((parsed as { format?: unknown }).format !== EXPORT_HEADER.format) {
        throw new TransferError("Line 1 is not the header of a `deno task store export`");
      }
      if ((parsed as { version?: unknown }).version === 1) {
        throw new TransferError(
          "Line 1: an export of format version 1 holds no second factors (TOTP, passkeys): " +
            "export again with this version, or its users would sign in with a password alone",
        );
      }
      if ((parsed as { version?: unknown }).version !== EXPORT_HEADER.version) {
        throw new TransferError("Line 1: an export format version this server does not know");
      }
      continue;
    }
    await importOne(stores, checked(parsed, number), counts, now, number);
  }
  if (number === 0) throw new TransferError("No input: pipe in a `deno task store export`");
  return counts;
}

async function importOne(
  stores: Stores,
  entry: ExportLine,
  counts: ImportCounts,
  now: number,
  number: number,
): Promise<void> {
  const duplicate = () => new TransferError(`Line ${number}: a duplicate ${entry.kind}`);
  switch (entry.kind) {
    case "user":
      if (!(await stores.users.createUser(entry.record))) throw duplicate();
      counts.users++;
      return;
    case "client":
      if (!(await stores.clients.createClient(entry.record))) throw duplicate();
      counts.clients++;
      return;
    case "key_set":
      if (!(await stores.keys.write(entry.record, undefined))) throw duplicate();
      counts.keySets++;
      return;
    case "key_in_use":
      await stores.keys.markInUse(entry.kid, entry.at);
      counts.keysInUse++;
      return;
    case "mfa":
      // As exported: the TOTP secret is sealed under SECRET_KEY with the uid as associated
      // data, so it opens on the target only with the same SECRET_KEY and under the same uid.
      if (!(await stores.mfa.putFactors(entry.userUid, entry.record, null))) throw duplicate();
      counts.factors++;
      return;
    case "passkey":
      if (!(await stores.passkeys.createPasskey(entry.record))) throw duplicate();
      counts.passkeys++;
      return;
    case "session": {
      const { userVersionstamp: _old, ...session } = entry.record;
      if (!isSessionLive(session, now)) return; // ended since the export
      const outcome = await stores.sessions.createSession({ session, now });
      if (outcome.outcome !== "created") throw duplicate();
      counts.sessions++;
    }
  }
}

function line(entry: ExportLine): string {
  return JSON.stringify(entry);
}

function parse(text: string, number: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new TransferError(`Line ${number} is not JSON`);
  }
}

/** The shape of a line, checked enough that nothing malformed reaches a store. */
function checked(value: unknown, number: number): ExportLine {
  const entry = value as Record<string, unknown> | null;
  const record = entry?.record as Record<string, unknown> | undefined;
  const bad = (what: string) => new TransferError(`Line ${number}: ${what}`);
  switch (entry?.kind) {
    case "user":
      // The uid is the user's OpenID subject and binds its sessions: text, or absent (a record
      // written before uids existed), never anything else.
      if (
        !isText(record?.id) || !isText(record?.passwordHash) || !Array.isArray(record?.roles) ||
        typeof record?.disabled !== "boolean" || (record?.uid !== undefined && !isText(record.uid))
      ) throw bad("not a user record");
      return entry as ExportLine;
    case "client":
      // A public client (RFC 6749 2.1) has no secret: its hash is empty, and only then.
      if (
        !isText(record?.clientId) ||
        !(record?.public === true ? record.secretHash === "" : isText(record?.secretHash))
      ) {
        throw bad("not a client record");
      }
      return entry as ExportLine;
    case "key_set":
      if (!isStoredKeySet(record)) throw bad("not a key set this server wrote");
      return entry as ExportLine;
    case "key_in_use":
      if (!isText(entry.kid) || typeof entry.at !== "number") throw bad("not an in-use mark");
      return entry as ExportLine;
    case "mfa":
      if (!isText(entry.userUid) || !isMfaRecord(record)) throw bad("not a second-factor record");
      return entry as ExportLine;
    case "passkey":
      if (!isPasskeyRecord(record)) throw bad("not a passkey record");
      return entry as ExportLine;
    case "session":
      if (
        !isText(record?.sid) || !isText(record?.userId) || !isText(record?.userUid) ||
        !isText(record?.currentHash) || typeof record?.expiresAt !== "number" ||
        typeof record?.maxExpiresAt !== "number"
      ) throw bad("not a session record");
      return entry as ExportLine;
    default:
      throw bad(`unknown kind ${JSON.stringify(entry?.kind)?.slice(0, 40)}`);
  }
}

const isText = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isTime = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isSealed = (v: unknown) => isObject(v) && isText(v.iv) && isText(v.ciphertext);

/**
 * A factors record, strictly: a `totp` that is present but malformed is refused rather than
 * moved, since a user whose factor does not read back would sign in with a password alone.
 */
function isMfaRecord(v: unknown): v is MfaRecord {
  if (!isObject(v) || !isText(v.userId) || !isTime(v.updatedAt)) return false;
  if (!Array.isArray(v.recoveryCodes) || !v.recoveryCodes.every(isText)) return false;
  const { totp, pending } = v;
  if (
    totp !== undefined &&
    !(isObject(totp) && isSealed(totp.sealed) && isTime(totp.confirmedAt) &&
      Number.isSafeInteger(totp.lastStep))
  ) return false;
  return pending === undefined ||
    (isObject(pending) && isSealed(pending.sealed) && isTime(pending.createdAt));
}

function isPasskeyRecord(v: unknown): v is PasskeyRecord {
  return isObject(v) && isText(v.id) && isText(v.userId) && isText(v.userUid) &&
    isText(v.publicKey) && isTime(v.counter) && Array.isArray(v.transports) &&
    v.transports.every((t) => typeof t === "string") && typeof v.backedUp === "boolean" &&
    isTime(v.createdAt) && (v.lastUsedAt === undefined || isTime(v.lastUsedAt));
}
