/**
 * `deno task client <command>`: OAuth clients (service accounts) on the server's KV store, with
 * the same rules as `/admin/clients` (one client service serves both). A secret is printed once
 * (add, rotate-secret) and only its hash is stored.
 *
 * @module
 */
import "../require_deno_version.ts"; // first: one clear line on a Deno older than 2.9
import type { Services } from "../services.ts";
import type { ClientWithSecret } from "../oauth/client_service.ts";
import { defaultGrant, GRANT_TYPES, PUBLIC_GRANT_TYPES } from "../oauth/grant_types.ts";
import { table } from "./output.ts";
import { type CliSpec, parseCommandLine, usageError } from "./command_line.ts";
import { withServices } from "./with_services.ts";

interface Args {
  /** The running command's usage line, for its usage errors. */
  readonly usage: string;
  readonly positionals: string[];
  readonly scopes: string[];
  readonly grants: string[];
  readonly redirectUris: string[];
  readonly postLogoutRedirectUris: string[];
  readonly public: boolean;
  readonly json: boolean;
}

interface Command {
  readonly usage: string;
  readonly summary: string;
  run(services: Services, args: Args): Promise<void>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  add: {
    usage: `add <client_id> [--scope <scope>]... [--grant ${GRANT_TYPES.join("|")}]... ` +
      "[--redirect-uri <uri>]... [--post-logout-redirect-uri <uri>]... [--public] [--json]",
    summary: "Register a client and print its secret once (a --public client has none). " +
      `Grant types default to ${defaultGrant(false)} (--public: ${defaultGrant(true)}, and ` +
      `only ${PUBLIC_GRANT_TYPES.join(", ")}); authorization_code needs --redirect-uri`,
    async run(services, args) {
      const added = await services.clients.add(one(args), {
        scopes: args.scopes,
        ...(args.grants.length ? { grantTypes: args.grants } : {}),
        redirectUris: args.redirectUris,
        postLogoutRedirectUris: args.postLogoutRedirectUris,
        public: args.public,
      });
      printSecret(args, added, "Added");
    },
  },
  list: {
    usage: "list [--json]",
    summary: "List clients (never their secrets)",
    async run(services, args) {
      const clients = await services.clients.list();
      if (args.json) return console.log(JSON.stringify(clients));
      console.log(table(
        ["CLIENT_ID", "SCOPES", "GRANT_TYPES", "CREATED"],
        clients.map((
          c,
        ) => [c.client_id, c.scopes.join(" "), c.grant_types.join(","), c.created_at]),
      ));
    },
  },
  remove: {
    usage: "remove <client_id>",
    summary: "Remove a client; its tokens introspect inactive at once and verify until exp",
    async run(services, args) {
      const clientId = one(args);
      await services.clients.remove(clientId);
      console.log(
        args.json ? JSON.stringify({ removed: clientId }) : `Removed client "${clientId}"`,
      );
    },
  },
  "rotate-secret": {
    usage: "rotate-secret <client_id> [--json]",
    summary: "Replace a client's secret (the old one stops working at once); prints it once",
    async run(services, args) {
      printSecret(args, await services.clients.rotateSecret(one(args)), "New secret for");
    },
  },
};

function printSecret(args: Args, { client, secret }: ClientWithSecret, verb: string): void {
  if (args.json) {
    console.log(JSON.stringify({
      client_id: client.client_id,
      ...(client.public ? {} : { client_secret: secret }),
      scopes: client.scopes,
      grant_types: client.grant_types,
      redirect_uris: client.redirect_uris,
      post_logout_redirect_uris: client.post_logout_redirect_uris,
      public: client.public,
    }));
    return;
  }
  console.log(
    `${verb} client "${client.client_id}" (scopes: ${client.scopes.join(" ") || "-"}; ` +
      `grants: ${client.grant_types.join(", ")}` +
      (client.redirect_uris.length ? `; redirect URIs: ${client.redirect_uris.join(" ")}` : "") +
      (client.public ? "; public: no secret, PKCE required" : "") + ")",
  );
  if (client.public) return;
  console.log(`client_secret: ${secret}`);
  console.log("Store it now: it is not kept and cannot be shown again.");
}

function one(args: Args): string {
  const [value, extra] = args.positionals;
  if (value === undefined || extra !== undefined) {
    throw usageError("client", args.usage, "Expected exactly one <client_id>");
  }
  return value;
}

const SPEC: CliSpec = {
  task: "client",
  commands: COMMANDS,
  options: {
    scope: { type: "string", multiple: true },
    grant: { type: "string", multiple: true },
    "redirect-uri": { type: "string", multiple: true },
    "post-logout-redirect-uri": { type: "string", multiple: true },
    public: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
  notes: ["Options: --json (machine-readable output), --help"],
};

/** Runs the CLI with `argv`; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const line = parseCommandLine(argv, SPEC);
  if (typeof line === "number") return line;
  const command = COMMANDS[line.command]!;
  return await withServices((services) =>
    command.run(services, {
      usage: command.usage,
      positionals: line.positionals,
      scopes: (line.values.scope as string[] | undefined) ?? [],
      grants: (line.values.grant as string[] | undefined) ?? [],
      redirectUris: (line.values["redirect-uri"] as string[] | undefined) ?? [],
      postLogoutRedirectUris: (line.values["post-logout-redirect-uri"] as string[] | undefined) ??
        [],
      public: line.values.public === true,
      json: line.values.json === true,
    })
  );
}

if (import.meta.main) Deno.exit(await main(Deno.args));
