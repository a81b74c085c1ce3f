// "Distinct" mode: re-served entries become different certificates by rewriting the last bytes of the serial
// number in place (same length, so every DER length stays valid). The CA signature then no longer verifies,
// which nothing in certstream checks; SHA-256/SHA-1 fingerprints and serial_number differ, so dedup keeps them.

interface Tlv {
  tag: number;
  headerLen: number;
  len: number;
}

function readTlv(buf: Buffer, pos: number): Tlv {
  const tag = buf[pos];
  let len = buf[pos + 1];
  let headerLen = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + 2 + i];
    headerLen = 2 + n;
  }
  return { tag, headerLen, len };
}

/** Offset and length of the serialNumber INTEGER's content inside a TBSCertificate starting at `tbsPos`. */
function serialInTbs(buf: Buffer, tbsPos: number): { pos: number; len: number } | null {
  const tbs = readTlv(buf, tbsPos);
  if (tbs.tag !== 0x30) return null;
  let p = tbsPos + tbs.headerLen;
  let t = readTlv(buf, p);
  if (t.tag === 0xa0) {
    p += t.headerLen + t.len; // [0] version
    t = readTlv(buf, p);
  }
  if (t.tag !== 0x02 || t.len < 2) return null;
  return { pos: p + t.headerLen, len: t.len };
}

/**
 * Keeps the first content byte (sign and minimal-encoding rules); overwrites up to 4 trailing bytes with the low
 * 32 bits of `variant`, and the 3 bytes before them with its bits above 32 when it has any (a start epoch: see
 * GrowingLogOptions.certEpoch), so that a variant below 2^32 stamps exactly what it always did. A serial too
 * short for those 3 bytes gets the epoch mixed into the low 32 bits instead (a bijection for one epoch).
 */
function stamp(buf: Buffer, at: { pos: number; len: number }, variant: number): void {
  let low = variant % 2 ** 32;
  const epoch = Math.floor(variant / 2 ** 32);
  let n = Math.min(4, at.len - 1);
  if (epoch > 0 && at.len - 1 >= 7) n = 7;
  else if (epoch > 0) low = (low ^ Math.imul(epoch, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < n; i++)
    buf[at.pos + at.len - 1 - i] = (i < 4 ? low / 2 ** (8 * i) : epoch / 2 ** (8 * (i - 4))) & 0xff;
}

/** A copy of a DER Certificate with its serial stamped with `variant`. */
export function mutateCertificate(der: Uint8Array, variant: number): Buffer {
  const out = Buffer.from(der);
  const cert = readTlv(out, 0);
  const at = serialInTbs(out, cert.headerLen);
  if (at) stamp(out, at, variant);
  return out;
}

/** A copy of a bare TBSCertificate with its serial stamped with `variant`. */
export function mutateTbs(tbs: Uint8Array, variant: number): Buffer {
  const out = Buffer.from(tbs);
  const at = serialInTbs(out, 0);
  if (at) stamp(out, at, variant);
  return out;
}
