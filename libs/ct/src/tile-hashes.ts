import { CompactRange, compactRangeHeights } from "./compact-range.ts";
import { nodeHash } from "./merkle-hash.ts";
import { splitPoint } from "./merkle-proof.ts";
import { HASH_SIZE, TILE_WIDTH } from "./tile-path.ts";

// Merkle Tree Hashes of a static-ct-api log computed from its hash tiles (c2sp.org/tlog-tiles): the n-th tile at
// level L holds MTH(D[(n*256+i) * 256^L : (n*256+i+1) * 256^L]) for i in 0..255, so any complete, aligned subtree
// of height h is the MTH of 2^(h-8L) consecutive hashes of one tile at level L = floor(h/8).
//
// Checks built on it (all relative to one tree size, with tiles fetched for that size):
//  - root(S1) from the tiles of a newer tree S2 equals an older checkpoint's root: consistency of the two;
//  - root(S) with the leaves of a data tile substituted equals the checkpoint root: inclusion of those entries.

export type FetchHashTile = (level: number, n: number, width: number) => Promise<Uint8Array>;

function mthOfRange(hashes: Uint8Array[], a: number, b: number): Uint8Array {
  const n = b - a;
  if (n === 1) return hashes[a];
  const k = splitPoint(n);
  return nodeHash(mthOfRange(hashes, a, a + k), mthOfRange(hashes, a + k, b));
}

export class TileHashes {
  readonly treeSize: number;
  readonly #fetch: FetchHashTile;
  readonly #tiles = new Map<string, Promise<Uint8Array>>();

  constructor(treeSize: number, fetchTile: FetchHashTile) {
    this.treeSize = treeSize;
    this.#fetch = fetchTile;
  }

  /** Hashes [first, first+count) at tile level L (all within one tile), for this tree size. */
  async #levelHashes(level: number, first: number, count: number): Promise<Uint8Array[]> {
    const n = Math.floor(first / TILE_WIDTH);
    const available = Math.floor(this.treeSize / TILE_WIDTH ** level);
    const width = Math.min(TILE_WIDTH, available - n * TILE_WIDTH);
    const key = `${level}/${n}/${width}`;
    let tile = this.#tiles.get(key);
    if (!tile) {
      tile = this.#fetch(level, n, width).then((t) => {
        if (t.length !== width * HASH_SIZE)
          throw new Error(`hash tile ${key} has ${t.length} bytes, expected ${width * HASH_SIZE}`);
        return t;
      });
      tile.catch(() => this.#tiles.delete(key));
      this.#tiles.set(key, tile);
    }
    const bytes = await tile;
    const out: Uint8Array[] = [];
    const off = first - n * TILE_WIDTH;
    for (let i = 0; i < count; i++)
      out.push(bytes.subarray((off + i) * HASH_SIZE, (off + i + 1) * HASH_SIZE));
    return out;
  }

  /** MTH of the complete subtree of height h (2^h leaves) with index idx at that height. */
  async subtreeHash(h: number, idx: number): Promise<Uint8Array> {
    const level = Math.floor(h / 8);
    const sub = h - 8 * level;
    const count = 2 ** sub;
    const hashes = await this.#levelHashes(level, idx * count, count);
    return mthOfRange(hashes, 0, count);
  }

  /**
   * MTH(D[a:b]) for b <= treeSize, taking leaf hashes [override.start, override.start + override.hashes.length)
   * from `override` instead of the tiles.
   */
  async hash(a: number, b: number, override?: { start: number; hashes: Uint8Array[] }): Promise<Uint8Array> {
    const n = b - a;
    if (override) {
      const os = override.start;
      const oe = os + override.hashes.length;
      if (a >= os && b <= oe) return mthOfRange(override.hashes, a - os, b - os);
      if (b <= os || a >= oe) return this.hash(a, b);
    } else if ((n & (n - 1)) === 0) {
      const h = Math.log2(n);
      return this.subtreeHash(h, a / n);
    }
    const k = splitPoint(n);
    const [l, r] = await Promise.all([this.hash(a, a + k, override), this.hash(a + k, b, override)]);
    return nodeHash(l, r);
  }

  /** Root of the first `size` leaves (size <= treeSize); size 0 is the hash of the empty string. */
  async rootHash(
    size = this.treeSize,
    override?: { start: number; hashes: Uint8Array[] },
  ): Promise<Uint8Array> {
    if (size === 0)
      return new Uint8Array(
        Buffer.from("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hex"),
      );
    return this.hash(0, size, override);
  }

  /**
   * The compact range [0, size) (size <= treeSize) from the tiles: each of its perfect subtrees is aligned, so
   * it is read from one tile per level (a few requests for any size), never from the leaves.
   */
  async compactRange(size: number): Promise<CompactRange> {
    if (size > this.treeSize) throw new RangeError(`compact range ${size} beyond tree size ${this.treeSize}`);
    const hashes: Uint8Array[] = [];
    let start = 0;
    for (const h of compactRangeHeights(size)) {
      hashes.push(await this.subtreeHash(h, start / 2 ** h));
      start += 2 ** h;
    }
    return CompactRange.of(size, hashes);
  }
}
