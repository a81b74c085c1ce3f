import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NAVIGLI_DIR } from "../../../test/ct-standin/testdata.ts";
import { leafHash } from "../src/merkle-hash.ts";
import { MerkleTree } from "../src/merkle-proof.ts";
import { TileHashes } from "../src/tile-hashes.ts";
import { encodeTileLeaf, readDataTile, readTileLeaf, TileLeafError } from "../src/tile-leaf.ts";
import { parseTilePath, tilePath } from "../src/tile-path.ts";

const info = JSON.parse(
  readFileSync(join(NAVIGLI_DIR, "log-info.json"), "utf8"),
).computed_by_testdata_collector;

describe("tile paths (c2sp.org/tlog-tiles)", () => {
  it("encodes indexes in 3-digit x-prefixed elements", () => {
    expect(tilePath("data", 0)).toBe("tile/data/000");
    expect(tilePath(0, 1234067)).toBe("tile/0/x001/x234/067");
    expect(tilePath("data", 1234067, 10)).toBe("tile/data/x001/x234/067.p/10");
    expect(tilePath(2, 1000)).toBe("tile/2/x001/000");
    expect(parseTilePath("tile/data/x001/x234/067.p/10")).toEqual({ level: "data", n: 1234067, width: 10 });
    expect(parseTilePath("tile/6/000")).toBeNull();
    expect(parseTilePath("tile/0/1234")).toBeNull();
  });
});

describe("TileLeaf decoding (navigli2025h2, real)", () => {
  const tiles = [0, 1, 2, 3].map((n) => readFileSync(join(NAVIGLI_DIR, `tile/data/00${n}`)));
  it("every leaf decodes, carries its own leaf_index, and hashes to the level-0 tile", () => {
    for (let n = 0; n < 4; n++) {
      const leaves = readDataTile(tiles[n], 256);
      const level0 = readFileSync(join(NAVIGLI_DIR, `tile/0/00${n}`));
      leaves.forEach((l, i) => {
        expect(l.leafIndex).toBe(n * 256 + i);
        expect(l.entryType).toBe("precert");
        expect(l.chainFingerprints.length).toBe(2);
        expect(Buffer.from(leafHash(l.merkleTreeLeaf)).equals(level0.subarray(i * 32, i * 32 + 32))).toBe(
          true,
        );
      });
    }
  });
  it("the partial tile equals the first 10 leaves of tile 003", () => {
    const partial = readDataTile(readFileSync(join(NAVIGLI_DIR, "tile/data/003.p/10")), 10);
    const full = readDataTile(tiles[3], 256);
    for (let i = 0; i < 10; i++)
      expect(Buffer.from(partial[i].merkleTreeLeaf).equals(full[i].merkleTreeLeaf)).toBe(true);
  });
  it("encodeTileLeaf is the inverse of readTileLeaf", () => {
    let pos = 0;
    for (let i = 0; i < 256; i++) {
      const { leaf, next } = readTileLeaf(tiles[1], pos);
      expect(encodeTileLeaf(leaf).equals(tiles[1].subarray(pos, next))).toBe(true);
      pos = next;
    }
  });
  it("truncated and mutated tiles give typed errors, never crashes", () => {
    expect(() => readDataTile(tiles[0].subarray(0, 5000), 256)).toThrow(TileLeafError);
    expect(() => readDataTile(tiles[0], 255)).toThrow(/256 leaves, expected 255/);
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let k = 0; k < 2000; k++) {
      const t = Buffer.from(tiles[k % 4].subarray(0, 4000 + Math.floor(rnd() * 4000)));
      for (let j = 0; j < 4; j++) t[Math.floor(rnd() * t.length)] = Math.floor(rnd() * 256);
      try {
        readDataTile(t);
      } catch (err) {
        expect(err).toBeInstanceOf(TileLeafError);
      }
    }
  });
});

describe("TileHashes over the real level-0 tiles", () => {
  const level0 = [0, 1, 2, 3].map((n) => readFileSync(join(NAVIGLI_DIR, `tile/0/00${n}`)));
  const partial = readFileSync(join(NAVIGLI_DIR, "tile/0/003.p/10"));
  // The test data has no level-1 tile: derive it from level 0 (MTH of each full level-0 tile).
  const fetchTile = async (level: number, n: number, width: number): Promise<Uint8Array> => {
    if (level === 0)
      return width === 256
        ? level0[n]
        : width === 10 && n === 3
          ? partial
          : level0[n].subarray(0, width * 32);
    const t = new MerkleTree();
    for (const tile of level0) for (let i = 0; i < 256; i++) t.append(tile.subarray(i * 32, i * 32 + 32));
    const out = Array.from({ length: width }, (_, i) => t.hash((n * 256 + i) * 256, (n * 256 + i + 1) * 256));
    return Buffer.concat(out);
  };
  it("compute the roots published for sizes 1024 and 778", async () => {
    expect(Buffer.from(await new TileHashes(1024, fetchTile).rootHash()).toString("base64")).toBe(
      info.rfc6962_root_hash_tree_size_1024_b64,
    );
    expect(Buffer.from(await new TileHashes(778, fetchTile).rootHash()).toString("base64")).toBe(
      info.rfc6962_root_hash_tree_size_778_b64,
    );
    // Consistency: the size-778 root from the size-1024 tiles.
    expect(Buffer.from(await new TileHashes(1024, fetchTile).rootHash(778)).toString("base64")).toBe(
      info.rfc6962_root_hash_tree_size_778_b64,
    );
  });
  it("prove inclusion of a data tile by substituting its leaf hashes", async () => {
    const leaves = readDataTile(readFileSync(join(NAVIGLI_DIR, "tile/data/002")), 256);
    const hashes = leaves.map((l) => leafHash(l.merkleTreeLeaf));
    const th = new TileHashes(1024, fetchTile);
    expect(Buffer.from(await th.rootHash(1024, { start: 512, hashes })).toString("base64")).toBe(
      info.rfc6962_root_hash_tree_size_1024_b64,
    );
    expect(Buffer.from(await th.rootHash(1024, { start: 256, hashes })).toString("base64")).not.toBe(
      info.rfc6962_root_hash_tree_size_1024_b64,
    );
  });
});
