/**
 * `deno task user <command>`: user management on the server's KV store, with the same rules as
 * the admin API (one user service serves both).
 *
 * @module
 */
import "../require_deno_version.ts"; // first: one clear line on a Deno older than 2.9
import type { Services } from "../services.ts";
import type { UserRecord } from "../users/user_store.ts";
import { publicUser } from "../users/user_service.ts";
import { table } from "./output.ts";
import { type CliSpec, parseCommandLine, usageError } from "./command_line.ts";
import {
  MAX_PASSWORD_LENGTH,
  MAX_ROLE_LENGTH,
  MAX_USER_ID_LENGTH,
  MIN_PASSWORD_LENGTH,
} from "../users/user_rules.ts";
import { withServices } from "./with_services.ts";
import { readPassword } from "./password_prompt.ts";

interface Command {
  readonly usage: string;
  readonly summary: string;
  run(services: Services, args: Args): Promise<void>;
}

interface Args {
  /** The running command's usage line, for its usage errors. */
  readonly usage: string;
  readonly positionals: string[];
  readonly roles: string[];
  readonly json: boolean;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  add: {
    usage: "add <user_id> [--role <role>]...",
    summary: `Create a user (roles default to user); the password (${MIN_PASSWORD_LENGTH} to ` +
      `${MAX_PASSWORD_LENGTH} characters) from a hidden prompt, or one line of stdin`,
    async run(services, args) {
      const userId = one(args, "user_id", PASSWORD_SOURCE);
      const user = await services.users.add(
        userId,
        await readPassword("Password: ", `add ${userId}`),
        args.roles.length ? args.roles : ["user"],
      );
      print(args, publicUser(user), `Added user "${user.id}" (roles: ${user.roles.join(", ")})`);
    },
  },
  list: {
    usage: "list [--json]",
    summary: "List users",
    async run(services, args) {
      const users: UserRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await services.users.list(500, cursor);
        users.push(...page.users);
        cursor = page.cursor;
      } while (cursor);
      if (args.json) return console.log(JSON.stringify(users.map(publicUser)));
      console.log(table(
        ["USER_ID", "ROLES", "STATUS", "CREATED"],
        users.map((
          u,
        ) => [u.id, u.roles.join(","), u.disabled ? "disabled" : "enabled", iso(u.createdAt)]),
      ));
    },
  },
  show: {
    usage: "show <user_id> [--json]",
    summary: "Show one user",
    async run(services, args) {
      const user = publicUser(await services.users.get(one(args, "user_id")));
      print(
        args,
        user,
        table(["FIELD", "VALUE"], Object.entries(user).map(([k, v]) => [k, String(v)])),
      );
    },
  },
  remove: {
    usage: "remove <user_id>",
    summary: "Remove a user and end their sessions",
    async run(services, args) {
      const userId = one(args, "user_id");
      await services.users.remove(userId);
      print(args, { removed: userId }, `Removed user "${userId}"`);
    },
  },
  passwd: {
    usage: "passwd <user_id>",
    summary: `Set a new password (${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters; ` +
      "prompt or stdin) and end the user's sessions",
    async run(services, args) {
      const userId = one(args, "user_id", PASSWORD_SOURCE);
      await services.users.get(userId);
      await services.users.update(userId, {
        password: await readPassword("New password: ", `passwd ${userId}`),
      });
      print(
        args,
        { updated: userId },
        `Password changed for "${userId}"; their sessions have ended`,
      );
    },
  },
  roles: {
    usage: "roles <user_id> <role>...",
    summary: "Replace a user's roles (sessions end if a role is taken away)",
    async run(services, args) {
      const [userId, ...roles] = args.positionals;
      if (!userId || roles.length === 0) {
        throw usageError("user", "roles <user_id> <role>...", "Expected a <user_id> and a <role>");
      }
      const user = await services.users.update(userId, { roles });
      print(args, publicUser(user), `Roles of "${userId}": ${user.roles.join(", ")}`);
    },
  },
  disable: {
    usage: "disable <user_id>",
    summary: "Refuse the user's logins and end their sessions",
    async run(services, args) {
      const user = await services.users.update(one(args, "user_id"), { disabled: true });
      print(args, publicUser(user), `Disabled "${user.id}"`);
    },
  },
  sessions: {
    usage: "sessions <user_id> [--json]",
    summary: "List the user's live sessions, oldest first",
    async run(services, args) {
      const user = await services.users.get(one(args, "user_id"));
      const sessions = (await services.sessions.list(user)).map((s) => ({
        sid: s.sid,
        role: s.role,
        created_at: iso(s.createdAt),
        last_refreshed_at: iso(s.refreshedAt),
        expires_at: iso(s.expiresAt),
      }));
      if (args.json) return console.log(JSON.stringify(sessions));
      console.log(table(
        ["SID", "ROLE", "CREATED", "LAST_REFRESHED", "EXPIRES"],
        sessions.map((s) => [s.sid, s.role, s.created_at, s.last_refreshed_at, s.expires_at]),
      ));
    },
  },
  mfa: {
    usage: "mfa reset <user_id>",
    summary: "Remove every second factor of a user (TOTP, pending enrolment, recovery codes, " +
      "passkeys), " +
      "for one who lost their authenticator and their recovery codes",
    async run(services, args) {
      const [action, userId, extra] = args.positionals;
      if (action !== "reset" || userId === undefined || extra !== undefined) {
        throw usageError("user", args.usage, "Expected reset and exactly one <user_id>");
      }
      const user = await services.users.get(userId);
      const removed = await services.mfa.reset(user, "cli");
      print(
        args,
        { user_id: userId, removed },
        removed
          ? `Removed every second factor of "${userId}"; they sign in with the password alone`
          : `"${userId}" has no second factor`,
      );
    },
  },
  enable: {
    usage: "enable <user_id>",
    summary: "Allow the user to log in again",
    async run(services, args) {
      const user = await services.users.update(one(args, "user_id"), { disabled: false });
      print(args, publicUser(user), `Enabled "${user.id}"`);
    },
  },
};

/** The rules every user id, password and role follows (also in the README). */
export const USER_RULES = [
  `Rules: a user_id is 1 to ${MAX_USER_ID_LENGTH} characters, no control characters; a new one`,
  "also has no invisible or direction characters, no white space at its ends and is in Unicode",
  "NFKC (no full-width letters): two ids never differ only by what does not show; a password",
  `is ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters; a role is 1 to ${MAX_ROLE_LENGTH} of ` +
  "A-Z a-z 0-9 _ . : -",
  "Options: --json (machine-readable output), --help",
];

const SPEC: CliSpec = {
  task: "user",
  commands: COMMANDS,
  options: {
    role: { type: "string", multiple: true },
    json: { type: "boolean", default: false },
  },
  notes: USER_RULES,
};

/** Said when a password is given as an argument: it is read from elsewhere. */
const PASSWORD_SOURCE = "the password is not an argument: it comes from a hidden prompt on a " +
  "terminal, or one line of stdin (echo '<password>' | deno task user add <user_id>)";

function one(args: Args, name: string, extraHint?: string): string {
  const [value, extra] = args.positionals;
  if (value === undefined || extra !== undefined) {
    const hint = extra !== undefined && extraHint ? `; ${extraHint}` : "";
    throw usageError("user", args.usage, `Expected exactly one <${name}>${hint}`);
  }
  return value;
}

function print(args: Args, json: unknown, text: string): void {
  console.log(args.json ? JSON.stringify(json) : text);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}

/** Runs the CLI with `argv`; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const line = parseCommandLine(argv, SPEC);
  if (typeof line === "number") return line;
  const command = COMMANDS[line.command]!;
  return await withServices((services) =>
    command.run(services, {
      usage: command.usage,
      positionals: line.positionals,
      roles: (line.values.role as string[] | undefined) ?? [],
      json: line.values.json === true,
    })
  );
}

if (import.meta.main) Deno.exit(await main(Deno.args));
