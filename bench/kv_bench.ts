/**
 * The server's KV stores (`src/store/kv_users.ts`, `kv_sessions.ts`) on a temporary KV file, as in
 * production (not `:memory:`): a user read, a session creation (one atomic commit of two
 * keys: the session and its index entry) and a refresh rotation's fast path (one read of the
 * session, then one commit that checks the session and the user and rewrites the session).
 * The labels are kept from before issue 11 (the token read is now the session read).
 *
 * @module
 */
import { join } from "node:path";
import { base64url } from "jose";
import { KvSessionStore } from "../src/store/kv_sessions.ts";
import { KvUserStore } from "../src/store/kv_users.ts";
import type { SessionRecord } from "../src/tokens/session_store.ts";

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

function newSession(at: number): SessionRecord {
  return {
    sid: crypto.randomUUID(),
    userId: "admin",
    userUid: "bench-admin",
    epoch: 0,
    role: "admin",
    createdAt: at,
    refreshedAt: at,
    expiresAt: at + 30 * DAY_MS,
    maxExpiresAt: at + 90 * DAY_MS,
    currentHash: randomHash(),
    userVersionstamp,
  };
}

Deno.bench("KvStore.getUser", { group: "kv" }, async () => {
  await users.getUser("admin");
});

Deno.bench("KvStore.createSession (1 commit)", { group: "kv", baseline: true }, async () => {
  const session = newSession(Date.now());
  await store.createSession({ session, userVersionstamp, now: session.createdAt });
});

// One chain of rotations, as one client refreshing again and again.
const first = newSession(Date.now());
await store.createSession({ session: first, userVersionstamp, now: first.createdAt });

// The server's fast path: read the session, then one commit that checks session and user.
async function rotate(b?: Deno.BenchContext): Promise<void> {
  const at = Date.now();
  const found = await store.getSession(first.sid);
  if (!found) throw new Error("refresh chain broken");
  const session = found.value;
  b?.start();
  const ok = await store.commitRotation({
    session: {
      ...session,
      refreshedAt: at,
      expiresAt: at + 30 * DAY_MS,
      parentHash: session.currentHash,
      currentHash: randomHash(),
    },
    sessionVersionstamp: found.versionstamp,
    userVersionstamp,
    now: at,
  });
  b?.end();
  if (!ok) throw new Error("rotation commit refused");
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
