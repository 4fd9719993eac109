/**
 * One JSON line per event on stdout, filtered by `LOG_LEVEL`. Callers pass only fields that are
 * safe to keep: never a password, token, refresh token or secret.
 *
 * Lines are cheap to make (the timestamp string is reused within a millisecond) and, with
 * {@link createBufferedWriter}, written in batches: by size, after a short delay, at once for
 * `warn` and `error` (security events and failures go out now), and on `flush()` at shutdown,
 * `Deno.exit` or an uncaught error, so a stop loses no line.
 *
 * @module
 */
import type { LogLevel } from "./config/variables.ts";

const RANK: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 99,
};

/** Fields of a log line. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** A levelled JSON-lines logger. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /**
   * A writer of `info` lines of `event` whose fields the caller serializes itself, for a line
   * made on every request (the request log): `fieldsJson` is what {@link info} would put after
   * the event, from the comma on (`,"status":200}`, or `}` without fields). Null when `info`
   * lines are off.
   */
  infoLineOf(event: string): ((fieldsJson: string) => void) | null;
  /** Writes out every line still buffered (a no-op for an unbuffered writer). */
  flush(): void;
}

/** Where lines go: `write` takes one line (no newline); `flush`, if any, empties a buffer. */
export interface LineWriter {
  write(line: string, urgent: boolean): void;
  flush?(): void;
}

/**
 * Creates a logger writing to `write` (one `console.log` per line by default) or to a
 * {@link LineWriter}, its lines' times read from `now`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger("warn", (line) => lines.push(line));
 * log.info("ignored");
 * log.warn("login_failed", { user_id: "ada" });
 * assert(lines.length === 1 && JSON.parse(lines[0]!).event === "login_failed");
 * ```
 */
export function createLogger(
  level: LogLevel,
  write: ((line: string) => void) | LineWriter = console.log,
  now: () => number = Date.now,
): Logger {
  const writer: LineWriter = typeof write === "function" ? { write: (line) => write(line) } : write;
  const clock = isoClock(now);
  const at = (lineLevel: Exclude<LogLevel, "silent">) => {
    const urgent = RANK[lineLevel] >= RANK.warn;
    return (event: string, fields: LogFields = {}) => {
      if (RANK[lineLevel] < RANK[level]) return;
      // A spread into a literal keeps a fast-shaped object; key by key made a dictionary one,
      // which JSON.stringify walks more slowly.
      writer.write(JSON.stringify({ time: clock(), level: lineLevel, event, ...fields }), urgent);
    };
  };
  const infoLineOf = (event: string) => {
    if (RANK.info < RANK[level]) return null;
    // The line `info` writes, its constant middle serialized once (a spread and JSON.stringify
    // of every field cost about 1 µs a line; the concatenation, a fifth of that).
    const middle = `","level":"info","event":${JSON.stringify(event)}`;
    return (fieldsJson: string) => writer.write(`{"time":"${clock()}${middle}${fieldsJson}`, false);
  };
  return {
    infoLineOf,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    flush: () => writer.flush?.(),
  };
}

/**
 * `new Date().toISOString()`, made at most once per millisecond.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isoClock } from "./logger.ts";
 * const clock = isoClock(() => 0);
 * assert.equal(clock(), "1970-01-01T00:00:00.000Z");
 * ```
 */
export function isoClock(now: () => number = Date.now): () => string {
  let lastMs = Number.NaN;
  let lastIso = "";
  return () => {
    const ms = now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
}

/** Options of {@link createBufferedWriter}. */
export interface BufferedWriterOptions {
  /** The batch size in bytes: a line that would not fit sends what is buffered first. */
  readonly maxBytes?: number;
  /** Flush at most this long after the first buffered line. */
  readonly maxDelayMs?: number;
}

/**
 * A {@link LineWriter} that collects lines and hands them to `sink` (synchronously: standard
 * output by default) in one piece: when the batch is full, `maxDelayMs` after the first line of
 * a batch (an unref'd timer: it never keeps the process alive), at once for an urgent line, on
 * `flush()`, at `Deno.exit` / the end of the program (`unload`) and on an uncaught error. `sink`
 * must use the bytes before it returns (they are reused). A sink that fails (stdout closed) drops
 * the batch rather than failing a request.
 *
 * Each line is UTF-8 encoded into one reused buffer as it arrives, so no string waits for the
 * batch: strings kept for up to `maxDelayMs` outlived V8's young generation (the server runs with
 * a 2 MiB semi-space) and were promoted to the old one, which cost about 30 MB of resident memory
 * under `/me` load at `info`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createBufferedWriter } from "./logger.ts";
 * const batches: string[] = [];
 * const decoder = new TextDecoder();
 * const writer = createBufferedWriter((bytes) => batches.push(decoder.decode(bytes)), {
 *   maxDelayMs: 60_000,
 * });
 * writer.write('{"a":1}', false);
 * writer.write('{"a":2}', false);
 * assert.equal(batches.length, 0);
 * writer.flush();
 * assert.deepEqual(batches, ['{"a":1}\n{"a":2}\n']);
 * writer.close();
 * ```
 */
export function createBufferedWriter(
  sink: (bytes: Uint8Array) => void = writeStdout,
  options: BufferedWriterOptions = {},
): LineWriter & { flush(): void; close(): void } {
  const buffer = new Uint8Array(options.maxBytes ?? 64 * 1024);
  const maxDelayMs = options.maxDelayMs ?? 50;
  let used = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const send = (bytes: Uint8Array) => {
    try {
      sink(bytes);
    } catch {
      // Nowhere left to write to; the server keeps answering.
    }
  };
  const flush = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (used === 0) return;
    const bytes = buffer.subarray(0, used);
    used = 0;
    send(bytes);
  };
  /** Encodes `line` and its newline after what is buffered; false when they do not fit. */
  const append = (line: string) => {
    const { read, written } = encoder.encodeInto(line, buffer.subarray(used));
    if (read < line.length || used + written >= buffer.length) return false;
    used += written;
    buffer[used++] = 0x0a;
    return true;
  };
  const onUnload = () => flush();
  // An uncaught error ends the process without `unload`: what was buffered goes out first.
  const lastEvents = ["unload", "error", "unhandledrejection"] as const;
  for (const event of lastEvents) globalThis.addEventListener(event, onUnload);
  return {
    write(line, urgent) {
      if (!append(line)) {
        flush();
        if (!append(line)) send(encoder.encode(line + "\n")); // larger than a whole batch
      }
      if (urgent) return flush();
      if (timer === undefined && used > 0) {
        const scheduled = setTimeout(flush, maxDelayMs);
        Deno.unrefTimer(scheduled);
        timer = scheduled;
      }
    },
    flush,
    close() {
      flush();
      for (const event of lastEvents) globalThis.removeEventListener(event, onUnload);
    },
  };
}

const encoder = new TextEncoder();

/** Writes all of `bytes` to standard output, synchronously (a short write is continued). */
function writeStdout(bytes: Uint8Array): void {
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
}
