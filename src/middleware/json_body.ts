/**
 * Guards for routes that take a JSON body: the body limit is enforced before anything is
 * parsed (413), and only a JSON media type is accepted (415).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../errors.ts";

/** The largest body any route accepts: 16 KiB. */
export const MAX_BODY_BYTES = 16 * 1024;

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Refuses a body over `maxBytes` (by `Content-Length` or while streaming) with 413. */
export function limitBody(maxBytes: number = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError("payload_too_large", `request body must be at most ${maxBytes} bytes`);
    },
  });
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
