/**
 * Guards for routes that take a JSON body: the body limit is enforced before anything is
 * parsed (413), and only a JSON media type is accepted (415).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors.ts";
import { isForbiddenMethod, methodNotAllowed } from "../http/forbidden_methods.ts";
import { readBody } from "../http/read_body.ts";

/** The largest body any route accepts: 16 KiB. */
export const MAX_BODY_BYTES = 16 * 1024;

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Refuses a body over `maxBytes` (by `Content-Length`, or while reading a body sent without one)
 * with 413. Unlike `hono/body-limit`, a read body is put back into a request built from the URL,
 * method and headers, not from the incoming request: copying that one also copies its `signal`,
 * and Deno then prints its "request.signal aborts on successful responses" warning. A body that
 * cannot be read to its end (the client went away) is 400 `bad_request` (`http/read_body.ts`).
 */
export function limitBody(maxBytes: number = MAX_BODY_BYTES): MiddlewareHandler {
  const tooLarge = () =>
    new ApiError("payload_too_large", `request body must be at most ${maxBytes} bytes`);
  return async function limitBodyMiddleware(c, next) {
    const raw = c.req.raw;
    if (!raw.body) return await next();
    const length = raw.headers.get("content-length");
    if (length !== null && !raw.headers.has("transfer-encoding")) {
      if (Number(length) > maxBytes) throw tooLarge();
      return await next();
    }
    // A Request cannot be built with these: the app refuses them before any route (app.ts);
    // this is the second line, so that they are never a 500.
    if (isForbiddenMethod(raw.method)) throw methodNotAllowed(raw.method);
    const stream = raw.body;
    const chunks: Uint8Array[] = [];
    let size = 0;
    await readBody(async () => {
      for await (const chunk of stream) {
        size += chunk.length;
        if (size > maxBytes) throw tooLarge();
        chunks.push(chunk);
      }
    });
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    const headers = new Headers(raw.headers);
    headers.delete("transfer-encoding");
    try {
      c.req.raw = new Request(raw.url, {
        method: raw.method,
        headers,
        // A GET or HEAD request may not carry a body in a Request: what it sent is dropped.
        ...(size > 0 && raw.method !== "GET" && raw.method !== "HEAD" ? { body } : {}),
      });
    } catch (err) {
      // Whatever the fetch standard refuses to build is the request's fault, not a bug.
      throw new ApiError("bad_request", "request cannot be read", {}, { cause: err });
    }
    await next();
  };
}

/** Refuses a request whose `Content-Type` is not JSON with 415. */
export function requireJson(): MiddlewareHandler {
  return async function requireJsonMiddleware(c, next) {
    const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim() ?? "";
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new ApiError("unsupported_media_type", "Content-Type must be application/json");
    }
    await next();
  };
}
