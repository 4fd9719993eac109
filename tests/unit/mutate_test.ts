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

Deno.test("testsReaching: every test module whose graph reaches a file, at its fewest imports", () => {
  const at = (path: string) => `file:///r/${path}`;
  const reach = testsReaching(
    {
      modules: [
        {
          specifier: at("tests/a_test.ts"),
          dependencies: [{ code: { specifier: at("src/x.ts") } }, {
            code: { specifier: at("src/y.ts") },
          }],
        },
        {
          specifier: at("tests/b_test.ts"),
          dependencies: [{ code: { specifier: at("src/z.ts") } }],
        },
        { specifier: at("src/x.ts"), dependencies: [{ type: { specifier: at("src/w.ts") } }] },
        // A cycle, and a module outside the root, do not trip the walk.
        { specifier: at("src/y.ts"), dependencies: [{ code: { specifier: at("src/x.ts") } }] },
        { specifier: at("src/z.ts"), dependencies: [{ code: { specifier: "npm:/jose@6" } }] },
      ],
    },
    ["tests/a_test.ts", "tests/b_test.ts"],
    "file:///r/",
  );
  assert.deepEqual(reach.get("src/y.ts"), [{ test: "tests/a_test.ts", distance: 1 }]);
  assert.deepEqual(reach.get("src/w.ts"), [{ test: "tests/a_test.ts", distance: 2 }]);
  assert.deepEqual(reach.get("src/z.ts"), [{ test: "tests/b_test.ts", distance: 1 }]);
  assert.equal(reach.get("src/v.ts"), undefined);
  assert.equal(reach.get("tests/a_test.ts"), undefined);
  assert.equal([...reach.keys()].some((k) => k.includes("jose")), false);
});

Deno.test("targetedRuns: nearest tests first, the mutated file's doc tests with them, e2e last", () => {
  const task = "A=1 deno test --doc --allow-net tests/ src/";
  const flags = ["test", "--doc", "--allow-net", "--no-check", "--fail-fast"];
  assert.deepEqual(
    targetedRuns(task, "src/x.ts", [
      { test: "tests/e2e/c_test.ts", distance: 1 },
      { test: "tests/unit/b_test.ts", distance: 3 },
      { test: "tests/security/s_test.ts", distance: 1 },
      { test: "tests/app/a_test.ts", distance: 3 },
    ]),
    [
      [...flags, "src/x.ts", "tests/security/s_test.ts"],
      [...flags, "tests/app/a_test.ts", "tests/unit/b_test.ts"],
      [...flags, "tests/e2e/c_test.ts"],
    ],
  );
  // A file outside src/ has no doc tests of its own in the suite; nothing reaching it, no run.
  assert.deepEqual(targetedRuns(task, "tools/x.ts", []), []);
});

needs(READ, WRITE, RUN_DENO)(
  "reachingTestsOf: this tree's graph finds the verifier's tests",
  async () => {
    const files: string[] = [];
    for (const dir of ["tests/security", "tests/unit"]) {
      for await (const entry of Deno.readDir(dir)) files.push(`${dir}/${entry.name}`);
    }
    const reach = await reachingTestsOf(files);
    const verifierTests = (reach.get("src/tokens/access_token.ts") ?? []).map((r) => r.test);
    assert.ok(verifierTests.length >= 2, verifierTests.join(", "));
    assert.ok(verifierTests.every((t) => t.startsWith("tests/")));
    // The harness's own test reaches the harness (directly), not the verifier.
    assert.deepEqual(
      reach.get("tools/mutate.ts")?.find((r) => r.test === "tests/unit/mutate_test.ts"),
      { test: "tests/unit/mutate_test.ts", distance: 1 },
    );
    assert.ok(!verifierTests.includes("tests/unit/mutate_test.ts"));
  },
);
