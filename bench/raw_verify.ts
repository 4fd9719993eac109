/**
 * The raw argon2id verify rate, in a process of its own started with the `server` task's
 * environment and flags, as the server runs its hashes: glibc's settings there
 * (`MALLOC_MMAP_THRESHOLD_`, `GLIBC_TUNABLES`) change what one Web Crypto verify costs by two to
 * three times, and the bench's own long-lived process hashed at a rate of its own, for reasons not
 * known (docs/benchmarks.md, "The Web Crypto rows").
 *
 * `rawVerifyRate` spawns this file; run alone it prints one JSON line:
 * `deno run --allow-env --allow-read --allow-ffi=./node_modules bench/raw_verify.ts
 * <auto|native|webcrypto> <callers> <seconds>`.
 *
 * @module
 */
import {
  PASSWORD_HASHER_CHOICES,
  type PasswordHasherChoice,
} from "../src/crypto/argon2_backend.ts";
import { createPasswordHasher } from "../src/crypto/passwords.ts";
import { selectArgon2Backend } from "../src/crypto/select_argon2_backend.ts";
import { ROOT, taskCommand } from "../tests/helpers/server_process.ts";
import { verifyRate } from "./verify_rate.ts";

/**
 * {@link verifyRate}'s answer, measured in a child process started like the server (its task's
 * environment and flags, this file in place of `main.ts`), with the backend it measured.
 * `expected` names the backend the measurement must have used (the server's), when known.
 */
export async function rawVerifyRate(
  backend: PasswordHasherChoice,
  callers: number,
  seconds: number,
  expected: string | undefined = backend === "auto" ? undefined : backend,
) {
  const { env, args } = taskCommand("server");
  const script = `${ROOT}/bench/raw_verify.ts`;
  const output = await new Deno.Command("deno", {
    // The server's own flags, reading what the child needs besides (its own module and the
    // addon's files) wherever the project lives.
    args: [
      ...args.slice(0, -1).filter((arg) => !arg.startsWith("--allow-read=")),
      "--allow-read",
      script,
      backend,
      String(callers),
      String(seconds),
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((seconds + 60) * 1000),
  }).output();
  const decoder = new TextDecoder();
  const text = decoder.decode(output.stdout).trim();
  const said = () => `stdout: ${text}\nstderr: ${decoder.decode(output.stderr)}`;
  if (!output.success) throw new Error(`raw_verify.ts failed (${output.code}):\n${said()}`);
  let result: Awaited<ReturnType<typeof verifyRate>> & { backend: string };
  try {
    result = JSON.parse(text.split("\n").at(-1)!);
  } catch {
    throw new Error(`raw_verify.ts printed no result:\n${said()}`);
  }
  if (expected !== undefined && result.backend !== expected) {
    throw new Error(`raw_verify.ts measured ${result.backend}, not ${expected}`);
  }
  return result;
}

if (import.meta.main) {
  const [name, callers, seconds] = Deno.args;
  const choice = PASSWORD_HASHER_CHOICES.find((known) => known === name);
  if (choice === undefined) {
    throw new TypeError("usage: raw_verify.ts <auto|native|webcrypto> <callers> <seconds>");
  }
  // The server's own choice of backend, `PASSWORD_HASHER`'s values.
  const { backend } = await selectArgon2Backend(choice);
  const rate = await verifyRate(
    createPasswordHasher({ backend }),
    Number(callers),
    Number(seconds),
  );
  console.log(JSON.stringify({ backend: backend.name, ...rate }));
}
