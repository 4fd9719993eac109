/**
 * `deno task mutate`: proves the suite catches every broken security property on the list in
 * `tools/mutants.ts`. For each mutant: copy the tree to a temporary directory (the files git
 * knows plus untracked ones it does not ignore), let `deno install --frozen` lay out that
 * copy's own `node_modules` from Deno's cache (a symlink to this tree's would not do: Deno
 * resolves it, so the tasks' `--allow-ffi=./node_modules/...` paths stop matching, and Deno
 * could write through it), apply the edit there, run the suite and collect the names of the
 * failing tests. The work tree is never edited.
 *
 * Two modes. Default (fail-fast): `deno test --no-check --fail-fast` with the test task's flags,
 * first over the test modules whose import graph reaches the mutated file, nearest first (one
 * `deno info` of every test module, read once per run), then, if none of them failed, one run per group of test
 * directories, the fast ones first (security, unit, app, doc tests, then examples and compile,
 * e2e last), stopping at the first failing test, which the table names; the mutated file is
 * type-checked first instead. `--full`: the whole suite
 * (`deno task test`) per mutant and every catching test; about three times as long (the full
 * list at ~90 s a suite on two cores would take over an hour).
 *
 * Usage: `deno task mutate [--full] [--jobs N] [--only name,name] [--timeout SECONDS] [--check]`
 * (`--check` only validates the list). The suite runs in its own process group (`setsid`), and
 * a timeout kills the whole group, so no `deno test` or server it started outlives it. Exits 0 when every mutant is killed, 1 when one survives
 * (or does not type-check, or the unmutated baseline fails), 2 when the list itself is broken.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Mutant, MUTANTS } from "./mutants.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** What one suite run showed. */
export interface Outcome {
  readonly status: "killed" | "survived" | "invalid" | "timeout";
  /** Failing tests (and steps), by name. */
  readonly failing: string[];
  readonly detail: string;
  readonly seconds: number;
}

/** The text with the mutant applied; throws unless `search` occurs exactly once. */
export function applyMutant(text: string, mutant: Mutant): string {
  const count = text.split(mutant.search).length - 1;
  if (count !== 1) {
    throw new Error(
      `mutant "${mutant.name}": search text found ${count} times in ${mutant.file} (need 1): ` +
        JSON.stringify(mutant.search),
    );
  }
  return text.replace(mutant.search, () => mutant.replace);
}

/** Problems with the list itself: duplicate names, or search texts not found exactly once. */
export async function listProblems(mutants: readonly Mutant[], root: string): Promise<string[]> {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const mutant of mutants) {
    if (names.has(mutant.name)) problems.push(`duplicate mutant name "${mutant.name}"`);
    names.add(mutant.name);
    if (mutant.search === mutant.replace) problems.push(`mutant "${mutant.name}" changes nothing`);
    let text: string;
    try {
      text = await Deno.readTextFile(join(root, mutant.file));
    } catch {
      problems.push(`mutant "${mutant.name}": cannot read ${mutant.file}`);
      continue;
    }
    try {
      applyMutant(text, mutant);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  return problems;
}

/**
 * Reads Deno's test report: the summary line and the names in its FAILURES section
 * (`name => ./file.ts:line:col`; a failing step is `parent ... step => ...`).
 */
export function readReport(output: string): { summary: string | undefined; failing: string[] } {
  // deno-lint-ignore no-control-regex
  const text = output.replace(/\x1b\[[0-9;]*m/g, "");
  // The last summary: a fail-fast run reports one per group and stops at the failing one.
  const summary = [...text.matchAll(/^(ok|FAILED) \| \d+ passed.*$/gm)].at(-1)?.[0];
  const failures = text.split(/^ FAILURES $/m)[1] ?? "";
  const failing = [...failures.matchAll(/^(.+?) => \S+:\d+:\d+$/gm)].map((m) => m[1]!.trim());
  return { summary, failing: [...new Set(failing)] };
}

/** Copies the tree (tracked and untracked, not ignored files) into a new temporary directory. */
async function copyTree(files: readonly string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mutant-" });
  for (const file of files) {
    await Deno.mkdir(join(dir, dirname(file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(dir, file));
  }
  const install = await new Deno.Command("deno", {
    args: ["install", "--frozen"],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!install.success) {
    throw new Error(`deno install in ${dir} failed: ${new TextDecoder().decode(install.stderr)}`);
  }
  return dir;
}

async function treeFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("git ls-files failed");
  const names = new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
  const present: string[] = [];
  for (const name of names) {
    // Deleted but not yet committed files are listed by --cached; skip them.
    const info = await Deno.lstat(join(ROOT, name)).catch(() => undefined);
    if (info?.isFile) present.push(name);
  }
  return present;
}

/**
 * The groups a fail-fast run takes, in order, one `deno test` each (Deno sorts the modules of
 * one run by path, which would put e2e before security): the fast ones first, e2e last.
 */
const FAIL_FAST_GROUPS = [
  ["tests/security/"],
  ["tests/unit/"],
  ["tests/store/"],
  ["tests/app/"],
  ["src/"],
  ["tests/examples/", "tests/compile/"],
  ["tests/e2e/"],
];

/**
 * The test task's command (deno.json `tasks.test`) as fail-fast runs, one per group of
 * {@link FAIL_FAST_GROUPS}: the task's own flags plus `--no-check --fail-fast`. Throws when the
 * task is not a plain `deno test ... tests/ src/` command.
 */
export function failFastRuns(testTask: string): string[][] {
  const words = testTask.trim().split(/\s+/).filter((w) => !ENV_ASSIGNMENT.test(w));
  if (words[0] !== "deno" || words[1] !== "test") {
    throw new Error(`the test task is not a plain deno test command: ${testTask}`);
  }
  const flags = words.slice(2).filter((w) => w.startsWith("-"));
  const paths = words.slice(2).filter((w) => !w.startsWith("-"));
  if (paths.join(" ") !== "tests/ src/") {
    throw new Error(`the test task's paths changed (update FAIL_FAST_GROUPS): ${paths.join(" ")}`);
  }
  // Type-checked once per mutant before (see runSuite), not per group.
  return FAIL_FAST_GROUPS.map((group) => ["test", ...flags, "--no-check", "--fail-fast", ...group]);
}

/** A test module whose import graph reaches a file, and how many imports away. */
export interface Reach {
  readonly test: string;
  /** 1: the test imports the file itself; 2: through one module; and so on. */
  readonly distance: number;
}

/**
 * The test modules whose import graph reaches each file, read from `deno info --json` of one root
 * that imports every test module: `modules[]`, each with its `specifier` and the `code` and
 * `type` specifiers of its `dependencies` (dynamic imports included). Keys and tests are paths
 * relative to `root` (a directory URL ending in `/`); only `file:` modules under it count.
 */
export function testsReaching(
  info: DenoInfo,
  testModules: readonly string[],
  root: string,
): Map<string, Reach[]> {
  const edges = new Map<string, string[]>();
  for (const module of info.modules) {
    const targets = (module.dependencies ?? []).flatMap((d) =>
      [d.code?.specifier, d.type?.specifier].filter((s): s is string => s !== undefined)
    );
    edges.set(module.specifier, targets);
  }
  const reaching = new Map<string, Reach[]>();
  for (const test of testModules) {
    // Breadth first: each module's distance is its fewest imports from the test.
    const distance = new Map([[root + test, 0]]);
    const queue = [root + test];
    for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
      for (const next of edges.get(at) ?? []) {
        if (distance.has(next)) continue;
        distance.set(next, distance.get(at)! + 1);
        queue.push(next);
      }
    }
    for (const [specifier, d] of distance) {
      if (d === 0 || !specifier.startsWith(root)) continue;
      const path = decodeURIComponent(specifier.slice(root.length));
      reaching.set(path, [...(reaching.get(path) ?? []), { test, distance: d }]);
    }
  }
  return reaching;
}

/** The part of `deno info --json` that {@link testsReaching} reads. */
export interface DenoInfo {
  readonly modules: readonly {
    readonly specifier: string;
    readonly dependencies?: readonly {
      readonly code?: { readonly specifier: string };
      readonly type?: { readonly specifier: string };
    }[];
  }[];
}

/**
 * The targeted runs that go before the groups: the test modules that import the mutated file
 * (directly or not), nearest first (one run per distance, the mutated file's own doc examples
 * with the nearest), and those of the last group (e2e, slow) in one run at the end. A mutant they
 * kill needs no other run; one they miss goes on to every group, so the verdict is the whole
 * fail-fast suite's either way (tests that reach the code only through a spawned server are found
 * by the groups).
 */
export function targetedRuns(
  testTask: string,
  mutatedFile: string,
  reaching: readonly Reach[],
): string[][] {
  const flags = failFastRuns(testTask)[0]!.filter((w) => w === "test" || w.startsWith("-"));
  const last = FAIL_FAST_GROUPS.at(-1)!;
  const isLast = (test: string) => last.some((dir) => test.startsWith(dir));
  const tiers = new Map<number, string[]>();
  if (mutatedFile.startsWith("src/")) tiers.set(1, [mutatedFile]);
  for (const { test, distance } of reaching) {
    if (!isLast(test)) tiers.set(distance, [...(tiers.get(distance) ?? []), test]);
  }
  const runs = [...tiers.entries()].sort(([a], [b]) => a - b)
    .map(([, tests]) => [...flags, ...tests.sort()]);
  const slow = reaching.filter((r) => isLast(r.test)).map((r) => r.test).sort();
  return slow.length > 0 ? [...runs, [...flags, ...slow]] : runs;
}

/** `NAME=value` before the command: an environment variable the task sets. */
const ENV_ASSIGNMENT = /^[A-Z_][A-Z0-9_]*=/;

/**
 * The environment variables the test task sets before its command (the server's allocator
 * setting: the timing tests measure under it), for the fail-fast runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskEnv } from "./mutate.ts";
 * assert.deepEqual(taskEnv("A_B=1 deno test tests/ src/"), { A_B: "1" });
 * ```
 */
export function taskEnv(testTask: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of testTask.trim().split(/\s+/)) {
    if (!ENV_ASSIGNMENT.test(word)) break;
    const at = word.indexOf("=");
    env[word.slice(0, at)] = word.slice(at + 1);
  }
  return env;
}

/** Deno's test module names (`x_test.ts`, `x.test.ts`, `test.ts`, and the JS kinds). */
const TEST_MODULE = /(^|\/|[._])test\.[cm]?[jt]sx?$/;

/**
 * {@link testsReaching} for this tree: one `deno info --json` of a root (in a temporary
 * directory, never the work tree) importing every test module under `tests/`, resolved through
 * this tree's `deno.json`. Empty, with a warning, when Deno cannot read the graph: the groups
 * then decide alone, as before.
 */
export async function reachingTestsOf(files: readonly string[]): Promise<Map<string, Reach[]>> {
  const tests = files.filter((f) => f.startsWith("tests/") && TEST_MODULE.test(f)).sort();
  const rootUrl = new URL("../", import.meta.url).href;
  const dir = await Deno.makeTempDir({ prefix: "mutate-graph-" });
  try {
    const root = join(dir, "root.ts");
    await Deno.writeTextFile(
      root,
      tests.map((t) => `import ${JSON.stringify(rootUrl + t)};\n`).join(""),
    );
    const out = await new Deno.Command("deno", {
      args: ["info", "--json", "--config", join(ROOT, "deno.json"), root],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).split("\n")[0]);
    return testsReaching(JSON.parse(new TextDecoder().decode(out.stdout)), tests, rootUrl);
  } catch (err) {
    console.warn(`mutate: no targeted runs (deno info failed: ${err}); the groups decide alone`);
    return new Map();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Process groups and temporary trees of the runs in progress (cleaned up on Ctrl-C), and whether
 * the run is being stopped: a suite the stop killed is no verdict, so it is not reported.
 */
const live = { groups: new Set<number>(), dirs: new Set<string>(), stopping: false };

function killGroup(pid: number): Promise<unknown> {
  return new Deno.Command("kill", { args: ["-KILL", "--", `-${pid}`], stderr: "null" })
    .output().catch(() => undefined);
}

/** Runs `deno <args>` in `dir` as its own process group; kills the whole group at `deadline`. */
async function runGroup(
  dir: string,
  args: string[],
  deadline: number,
  env: Record<string, string>,
) {
  // setsid: the run leads its own process group, so a timeout can end all of it.
  const child = new Deno.Command("setsid", {
    args: ["deno", ...args],
    cwd: dir,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  live.groups.add(child.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // The whole group: `deno task`, `deno test` and the servers the e2e tests started.
    killGroup(child.pid);
  }, Math.max(0, deadline - performance.now()));
  const out = await child.output();
  clearTimeout(timer);
  live.groups.delete(child.pid);
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { success: out.success, output, timedOut };
}

/** Runs the suite in `dir`; the mutant (if any) is already applied there. */
async function runSuite(
  dir: string,
  timeoutSeconds: number,
  full: boolean,
  mutatedFile: string | undefined,
  reachingTests: ReadonlyMap<string, readonly Reach[]>,
): Promise<Outcome> {
  const started = performance.now();
  const tasks = JSON.parse(await Deno.readTextFile(join(dir, "deno.json"))).tasks;
  if (!full && mutatedFile !== undefined) {
    // Fail-fast runs the tests unchecked: the mutated file's graph is type-checked here instead.
    const checked = await new Deno.Command("deno", {
      args: ["check", mutatedFile],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!checked.success) {
      const output = new TextDecoder().decode(checked.stderr);
      const first = output.split("\n").find((l) => /TS\d+/.test(l)) ?? "type error";
      const seconds = (performance.now() - started) / 1000;
      return { status: "invalid", failing: [], detail: `does not type-check: ${first}`, seconds };
    }
  }
  const deadline = started + timeoutSeconds * 1000;
  let output = "";
  let success = true;
  let timedOut = false;
  const runAll = async (runs: string[][]) => {
    for (const args of runs) {
      const run = await runGroup(dir, args, deadline, taskEnv(tasks.test));
      output += run.output;
      timedOut = run.timedOut;
      success = run.success;
      if (!success) break;
    }
  };
  let phase = "";
  if (!full && mutatedFile !== undefined) {
    await runAll(targetedRuns(tasks.test, mutatedFile, reachingTests.get(mutatedFile) ?? []));
    phase = success ? "" : " (targeted)";
  }
  if (success && !timedOut) await runAll(full ? [["task", "test"]] : failFastRuns(tasks.test));
  const seconds = (performance.now() - started) / 1000;
  const { summary, failing } = readReport(output);
  if (timedOut) {
    return { status: "timeout", failing, detail: `no result after ${timeoutSeconds}s`, seconds };
  }
  if (/Type checking failed|error: TS\d+|TS\d+ \[ERROR\]/.test(output)) {
    const first = output.split("\n").find((l) => /TS\d+/.test(l)) ?? "type error";
    return { status: "invalid", failing, detail: `does not type-check: ${first.trim()}`, seconds };
  }
  if (success) return { status: "survived", failing, detail: summary ?? "", seconds };
  if (summary === undefined) {
    const first = output.split("\n").find((l) => /error/i.test(l)) ?? "no test summary";
    return { status: "killed", failing, detail: `suite did not finish: ${first.trim()}`, seconds };
  }
  return { status: "killed", failing, detail: summary + phase, seconds };
}

async function runMutant(
  mutant: Mutant | undefined,
  files: readonly string[],
  timeoutSeconds: number,
  full: boolean,
  reachingTests: ReadonlyMap<string, readonly Reach[]> = new Map(),
): Promise<Outcome> {
  const dir = await copyTree(files);
  live.dirs.add(dir);
  try {
    if (mutant) {
      const path = join(dir, mutant.file);
      await Deno.writeTextFile(path, applyMutant(await Deno.readTextFile(path), mutant));
    }
    return await runSuite(dir, timeoutSeconds, full, mutant?.file, reachingTests);
  } finally {
    // Its node_modules holds links into Deno's cache: removing a link leaves the cache intact.
    await Deno.remove(dir, { recursive: true });
    live.dirs.delete(dir);
  }
}

/** Runs `tasks` with at most `jobs` at a time, keeping their order in the result. */
async function pool<T>(jobs: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return results;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function shorten(names: string[], max = 3): string {
  if (names.length === 0) return "-";
  const shown = names.slice(0, max).map((n) => (n.length > 70 ? `${n.slice(0, 67)}...` : n));
  return shown.join("; ") + (names.length > max ? ` (+${names.length - max} more)` : "");
}

async function main(args: string[]): Promise<number> {
  const jobs = Number(option(args, "--jobs") ?? 2);
  const timeout = Number(option(args, "--timeout") ?? 600);
  const full = args.includes("--full");
  const mode = full ? "full (every catching test)" : "fail-fast (first catching test)";
  const only = option(args, "--only")?.split(",").map((s) => s.trim());
  if (!(jobs >= 1) || !(timeout > 0)) {
    console.error("mutate: --jobs and --timeout must be positive numbers");
    return 2;
  }

  const problems = await listProblems(MUTANTS, ROOT);
  if (problems.length > 0) {
    console.error("mutate: the mutant list is broken (fix tools/mutants.ts):");
    for (const p of problems) console.error(`  - ${p}`);
    return 2;
  }
  const unknown = (only ?? []).filter((name) => !MUTANTS.some((m) => m.name === name));
  if (unknown.length > 0) {
    console.error(`mutate: no mutant named ${unknown.join(", ")}`);
    return 2;
  }
  const selected = only ? MUTANTS.filter((m) => only.includes(m.name)) : MUTANTS;
  console.log(`mutate: ${selected.length} mutants, valid (each search text found exactly once)`);
  if (args.includes("--check")) return 0;

  const started = performance.now();
  const files = await treeFiles();
  console.log(`mutate: mode ${mode}; baseline (no mutant) first, then ${jobs} at a time`);
  const baseline = await runMutant(undefined, files, timeout, full);
  if (baseline.status !== "survived") {
    console.error(`mutate: the unmutated suite does not pass (${baseline.detail}); failing:`);
    for (const name of baseline.failing) console.error(`  - ${name}`);
    return 1;
  }
  console.log(`mutate: baseline passes in ${baseline.seconds.toFixed(1)}s (${baseline.detail})`);

  const reaching = full ? new Map<string, Reach[]>() : await reachingTestsOf(files);
  let done = 0;
  const outcomes = await pool(
    jobs,
    selected.map((mutant) => async () => {
      const outcome = await runMutant(mutant, files, timeout, full, reaching);
      if (live.stopping) return outcome; // killed by the stop, not by a test
      done++;
      console.log(
        `  [${done}/${selected.length}] ${mutant.name}: ${outcome.status} ` +
          `(${outcome.failing.length} failing, ${outcome.seconds.toFixed(1)}s) ` +
          shorten(outcome.failing, 2),
      );
      return outcome;
    }),
  );

  const rows = selected.map((mutant, i) => ({ mutant, outcome: outcomes[i]! }));
  console.log(`\nmode: ${mode}`);
  console.log("| # | mutant | property broken | result | catching test(s) | s |");
  console.log("|---|---|---|---|---|---|");
  rows.forEach(({ mutant, outcome }, i) => {
    const result = outcome.status === "killed" || outcome.status === "survived"
      ? outcome.status
      : `${outcome.status}: ${outcome.detail}`;
    const catching = outcome.failing.length > 0
      ? `${outcome.failing.length}: ${shorten(outcome.failing)}`
      : outcome.status === "killed"
      ? outcome.detail
      : "-";
    console.log(
      `| ${i + 1} | ${mutant.name} | ${mutant.property} | ${result} | ${catching} | ` +
        `${outcome.seconds.toFixed(0)} |`,
    );
  });
  const killed = rows.filter((r) => r.outcome.status === "killed").length;
  const total = (performance.now() - started) / 1000;
  console.log(
    `\nkilled ${killed}/${rows.length} (${((100 * killed) / rows.length).toFixed(1)}%), ` +
      `total ${total.toFixed(0)}s with --jobs ${jobs}, mode ${mode}`,
  );
  const bad = rows.filter((r) => r.outcome.status !== "killed");
  for (const { mutant, outcome } of bad) {
    console.log(`NOT KILLED: ${mutant.name} (${outcome.status}): ${mutant.property}`);
  }
  return bad.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      live.stopping = true;
      await Promise.all([...live.groups].map(killGroup));
      for (const dir of live.dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
      Deno.exit(130);
    });
  }
  Deno.exit(await main(Deno.args));
}
