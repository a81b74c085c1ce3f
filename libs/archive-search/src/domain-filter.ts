/**
 * Domain filters kept in the Parquet footer of a clustered file (key-value metadata `certstream.search.v1`; other
 * readers ignore it), one per granule of `granuleRows` consecutive rows: the range of the reversed keys of the
 * granule's registered domains, and, where a multi-domain certificate widened that range, a Bloom filter of them.
 * A sparse index in the manner of ClickHouse's primary key: the rows are sorted by the key, so a search finds the
 * one or two granules of a domain per file and reads only their pages (the offset index gives their bytes).
 * Parquet's own element statistics could not do this: they are in natural order, per row group or page, and
 * parquet-wasm writes no Bloom filters.
 */
export const DOMAIN_FILTER_KEY = "certstream.search.v1";

const BITS_PER_KEY = 10;
const HASHES = 7;

export interface GranuleFilter {
  /** Smallest and largest reversed key of a registered domain in the granule (absent: none). */
  lo?: string;
  hi?: string;
  /** Bloom filter bits over the reversed keys; only for granules holding a row with several registered domains. */
  bits?: Uint8Array;
}

export interface FileDomainFilters {
  granuleRows: number;
  granules: GranuleFilter[];
}

interface Encoded {
  v: 1;
  granuleRows: number;
  granules: [string | null, string | null, string | null][];
}

/** Two independent 32-bit hashes of a string (FNV-1a and a murmur-style mix), for double hashing. */
function hashes(s: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  h2 = Math.imul(h2 ^ (h2 >>> 15), 0x27d4eb2d);
  return [h1 >>> 0, (h2 >>> 0) | 1];
}

function bitCount(keys: number): number {
  let m = 1024;
  while (m < keys * BITS_PER_KEY) m *= 2;
  return m;
}

/** Builds the filter of one granule from its rows' reversed keys; `bloom` adds the Bloom filter. */
export function buildGranuleFilter(keys: readonly string[], bloom: boolean): GranuleFilter {
  let lo: string | undefined;
  let hi: string | undefined;
  for (const k of keys) {
    if (lo === undefined || k < lo) lo = k;
    if (hi === undefined || k > hi) hi = k;
  }
  if (!bloom) return { lo, hi };
  const m = bitCount(keys.length);
  const bits = new Uint8Array(m >> 3);
  for (const k of keys) {
    const [a, b] = hashes(k);
    for (let i = 0; i < HASHES; i++) {
      const bit = (a + Math.imul(i, b)) & (m - 1);
      bits[bit >> 3] |= 1 << (bit & 7);
    }
  }
  return { lo, hi, bits };
}

/** May the granule hold this reversed key? (False: certainly not.) */
export function mayContain(filter: GranuleFilter, key: string): boolean {
  if (filter.lo === undefined || filter.hi === undefined) return false;
  if (key < filter.lo || key > filter.hi) return false;
  if (!filter.bits) return true;
  const m = filter.bits.length * 8;
  const [a, b] = hashes(key);
  for (let i = 0; i < HASHES; i++) {
    const bit = (a + Math.imul(i, b)) & (m - 1);
    if ((filter.bits[bit >> 3] & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** May the granule hold a key in [lo, hi)? */
export function mayOverlap(filter: GranuleFilter, lo: string, hi: string): boolean {
  if (filter.lo === undefined || filter.hi === undefined) return false;
  return filter.lo < hi && filter.hi >= lo;
}

export function encodeDomainFilters(filters: FileDomainFilters): string {
  const out: Encoded = {
    v: 1,
    granuleRows: filters.granuleRows,
    granules: filters.granules.map((g) => [
      g.lo ?? null,
      g.hi ?? null,
      g.bits ? Buffer.from(g.bits).toString("base64") : null,
    ]),
  };
  return JSON.stringify(out);
}

/** A file's granule filters, or null when its footer has none (a file the sink wrote, not clustered yet). */
export function decodeDomainFilters(value: string | undefined): FileDomainFilters | null {
  if (value === undefined) return null;
  try {
    const parsed = JSON.parse(value) as Encoded;
    if (parsed.v !== 1 || !Array.isArray(parsed.granules) || !(parsed.granuleRows > 0)) return null;
    return {
      granuleRows: parsed.granuleRows,
      granules: parsed.granules.map(([lo, hi, b]) => ({
        lo: lo ?? undefined,
        hi: hi ?? undefined,
        bits: b === null ? undefined : new Uint8Array(Buffer.from(b, "base64")),
      })),
    };
  } catch {
    // A damaged or foreign value: the file is searched without its filters (correct, only slower).
    return null;
  }
}
