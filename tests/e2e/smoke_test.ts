import assert from "node:assert/strict";
import { freshDir, postJson, runTask, startServer } from "../helpers/server_process.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

test("smoke: fresh dir, CLI user, login over TCP", async () => {
  const dir = await freshDir();
  const added = await runTask("user", dir, ["add", "ada", "--role", "user"], {
    stdin: "correct horse battery\n",
  });
  assert.equal(added.code, 0, added.stderr);
  const server = await startServer({ dir });
  try {
    const res = await postJson(`${server.url}/login`, {
      user_id: "ada",
      password: "correct horse battery",
    });
    assert.equal(res.status, 200);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});
