/**
 * The server's KV stores (`src/store/kv_users.ts`, `kv_sessions.ts`) on a temporary KV file, as in
 * production (not `:memory:`): a user read, a session creation (one atomic commit of three
 * keys) and a refresh rotation's fast path (one read of the token, then one commit that checks
 * the token, the session and the user).
 *
 * @module
 */
import { join } from "node:path";
import { base64url } from "jose";
import { KvSessionStore } from "../src/store/kv_sessions.ts";
import { KvUserStore } from "../src/store/kv_users.ts";
import type { RefreshRecord, SessionRecord } from "../src/tokens/session_store.ts";

const dir = await Deno.makeTempDir({ prefix: "auth-bench-kv-" });
const kv = await Deno.openKv(join(dir, "bench.kv"));
const users = new KvUserStore(kv);
const store = new KvSessionStore(kv);
globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});

const DAY_MS = 86_400_000;
const randomHash = () => base64url.encode(crypto.getRandomValues(new Uint8Array(32)));

const now = Date.now();
await users.createUser({
  id: "admin",
  passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
  roles: ["admin", "user"],
  disabled: false,
  createdAt: now,
  updatedAt: now,
});
const userVersionstamp = (await users.getUser("admin"))!.versionstamp;

function newSession(at: number): { session: SessionRecord; hash: string; record: RefreshRecord } {
  const hash = randomHash();
  const session: SessionRecord = {
    sid: crypto.randomUUID(),
    userId: "admin",
    role: "admin",
    createdAt: at,
    expiresAt: at + 30 * DAY_MS,
  };
  const record: RefreshRecord = {
    sid: session.sid,
    userId: "admin",
    role: "admin",
    sessionCreatedAt: at,
    indexExpiresAt: at + 60 * DAY_MS,
    userVersionstamp,
    issuedAt: at,
    expiresAt: session.expiresAt,
  };
  return { session, hash, record };
}

Deno.bench("KvStore.getUser", { group: "kv" }, async () => {
  await users.getUser("admin");
});

Deno.bench("KvStore.createSession (1 commit)", { group: "kv", baseline: true }, async () => {
  const { session, hash, record } = newSession(Date.now());
  await store.createSession(session, hash, record);
});

// One chain of rotations, as one client refreshing again and again.
const first = newSession(Date.now());
await store.createSession(first.session, first.hash, first.record);
let current = first.hash;

// The server's fast path: read the token, then one commit that checks token, session and user.
async function rotate(b?: Deno.BenchContext): Promise<void> {
  const at = Date.now();
  const found = await store.getRefresh(current);
  if (!found) throw new Error("refresh chain broken");
  const record = found.value;
  const child = randomHash();
  b?.start();
  const ok = await store.commitRotation({
    sid: record.sid,
    userId: record.userId,
    spent: {
      hash: current,
      versionstamp: found.versionstamp,
      record: { ...record, spentAt: at, childHash: child },
    },
    child: { hash: child, record: { ...record, issuedAt: at, expiresAt: at + 30 * DAY_MS } },
    sessionVersionstamp: found.versionstamp,
    userVersionstamp,
    session: {
      sid: record.sid,
      userId: record.userId,
      role: record.role,
      createdAt: record.sessionCreatedAt,
      expiresAt: at + 30 * DAY_MS,
    },
    now: at,
  });
  b?.end();
  if (!ok) throw new Error("rotation commit refused");
  current = child;
}

Deno.bench("KvStore.commitRotation (commit only)", { group: "kv" }, async (b) => {
  await rotate(b);
});

Deno.bench(
  "refresh rotation, fast path (getRefresh + commitRotation)",
  { group: "kv" },
  async () => {
    await rotate();
  },
);
