/**
 * The machine a run measured on: CPUs, load, Deno and V8 versions (the first lines of the
 * report and of `bench/results/latest.json`).
 *
 * @module
 */
import { procText } from "./processes.ts";

const decoder = new TextDecoder();

/** What the report says of the machine. */
export type Machine = Awaited<ReturnType<typeof machine>>;

/** Describes this machine, now. */
export async function machine() {
  const cpuinfo = await procText("/proc/cpuinfo");
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const nproc = decoder.decode(
    (await new Deno.Command("nproc", { stdout: "piped" }).output()).stdout,
  )
    .trim();
  const loadavg = (await procText("/proc/loadavg")).split(" ")
    .slice(0, 3).join(" ");
  return {
    date: new Date().toISOString(),
    nproc: Number(nproc) || navigator.hardwareConcurrency,
    cpu,
    loadavg_at_start: loadavg,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os}-${Deno.build.arch}`,
  };
}
