// Hex renderings certstream uses: colon-separated upper case for fingerprints, lower case for key ids
// ("keyid:66:69:…"), plain upper case for serial numbers. Byte → string tables make each a single pass.
const UPPER: string[] = [];
const LOWER: string[] = [];
for (let i = 0; i < 256; i++) {
  const h = i.toString(16).padStart(2, "0");
  LOWER.push(h);
  UPPER.push(h.toUpperCase());
}

/** "30:AF:23:…" of a digest given as a latin1 string, one char per byte (see fingerprint in x509-certificate.ts). */
export function colonHexUpperLatin1(digest: string): string {
  if (digest.length === 0) return "";
  let s = UPPER[digest.charCodeAt(0)];
  for (let i = 1; i < digest.length; i++) s += `:${UPPER[digest.charCodeAt(i)]}`;
  return s;
}

/** "66:69:49:…" over buf[start, end) */
export function colonHexLower(buf: Uint8Array, start: number, end: number): string {
  if (end <= start) return "";
  let s = LOWER[buf[start]];
  for (let i = start + 1; i < end; i++) s += `:${LOWER[buf[i]]}`;
  return s;
}

/** "B99764012EA8…" over buf[start, end) */
export function hexUpper(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += UPPER[buf[i]];
  return s;
}
