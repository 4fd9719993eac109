/** Test helper: makes the half-written-file window of an exclusive create observable. */

/**
 * Replaces `Deno.writeTextFile` for the duration of `fn` with one that, for an exclusive create,
 * creates the file and then pauses before writing its content: the window another process sees
 * when it reads a file its creator has not finished writing.
 */
export async function withSlowExclusiveWrites(fn: () => Promise<void>): Promise<void> {
  const original = Deno.writeTextFile;
  Deno.writeTextFile = async (path, data, options) => {
    if (!options?.createNew) return await original(path, data, options);
    const file = await Deno.open(path, {
      write: true,
      createNew: true,
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
    });
    try {
      await new Promise((r) => setTimeout(r, 30));
      const text = typeof data === "string" ? data : "";
      await file.write(new TextEncoder().encode(text));
    } finally {
      file.close();
    }
  };
  try {
    await fn();
  } finally {
    Deno.writeTextFile = original;
  }
}
