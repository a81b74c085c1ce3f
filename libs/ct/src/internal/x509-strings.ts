// Decoding of ASN.1 character strings found in X.509 names and GeneralNames, leniently: a value in the wrong
// string type or with invalid UTF-8 still yields text (certstream shows something rather than nothing).
import { isUtf8 } from "node:buffer";

const utf16 = new TextDecoder("utf-16be");

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Text of an 8-bit string value: ASCII and valid UTF-8 as UTF-8, anything else byte-for-byte (Latin-1). */
export function decodeText(buf: Uint8Array, start: number, end: number): string {
  const b = asBuffer(buf);
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (b[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return b.toString("latin1", start, end);
  const view = b.subarray(start, end);
  return isUtf8(view) ? b.toString("utf8", start, end) : b.toString("latin1", start, end);
}

/** Text of a string value by its universal tag (BMPString UTF-16BE, UniversalString UTF-32BE, others 8-bit). */
export function decodeStringValue(buf: Uint8Array, tag: number, start: number, end: number): string {
  switch (tag) {
    case 0x1e: // BMPString
      return utf16.decode(buf.subarray(start, end - ((end - start) & 1)));
    case 0x1c: {
      // UniversalString
      let s = "";
      for (let i = start; i + 4 <= end; i += 4) {
        const cp = ((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) >>> 0;
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : "\ufffd";
      }
      return s;
    }
    default:
      return decodeText(buf, start, end);
  }
}
