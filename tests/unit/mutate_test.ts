/** The mutation harness's own rules: a mutant applies exactly once, and the report is read right. */
import assert from "node:assert/strict";
import {
  applyMutant,
  failFastRuns,
  listProblems,
  reachingTestsOf,
  readReport,
  targetedRuns,
  taskEnv,
  testsReaching,
} from "../../tools/mutate.ts";
import type { Mutant } from "../../tools/mutants.ts";
import { needs, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const testWithFiles = needs(READ, WRITE);

const mutant = (search: string): Mutant => ({
  name: "m",
  property: "p",
  file: "f.ts",
  search,
  replace: "NEW",
});

Deno.test("applyMutant: replaces a search text found once, refuses none or several", () => {
  assert.equal(applyMutant("a OLD b", mutant("OLD")), "a NEW b");
  assert.throws(() => applyMutant("a b", mutant("OLD")), /found 0 times/);
  assert.throws(() => applyMutant("OLD OLD", mutant("OLD")), /found 2 times/);
  // `$&` and friends in a replacement are taken literally.
  assert.equal(applyMutant("x", { ...mutant("x"), replace: "$&$&" }), "$&$&");
});

testWithFiles("listProblems: a missing file, a duplicate name, a no-op edit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f.ts`, "one two");
    assert.deepEqual(await listProblems([mutant("one")], dir), []);
    const problems = await listProblems(
      [mutant("one"), mutant("two"), { ...mutant("three"), name: "n" }, {
        ...mutant("one"),
        name: "same",
        replace: "one",
      }],
      dir,
    );
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(problems.join("\n"), /duplicate mutant name "m"/);
    assert.match(problems.join("\n"), /found 0 times/);
    assert.match(problems.join("\n"), /changes nothing/);
    const missing = await listProblems([{ ...mutant("one"), file: "gone.ts" }], dir);
    assert.deepEqual(missing, ['mutant "m": cannot read gone.ts']);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readReport: the summary and every failing test and step, colours or not", () => {
  const output = [
    "running 2 tests from ./tests/a_test.ts",
    "\x1b[0m\x1b[31mFAILED\x1b[0m",
    " ERRORS ",
    "first => ./tests/a_test.ts:3:6",
    "error: AssertionError",
    " FAILURES ",
    "",
    "first => ./tests/a_test.ts:3:6",
    "parent ... a step => ./tests/b_test.ts:10:11",
    "",
    "\x1b[0m\x1b[31mFAILED\x1b[0m | 5 passed (2 steps) | 2 failed (3s)",
  ].join("\n");
  const report = readReport(output);
  assert.equal(report.summary, "FAILED | 5 passed (2 steps) | 2 failed (3s)");
  assert.deepEqual(report.failing, ["first", "parent ... a step"]);
  assert.deepEqual(readReport("ok | 3 passed | 0 failed (1s)").failing, []);
});

Deno.test("failFastRuns: the test task's flags, one run per group, security first and e2e last", () => {
  const runs = failFastRuns("deno test --lock=x --doc --allow-net tests/ src/");
  assert.deepEqual(runs[0], [
    "test",
    "--lock=x",
    "--doc",
    "--allow-net",
    "--no-check",
    "--fail-fast",
    "tests/security/",
  ]);
  assert.deepEqual(runs.at(-1)!.slice(-1), ["tests/e2e/"]);
  assert.deepEqual(
    runs.flatMap((run) => run.filter((w) => !w.startsWith("-") && w !== "test")).sort(),
    [
      "src/",
      "tests/app/",
      "tests/compile/",
      "tests/e2e/",
      "tests/examples/",
      "tests/security/",
      "tests/store/",
      "tests/unit/",
    ],
  );
  assert.throws(() => failFastRuns("deno test tests/"), /paths changed/);
  assert.throws(() => failFastRuns("deno run x.ts"), /not a plain deno test/);
});

Deno.test("failFastRuns and taskEnv: the variables the test task sets go to every run's environment", () => {
  const task = "MALLOC_MMAP_THRESHOLD_=131072 deno test --doc tests/ src/";
  assert.deepEqual(taskEnv(task), { MALLOC_MMAP_THRESHOLD_: "131072" });
  assert.deepEqual(failFastRuns(task)[0]!.slice(0, 2), ["test", "--doc"]);
  assert.deepEqual(taskEnv("deno test tests/ src/"), {});
});

Deno.test("testsReaching: a file maps to every test module whose graph reaches it, through code and type edges", () => {
  const at = (path: string) => `file:///r/${path}`;
  const reach = testsReaching(
    {
      modules: [
        {
          specifier: at("tests/a_test.ts"),
          dependencies: [{ code: { specifier: at("src/x.ts") } }],
        },
        {
          specifier: at("tests/b_test.ts"),
          dependencies: [{ code: { specifier: at("src/z.ts") } }],
        },
        { specifier: at("src/x.ts"), dependencies: [{ type: { specifier: at("src/y.ts") } }] },
        // A cycle, and a module outside the root, do not trip the walk.
        { specifier: at("src/y.ts"), dependencies: [{ code: { specifier: at("src/x.ts") } }] },
        { specifier: at("src/z.ts"), dependencies: [{ code: { specifier: "npm:/jose@6" } }] },
      ],
    },
    ["tests/a_test.ts", "tests/b_test.ts"],
    "file:///r/",
  );
  assert.deepEqual(reach.get("src/y.ts"), ["tests/a_test.ts"]);
  assert.deepEqual(reach.get("src/z.ts"), ["tests/b_test.ts"]);
  assert.equal(reach.get("src/w.ts"), undefined);
  assert.equal([...reach.keys()].some((k) => k.includes("jose")), false);
});

Deno.test("targetedRuns: the reaching tests in the groups' order, the mutated file's doc tests in src/", () => {
  const task = "A=1 deno test --doc --allow-net tests/ src/";
  const flags = ["test", "--doc", "--allow-net", "--no-check", "--fail-fast"];
  assert.deepEqual(
    targetedRuns(task, "src/x.ts", [
      "tests/e2e/c_test.ts",
      "tests/unit/b_test.ts",
      "tests/unit/a_test.ts",
    ]),
    [
      [...flags, "tests/unit/a_test.ts", "tests/unit/b_test.ts"],
      [...flags, "src/x.ts"],
      [...flags, "tests/e2e/c_test.ts"],
    ],
  );
  // A file outside src/ has no doc tests of its own in the suite; nothing reaching it, no run.
  assert.deepEqual(targetedRuns(task, "tools/x.ts", []), []);
});

needs(READ, WRITE, RUN_DENO)(
  "reachingTestsOf: this tree's graph finds the verifier's tests",
  async () => {
    const files = [];
    for await (const entry of Deno.readDir("tests/security")) {
      files.push(
        `tests/security/${entry.name}`,
      );
    }
    for await (const entry of Deno.readDir("tests/unit")) files.push(`tests/unit/${entry.name}`);
    const reach = await reachingTestsOf(files);
    const verifierTests = reach.get("src/tokens/access_token.ts") ?? [];
    assert.ok(verifierTests.length >= 2, verifierTests.join(", "));
    assert.ok(verifierTests.every((t) => t.startsWith("tests/")));
    // The harness's own test reaches the harness, not the verifier.
    assert.ok(reach.get("tools/mutate.ts")?.includes("tests/unit/mutate_test.ts"));
    assert.ok(!verifierTests.includes("tests/unit/mutate_test.ts"));
  },
);
