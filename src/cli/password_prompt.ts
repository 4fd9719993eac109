/**
 * Reading a password for the CLI: a hidden prompt on a terminal, else one line of stdin (so
 * scripts can pipe it). Never echoed, never logged.
 *
 * @module
 */
import { CliError, EXIT } from "./output.ts";

/**
 * Reads a password: hidden on a TTY (asked twice), else the first line of stdin. An empty stdin
 * (nothing piped, or an empty line) is refused with where a password comes from, rather than
 * judged as a too-short password. `command` is the command line after `deno task user`, for the
 * example in that message.
 */
export async function readPassword(
  prompt = "Password: ",
  command = "add <user_id>",
): Promise<string> {
  if (!Deno.stdin.isTerminal()) {
    const line = await readLine(Deno.stdin.readable);
    if (line === "") {
      throw new CliError(
        `No password on stdin: pipe one line (echo '<password>' | deno task user ${command}), ` +
          "or run the command in a terminal to be asked for it",
        EXIT.invalid,
      );
    }
    return line;
  }
  const first = await readHidden(prompt);
  const second = await readHidden("Repeat password: ");
  if (first !== second) throw new Error("The passwords do not match");
  return first;
}

/** The first line of a stream, without its line ending. */
export async function readLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    const end = text.indexOf("\n");
    if (end !== -1) return text.slice(0, end).replace(/\r$/, "");
    if (text.length > 64 * 1024) break;
  }
  return text.replace(/\r?\n?$/, "");
}

async function readHidden(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const chars: string[] = [];
  const buffer = new Uint8Array(64);
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      for (const char of decoder.decode(buffer.subarray(0, n))) {
        if (char === "\r" || char === "\n") return chars.join("");
        if (char === "\u0003") throw new Error("Cancelled");
        if (char === "\u007f" || char === "\b") chars.pop();
        else chars.push(char);
      }
    }
    return chars.join("");
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
}
