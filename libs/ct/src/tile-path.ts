// c2sp.org/tlog-tiles paths: tile/<L>/<N>[.p/<W>] and tile/data/<N>[.p/<W>], where N is split into 3-digit
// elements, all but the last prefixed with "x": 1234067 → x001/x234/067.

export const TILE_WIDTH = 256;
export const HASH_SIZE = 32;

/** The <N> path element(s) for tile index n. */
export function tileIndexPath(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad tile index ${n}`);
  let s = String(n % 1000).padStart(3, "0");
  let rest = Math.floor(n / 1000);
  while (rest > 0) {
    s = `x${String(rest % 1000).padStart(3, "0")}/${s}`;
    rest = Math.floor(rest / 1000);
  }
  return s;
}

/** `tile/<level>/<N>` (level 0..5) or `tile/data/<N>` for level "data", with `.p/<W>` when width < 256. */
export function tilePath(level: number | "data", n: number, width = TILE_WIDTH): string {
  if (width < 1 || width > TILE_WIDTH) throw new RangeError(`bad tile width ${width}`);
  const partial = width < TILE_WIDTH ? `.p/${width}` : "";
  return `tile/${level}/${tileIndexPath(n)}${partial}`;
}

/** Parse a tile path back into (level, index, width); null when it is not one. */
export function parseTilePath(path: string): { level: number | "data"; n: number; width: number } | null {
  const m = /^tile\/(data|[0-5])\/((?:x\d{3}\/)*\d{3})(?:\.p\/([1-9]\d*))?$/.exec(path);
  if (!m) return null;
  const n = Number(m[2].replaceAll("x", "").replaceAll("/", ""));
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (width > 255 && m[3] !== undefined) return null;
  return { level: m[1] === "data" ? "data" : Number(m[1]), n, width };
}

/** For a tree of `treeSize`, the width of data/level-0 tile n (256 for full tiles, 0 past the end). */
export function tileWidthAt(n: number, treeSize: number): number {
  const start = n * TILE_WIDTH;
  if (treeSize <= start) return 0;
  return Math.min(TILE_WIDTH, treeSize - start);
}
