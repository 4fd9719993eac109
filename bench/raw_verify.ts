/**
 * The raw argon2id verify rate, in a process of its own started with the `server` task's
 * environment, as the server runs its hashes: glibc's settings there (`MALLOC_MMAP_THRESHOLD_`,
 * `GLIBC_TUNABLES`) change what one Web Crypto verify costs by up to three times, and the bench's
 * own long-lived process had neither (docs/benchmarks.md, "The Web Crypto rows").
 *
 * `rawVerifyRate` spawns this file; run alone it prints one JSON line:
 * `deno run --allow-env --allow-read --allow-ffi=./node_modules bench/raw_verify.ts
 * <auto|native|webcrypto> <callers> <seconds>`.
 *
 * @module
 */
import { loadNativeArgon2 } from "../src/crypto/argon2_native.ts";
import { webCryptoArgon2 } from "../src/crypto/argon2_webcrypto.ts";
import { createPasswordHasher } from "../src/crypto/passwords.ts";
import { selectArgon2Backend } from "../src/crypto/select_argon2_backend.ts";
import { ROOT, taskCommand } from "../tests/helpers/server_process.ts";
import { verifyRate } from "./verify_rate.ts";

/** Which backend: the one `PASSWORD_HASHER=auto` picks, or a named one. */
export type RawBackend = "auto" | "native" | "webcrypto";

/** {@link verifyRate}'s answer, measured in a child process started like the server. */
export async function rawVerifyRate(backend: RawBackend, callers: number, seconds: number) {
  const { env } = taskCommand("server");
  const output = await new Deno.Command("deno", {
    args: [
      "run",
      "--config",
      `${ROOT}/deno.json`,
      "--allow-env",
      "--allow-read",
      `--allow-ffi=${ROOT}/node_modules`,
      `${ROOT}/bench/raw_verify.ts`,
      backend,
      String(callers),
      String(seconds),
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    throw new Error(`raw_verify.ts failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(text.split("\n").at(-1)!) as Awaited<ReturnType<typeof verifyRate>>;
}

if (import.meta.main) {
  const [name, callers, seconds] = Deno.args;
  const backend = name === "webcrypto"
    ? webCryptoArgon2
    : name === "native"
    ? await loadNativeArgon2()
    : (await selectArgon2Backend("auto")).backend;
  const result = await verifyRate(
    createPasswordHasher({ backend }),
    Number(callers),
    Number(seconds),
  );
  console.log(JSON.stringify(result));
}
