/**
 * An SVG QR code of an `otpauth://` URI, for enrolment (`POST /me/mfa/totp` answers it as
 * `qr_svg`): an authenticator app scans it instead of the user typing the secret. Encoded by
 * `npm:qrcode-generator` (no dependencies), drawn here as one `<path>` of unit squares with the
 * standard four-module quiet zone (ISO/IEC 18004), error correction level M. The URI is ASCII
 * (`otpauthUri` percent-encodes), so byte mode carries it as is.
 *
 * @module
 */
import qrcode from "qrcode-generator";

/** Modules of light margin around the symbol (ISO/IEC 18004 asks for four). */
const QUIET_ZONE = 4;

/**
 * The SVG of a QR code holding `text` (ASCII).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { qrSvg } from "./qr_svg.ts";
 * const svg = qrSvg("otpauth://totp/example.com:ada?secret=JBSWY3DPEHPK3PXP&issuer=example.com");
 * assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
 * ```
 */
export function qrSvg(text: string): string {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error("qrSvg encodes printable ASCII only");
  const code = qrcode(0, "M");
  code.addData(text, "Byte");
  code.make();
  const count = code.getModuleCount();
  const size = count + 2 * QUIET_ZONE;
  let path = "";
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (code.isDark(row, col)) path += `M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" ` +
    `shape-rendering="crispEdges" role="img" aria-label="QR code of the authenticator app's key">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${path}"/></svg>`;
}
