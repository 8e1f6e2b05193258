// TOTP codes as an authenticator app computes them (RFC 6238: HMAC-SHA-1, 6 digits, 30-second
// steps) from the base32 key a set-up page shows (RFC 4648, without padding; spaces ignored).
import { createHmac } from "node:crypto";

export const STEP_SECONDS = 30;

export function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const clean = text.replace(/[\s=]/g, "").toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of clean) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(c)} in ${JSON.stringify(text)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// The step a moment falls in (seconds since the epoch; now by default).
export const stepAt = (seconds = Date.now() / 1000) => Math.floor(seconds / STEP_SECONDS);

// The code of `step` for a base32 key.
export function codeAt(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(key)).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}
