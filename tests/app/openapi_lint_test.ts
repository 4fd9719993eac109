/**
 * `/openapi.json` passes `redocly lint` with its recommended rules, less the ones `redocly.yaml`
 * turns off with a reason. `npm:@redocly/cli` is a test-only package (pinned in deno.lock with the rest).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeApp } from "../helpers/app.ts";
import { ROOT } from "../helpers/server_process.ts";
import { needs, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, RUN_DENO);

const REDOCLY = "npm:@redocly/cli@2.77.0";

test("/openapi.json passes redocly lint (recommended rules, redocly.yaml)", async () => {
  using t = await makeApp();
  const doc = await (await t.request("/openapi.json")).text();
  const dir = await Deno.makeTempDir({ prefix: "openapi-lint-" });
  try {
    const file = join(dir, "openapi.json");
    await Deno.writeTextFile(file, doc);
    const { code, stdout, stderr } = await new Deno.Command("deno", {
      args: [
        "run",
        "--no-prompt",
        "--config",
        join(ROOT, "deno.json"),
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        REDOCLY,
        "lint",
        "--config",
        join(ROOT, "redocly.yaml"),
        file,
      ],
      env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, output);
    assert.match(output, /Your API description is valid/);
    assert.doesNotMatch(output, /warning/i, output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
