/**
 * The second factor against the real server process (`deno task start`, real HTTP), with the
 * real clock: a user added with the CLI enrols with an authenticator app (npm:otpauth reading the
 * otpauth URI), signs in with password + code and once with a recovery code; a replayed code, a
 * sixth guess and a forged mfa_token are refused; `deno task user mfa reset` removes the factor
 * while the server runs (they share the store).
 */
import assert from "node:assert/strict";
import { Authenticator } from "../helpers/mfa.ts";
import {
  assertError,
  cliOk,
  decodeJwt,
  dirWithUsers,
  PASSWORD,
  postJson,
  request,
  withServer,
} from "./support.ts";
import { needs, NET, READ, RUN_DENO, WRITE } from "../helpers/permissions.ts";

const test = needs(READ, WRITE, NET, RUN_DENO);

test("e2e mfa: enrol, password + code, replay, recovery code, guessing, forgery, CLI reset", async () => {
  await using scratch = await dirWithUsers([{ id: "ada", roles: ["user"] }]);
  await withServer({ dir: scratch.path }, async (server) => {
    const url = server.url;
    const login = () => postJson(`${url}/login`, { user_id: "ada", password: PASSWORD });
    const first = await login();
    assert.equal(first.status, 200);
    const token = first.body.token as string;
    assert.deepEqual(decodeJwt(token).payload.amr, ["pwd"]);
    const auth = { Authorization: `Bearer ${token}` };

    const started = await postJson(`${url}/me/mfa/totp`, { password: PASSWORD }, auth);
    assert.equal(started.status, 200);
    const app = new Authenticator(started.body.otpauth_uri);
    const confirmed = await postJson(
      `${url}/me/mfa/totp/confirm`,
      { code: app.code(Date.now()) },
      auth,
    );
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const recoveryCodes = confirmed.body.recovery_codes as string[];
    assert.equal(recoveryCodes.length, 10);

    const challenged = await login();
    assert.equal(challenged.status, 403);
    assert.equal(challenged.body.code, "mfa_required");
    assert.deepEqual(challenged.body.methods, ["totp", "recovery_code"]);
    assert.equal(challenged.body.token, undefined);
    const mfaToken = challenged.body.mfa_token as string;
    // The next step's code (one step of drift is accepted); the confirm spent this one.
    const code = app.code(Date.now() + 30_000);
    const passed = await postJson(`${url}/login/mfa`, { mfa_token: mfaToken, code });
    assert.equal(passed.status, 200, JSON.stringify(passed.body));
    assert.deepEqual(decodeJwt(passed.body.token).payload.amr, ["pwd", "otp"]);

    // Replay: the same code on a new challenge.
    const second = (await login()).body.mfa_token as string;
    assertError(
      await postJson(`${url}/login/mfa`, { mfa_token: second, code }),
      401,
      "invalid_code",
    );
    // A recovery code, once.
    const recovered = await postJson(`${url}/login/mfa`, {
      mfa_token: second,
      recovery_code: recoveryCodes[0],
    });
    assert.equal(recovered.status, 200);
    const third = (await login()).body.mfa_token as string;
    assertError(
      await postJson(`${url}/login/mfa`, { mfa_token: third, recovery_code: recoveryCodes[0] }),
      401,
      "invalid_code",
    );
    // Guessing: four more wrong codes end it (five in all); the sixth try is refused.
    for (let i = 0; i < 4; i++) {
      assertError(
        await postJson(`${url}/login/mfa`, { mfa_token: third, code: "000000" }),
        401,
        "invalid_code",
      );
    }
    assertError(
      await postJson(`${url}/login/mfa`, { mfa_token: third, code: app.code(Date.now()) }),
      401,
      "invalid_mfa_token",
    );
    // A forged mfa_token.
    assertError(
      await postJson(`${url}/login/mfa`, { mfa_token: "A".repeat(43), code: "123456" }),
      401,
      "invalid_mfa_token",
    );

    // The CLI, on the store the server runs on.
    const reset = await cliOk(server.dir, ["mfa", "reset", "ada"]);
    assert.match(reset.stdout, /Removed every second factor of "ada"/);
    assert.equal((await login()).status, 200);
    const status = await request(`${url}/me/mfa`, { headers: auth });
    assert.deepEqual(status.body, { totp: "none", recovery_codes_left: 0 });
    // No code, secret or token in the server's log.
    const log = server.stdout();
    for (const secret of [code, mfaToken, recoveryCodes[0]!, started.body.secret as string]) {
      assert.ok(!log.includes(secret), "the log holds no code, token or secret");
    }
    assert.ok(log.includes('"event":"mfa_challenge"'));
  });
});
