/*
 * Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
 *
 * Lenient: UTCTime without seconds, either form with a "+hhmm"/"-hhmm" offset or without "Z" (read as UTC),
 * GeneralizedTime with fractional seconds. Returns seconds since the epoch, or null when no date can be read.
 */

function digits(buf: Uint8Array, at: number, n: number, end: number): number {
  if (at + n > end) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = buf[at + i] - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

export function readTime(buf: Uint8Array, tag: number, start: number, end: number): number | null {
  let p = start;
  let year: number;
  if (tag === 0x18) {
    // GeneralizedTime YYYYMMDDHH[MM[SS[.fff]]][Z|±hhmm]
    year = digits(buf, p, 4, end);
    p += 4;
  } else {
    // UTCTime YYMMDDhhmm[ss][Z|±hhmm]; RFC 5280: YY >= 50 is 19YY.
    const yy = digits(buf, p, 2, end);
    year = yy < 0 ? -1 : yy >= 50 ? 1900 + yy : 2000 + yy;
    p += 2;
  }
  const month = digits(buf, p, 2, end);
  const day = digits(buf, p + 2, 2, end);
  const hour = digits(buf, p + 4, 2, end);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 24) return null;
  p += 6;
  let minute = digits(buf, p, 2, end);
  if (minute < 0) minute = 0;
  else p += 2;
  let second = digits(buf, p, 2, end);
  if (second < 0) second = 0;
  else p += 2;
  // Fractional seconds are dropped (certstream carries whole seconds).
  if (p < end && (buf[p] === 0x2e || buf[p] === 0x2c)) {
    p++;
    while (p < end && buf[p] >= 0x30 && buf[p] <= 0x39) p++;
  }
  let offsetMinutes = 0;
  if (p < end && (buf[p] === 0x2b || buf[p] === 0x2d)) {
    const oh = digits(buf, p + 1, 2, end);
    const om = digits(buf, p + 3, 2, end);
    if (oh >= 0) offsetMinutes = (buf[p] === 0x2d ? -1 : 1) * (oh * 60 + Math.max(om, 0));
  }
  // Date.UTC maps years 0-99 to 1900-1999; GeneralizedTime years are literal.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  const ms = date.getTime();
  return Math.floor(ms / 1000) - offsetMinutes * 60;
}
