/**
 * A lenient DER/BER TLV walker for X.509: what the certificate parser needs and nothing more.
 * Lenient on purpose (CT logs hold certificates strict parsers reject): non-minimal lengths, BER indefinite
 * lengths, high tag numbers and (where the caller asks) lengths running past the buffer are accepted.
 * It never throws and never loops without advancing: a malformed header makes `readTlv` return false.
 */

/** One TLV: `tag` is the identifier octet (class | constructed | number, or 0x1f-based for high tag numbers). */
export interface Tlv {
  tag: number;
  /** First value byte. */
  start: number;
  /** One past the last value byte. */
  end: number;
  /** Offset of the next sibling TLV. */
  next: number;
}

export function newTlv(): Tlv {
  return { tag: 0, start: 0, end: 0, next: 0 };
}

// Nesting bound for indefinite-length walks: real certificates nest < 15 deep; this keeps hostile input off the stack.
const MAX_DEPTH = 64;

/**
 * Reads the TLV at `pos`, bounded by `limit`, into `out`. Returns false when the header is malformed or the value
 * runs past `limit` (unless `clamp`, which cuts the value at `limit`: used for a truncated outermost SEQUENCE).
 */
export function readTlv(
  buf: Uint8Array,
  pos: number,
  limit: number,
  out: Tlv,
  clamp = false,
  depth = 0,
): boolean {
  if (pos + 2 > limit) return false;
  const tag = buf[pos++];
  if ((tag & 0x1f) === 0x1f) {
    // High tag number: base-128 continuation bytes.
    let n = 0;
    while (pos < limit && buf[pos] & 0x80 && n < 4) {
      pos++;
      n++;
    }
    pos++;
    if (pos >= limit) return false;
  }
  let len = buf[pos++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) {
      // Indefinite length (BER): only for constructed values; ends at the end-of-contents octets 00 00.
      if ((tag & 0x20) === 0 || depth >= MAX_DEPTH) return false;
      let q = pos;
      const child = newTlv();
      for (;;) {
        if (q + 2 > limit) return false;
        if (buf[q] === 0 && buf[q + 1] === 0) break;
        if (!readTlv(buf, q, limit, child, false, depth + 1)) return false;
        q = child.next;
      }
      out.tag = tag;
      out.start = pos;
      out.end = q;
      out.next = q + 2;
      return true;
    }
    if (n > 4 || pos + n > limit) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos++];
  }
  let end = pos + len;
  if (end > limit) {
    if (!clamp) return false;
    end = limit;
  }
  out.tag = tag;
  out.start = pos;
  out.end = end;
  out.next = end;
  return true;
}

/** Whether bytes [start, end) of `buf` equal `oid` (the content octets of an OBJECT IDENTIFIER). */
export function bytesEqual(buf: Uint8Array, start: number, end: number, oid: Uint8Array): boolean {
  const n = oid.length;
  if (end - start !== n) return false;
  for (let i = 0; i < n; i++) if (buf[start + i] !== oid[i]) return false;
  return true;
}

const dottedCache = new Map<string, string>();

/** Dotted form of an OBJECT IDENTIFIER's content octets ("2.23.140.1.2.1"); cached, OIDs repeat endlessly. */
export function oidToDotted(buf: Uint8Array, start: number, end: number): string {
  let key = "";
  for (let i = start; i < end; i++) key += String.fromCharCode(buf[i]);
  const hit = dottedCache.get(key);
  if (hit !== undefined) return hit;
  let out = "";
  let value = 0;
  let first = true;
  for (let i = start; i < end; i++) {
    value = value * 128 + (buf[i] & 0x7f);
    if ((buf[i] & 0x80) === 0) {
      if (first) {
        const arc0 = value < 40 ? 0 : value < 80 ? 1 : 2;
        out = `${arc0}.${value - arc0 * 40}`;
        first = false;
      } else {
        out += `.${value}`;
      }
      value = 0;
    }
  }
  // Bounded: a hostile stream of distinct OIDs must not grow memory without limit.
  if (dottedCache.size >= 4096) dottedCache.clear();
  dottedCache.set(key, out);
  return out;
}
