// JSON fragments built by hand: messages are assembled from strings, so each value is escaped exactly once.
// Fast path as pino's: a string with nothing to escape is quoted as is; anything else goes through
// JSON.stringify (control characters, quotes, backslashes, lone surrogates).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

export function jsonNullableString(s: string | null): string {
  return s === null ? "null" : jsonString(s);
}

/** A float as the reference servers write it: integral values keep ".0" (1700000000.0), so clients see a float. */
export function jsonFloat(n: number): string {
  if (!Number.isFinite(n)) return "null";
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? `${n}.0` : `${n}`;
}

export function jsonStringArray(items: readonly string[]): string {
  if (items.length === 0) return "[]";
  let s = `[${jsonString(items[0])}`;
  for (let i = 1; i < items.length; i++) s += `,${jsonString(items[i])}`;
  return `${s}]`;
}
