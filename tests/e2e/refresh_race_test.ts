/**
 * Issue 11, end to end: two refreshes of one token sent 0, 1 and 2 ms apart over real HTTP
 * (two tabs, a mobile client's retry) converge on one refresh token, none is refused as reused
 * and the session stays live; a spent token presented after the grace window still revokes it.
 */
import assert from "node:assert/strict";
import {
  assertError,
  cliOk,
  decodeJwt,
  dirWithUsers,
  loginOk,
  me,
  refresh,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

const GRACE_SECONDS = 2;
const ROUNDS_PER_GAP = 20;

test("refresh race: near-simultaneous refreshes converge; a spent token after the window revokes", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const env = {
    LOGIN_LIMIT_PER_CLIENT: "1000/1m",
    REFRESH_LIMIT_PER_CLIENT: "100000/1m",
    REFRESH_GRACE_SECONDS: String(GRACE_SECONDS),
  };
  await withServer({ dir: scratch.path, env }, async (server) => {
    const first = await loginOk(server, "ada");
    const sid = decodeJwt(first.token).payload.sid;
    let token = first.refresh_token;
    let access = first.token;
    let previous = token;
    let pairs = 0;
    for (const gapMs of [0, 1, 2]) {
      for (let round = 0; round < ROUNDS_PER_GAP; round++) {
        const a = refresh(server, token);
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
        const b = refresh(server, token);
        const answers = await Promise.all([a, b]);
        pairs++;
        for (const answer of answers) {
          assert.equal(answer.status, 200, `gap ${gapMs} ms: ${JSON.stringify(answer.body)}`);
        }
        const handedOut = answers.map((answer) => answer.body.refresh_token as string);
        assert.equal(handedOut[0], handedOut[1], `gap ${gapMs} ms: both got the same token`);
        // Every refresh token handed out works: each presentation answers 200 (the second one,
        // inside the window, with the same successor), none is refused as reused.
        const next = [];
        for (const handed of handedOut) {
          const answer = await refresh(server, handed);
          assert.equal(answer.status, 200, `handed-out token: ${JSON.stringify(answer.body)}`);
          assert.equal(decodeJwt(answer.body.token).payload.sid, sid);
          next.push(answer.body);
        }
        assert.equal(next[0].refresh_token, next[1].refresh_token);
        previous = handedOut[0]!;
        token = next[0].refresh_token;
        access = next[1].token;
      }
    }
    assert.equal(pairs, 3 * ROUNDS_PER_GAP);
    assert.equal((await me(server, access)).status, 200, "the session is still live");

    // After the window, the parent of the current token is a replay: the session ends.
    await new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 300));
    assertError(await refresh(server, previous), 401, "refresh_token_reused");
    assertError(await me(server, access), 401, "invalid_token");
    assertError(await refresh(server, token), 401, "session_revoked");
  });
});

test("deno task user sessions <id> lists the user's live sessions", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  const sids = await withServer({ dir: scratch.path, env: {} }, async (server) => {
    const one = await loginOk(server, "ada");
    const two = await loginOk(server, "ada");
    return [decodeJwt(one.token).payload.sid, decodeJwt(two.token).payload.sid];
  });
  const listed = JSON.parse((await cliOk(scratch.path, ["sessions", "ada", "--json"])).stdout);
  assert.deepEqual(listed.map((s: { sid: string }) => s.sid).sort(), [...sids].sort());
  const text = (await cliOk(scratch.path, ["sessions", "ada"])).stdout;
  for (const sid of sids) assert.ok(text.includes(sid), text);
});
