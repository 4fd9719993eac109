/**
 * Issue 24 (start-up): the server opens its hasher (the addon's synchronous load, then the dummy
 * hash) once, after the first answer is out or a short delay after listening, whichever comes
 * first, so that loading it does not hold up the first answer. `openOnceSoon` is that schedule.
 */
import assert from "node:assert/strict";
import { openOnceSoon } from "../../src/server.ts";

const turn = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("runs once, on a later turn, after the first answer (before the delay)", async () => {
  let runs = 0;
  const soon = openOnceSoon(() => runs++, 60_000);
  soon.start();
  soon.answered();
  assert.equal(runs, 0, "not inside the answer's own turn: the answer is written out first");
  soon.answered();
  await turn(5);
  assert.equal(runs, 1);
  soon.answered();
  await turn(5);
  assert.equal(runs, 1, "never twice");
});

Deno.test("runs once after the delay when nothing is answered", async () => {
  let runs = 0;
  const soon = openOnceSoon(() => runs++, 20);
  soon.start();
  soon.start();
  await turn(5);
  assert.equal(runs, 0, "not before the delay");
  await turn(60);
  assert.equal(runs, 1, "once, though started twice");
  soon.answered();
  await turn(5);
  assert.equal(runs, 1);
});

Deno.test("an answer before the delay leaves no timer behind", async () => {
  let runs = 0;
  const soon = openOnceSoon(() => runs++, 60_000);
  soon.start();
  soon.answered();
  await turn(5);
  assert.equal(runs, 1);
  // Deno's test sanitizer fails this test if the 60 s timer were still pending.
});
