/**
 * Several server processes on one port: `SO_REUSEPORT`, asked for by `AUTH_REUSE_PORT=1` (which
 * `deno task start:all-cores` sets on each process it starts). Only Linux spreads the connections
 * of one port across the processes listening on it; macOS and the BSDs let every process bind
 * but hand each new connection to one of them, and Windows has no such option (Deno ignores it).
 * So elsewhere the setting is refused with one line rather than silently serving from one
 * process while the others idle.
 *
 * @module
 */

/** The environment variable that asks for `SO_REUSEPORT`. */
export const REUSE_PORT_VAR = "AUTH_REUSE_PORT";

/**
 * Whether to listen with `SO_REUSEPORT`, or why this platform cannot share a port fairly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reusePortSetting } from "./reuse_port.ts";
 * assert.deepEqual(reusePortSetting("1", "linux"), { reusePort: true });
 * assert.deepEqual(reusePortSetting(undefined, "darwin"), { reusePort: false });
 * assert.match((reusePortSetting("1", "darwin") as { problem: string }).problem, /Linux/);
 * ```
 */
export function reusePortSetting(
  value: string | undefined,
  os: typeof Deno.build.os,
): { reusePort: boolean } | { problem: string } {
  if (value === undefined || value === "" || value === "0") return { reusePort: false };
  if (value !== "1") return { problem: `${REUSE_PORT_VAR} must be 1 or 0, not ${value}` };
  if (os !== "linux") {
    return {
      problem: `${REUSE_PORT_VAR}=1 needs Linux: only its SO_REUSEPORT spreads one port's ` +
        `connections across processes, and this is ${os}; run one process (deno task start)`,
    };
  }
  return { reusePort: true };
}
