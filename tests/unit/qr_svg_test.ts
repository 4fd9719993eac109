/**
 * The enrolment's SVG QR code, read back by a decoder that is not ours (npm:jsqr, a pure
 * JavaScript QR reader): the SVG is drawn into a bitmap as a browser would paint its unit squares,
 * and the decoder must find the exact `otpauth://` URI in it.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: kept out of deno.json so start/compile never load it
import jsqr from "npm:jsqr@^1.4.0";
import { qrSvg } from "../../src/mfa/qr_svg.ts";
import { addUser, login, makeApp } from "../helpers/app.ts";

/** jsQR's function: a CommonJS module whose types describe an ES default export. */
const jsQR = ((jsqr as unknown as { default?: unknown }).default ?? jsqr) as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;

/** Paints the SVG's squares (`M x y h1v1h-1z`) at `scale` pixels a module; decodes it. */
function decode(svg: string, scale = 4): string | undefined {
  const size = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1]);
  assert.ok(size > 21, "a QR symbol is at least 21 modules, plus the quiet zone");
  const px = size * scale;
  const rgba = new Uint8ClampedArray(px * px * 4).fill(255);
  const d = /<path fill="#000" d="([^"]*)"/.exec(svg)?.[1] ?? "";
  let squares = 0;
  for (const [, x, y] of d.matchAll(/M(\d+) (\d+)h1v1h-1z/g)) {
    squares++;
    for (let dy = 0; dy < scale; dy++) {
      for (let dx = 0; dx < scale; dx++) {
        const at = ((Number(y) * scale + dy) * px + Number(x) * scale + dx) * 4;
        rgba.fill(0, at, at + 3);
      }
    }
  }
  assert.equal(d.replace(/M\d+ \d+h1v1h-1z/g, ""), "", "the path is squares only");
  assert.ok(squares > 0);
  return jsQR(rgba, px, px)?.data;
}

Deno.test("QR SVG: an independent decoder reads back the exact otpauth URI", () => {
  for (
    const uri of [
      "otpauth://totp/auth.test:ada?secret=JBSWY3DPEHPK3PXP&issuer=auth.test&algorithm=SHA1&digits=6&period=30",
      "otpauth://totp/example.com%3A%C3%A9l%C3%A8ve%20one?secret=" + "A".repeat(32) +
      "&issuer=example.com",
    ]
  ) {
    assert.equal(decode(qrSvg(uri)), uri);
  }
  assert.throws(() => qrSvg("otpauth://totp/é"), /ASCII/);
});

Deno.test("QR SVG: POST /me/mfa/totp answers qr_svg, which decodes to its otpauth_uri", async () => {
  using t = await makeApp();
  await addUser(t, "ada", "ada password 1", ["user"]);
  const { token } = await login(t, "ada", "ada password 1");
  const res = await t.post("/me/mfa/totp", { password: "ada password 1" }, {
    Authorization: `Bearer ${token}`,
  });
  const body = await res.json();
  assert.equal(res.status, 200);
  assert.match(body.qr_svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
  assert.doesNotMatch(body.qr_svg, /<script|on\w+=|href/i, "plain shapes only");
  assert.equal(decode(body.qr_svg), body.otpauth_uri);
});
