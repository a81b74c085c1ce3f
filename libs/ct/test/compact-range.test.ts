// The compact range a monitor keeps per log (issue 18): built leaf by leaf, seeded from an audit path or from hash
// tiles, it must give the real roots of real logs, and any changed or reordered entry must change the root.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NAVIGLI_DIR } from "../../../test/ct-standin/testdata.ts";
import { CompactRange, compactRangeHeights } from "../src/compact-range.ts";
import { leafHash } from "../src/merkle-hash.ts";
import { MerkleTree } from "../src/merkle-proof.ts";
import { TileHashes } from "../src/tile-hashes.ts";
import { readDataTile } from "../src/tile-leaf.ts";
import { TESTDATA } from "./testdata.ts";

const info = JSON.parse(
  readFileSync(join(NAVIGLI_DIR, "log-info.json"), "utf8"),
).computed_by_testdata_collector;

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** The 1024 real navigli2025h2 entries' MerkleTreeLeaf bytes, from the data tiles. */
function navigliLeaves(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 0; n < 4; n++)
    for (const l of readDataTile(readFileSync(join(NAVIGLI_DIR, `tile/data/00${n}`)), 256))
      out.push(l.merkleTreeLeaf);
  return out;
}

/** Hash tiles of the navigli log for any tree size (level 0 is real; level 1 derived, the data has none). */
function navigliTiles(): (level: number, n: number, width: number) => Promise<Uint8Array> {
  const level0 = [0, 1, 2, 3].map((n) => readFileSync(join(NAVIGLI_DIR, `tile/0/00${n}`)));
  const t = new MerkleTree();
  for (const tile of level0) for (let i = 0; i < 256; i++) t.append(tile.subarray(i * 32, i * 32 + 32));
  return async (level, n, width) => {
    if (level === 0) return level0[n].subarray(0, width * 32);
    return Buffer.concat(
      Array.from({ length: width }, (_, i) => t.hash((n * 256 + i) * 256, (n * 256 + i + 1) * 256)),
    );
  };
}

describe("CompactRange", () => {
  it("gives the RFC 6962 root of every size, as the in-memory tree does", () => {
    const t = new MerkleTree();
    const r = CompactRange.empty();
    expect(b64(r.rootHash())).toBe(b64(t.rootHash(0)));
    for (let i = 0; i < 600; i++) {
      const h = leafHash(Buffer.from(`leaf ${i}`));
      t.append(h);
      r.append(h);
      expect(r.hashes.length).toBe(compactRangeHeights(i + 1).length);
      expect(b64(r.rootHash())).toBe(b64(t.rootHash()));
    }
    const copy = CompactRange.decode(r.size, r.encodeHashes());
    expect(b64(copy.rootHash())).toBe(b64(r.rootHash()));
    expect(() => CompactRange.decode(r.size + 1, r.encodeHashes())).toThrow(RangeError);
  });

  it("is seeded from one audit path (the left siblings) and continues to the same roots", () => {
    const t = new MerkleTree();
    for (let i = 0; i < 300; i++) t.append(leafHash(Buffer.from(`leaf ${i}`)));
    for (const size of [1, 2, 5, 64, 255, 256, 257, 300])
      for (let index = 0; index < size; index += index < 20 ? 1 : 7) {
        const proof = t.inclusionProof(index, size);
        const r = CompactRange.fromInclusionProof(index, size, t.leaf(index), proof, t.rootHash(size));
        expect(r?.size, `index ${index} size ${size}`).toBe(index);
        if (!r) continue;
        for (let i = index; i < 300; i++) r.append(t.leaf(i));
        expect(b64(r.rootHash())).toBe(b64(t.rootHash(300)));
        // A proof that does not verify seeds nothing.
        if (proof.length > 0) {
          const bad = proof.map((p, i) => (i === proof.length - 1 ? leafHash(Buffer.from("x")) : p));
          expect(
            CompactRange.fromInclusionProof(index, size, t.leaf(index), bad, t.rootHash(size)),
          ).toBeNull();
        }
      }
  });

  it("real RFC 6962 entries (4 Google Pilot entries, 2013) hash to their tree's root", () => {
    const body = JSON.parse(
      readFileSync(
        new URL("ct-entries/rfc6962/ct-go-scanner-4-x509-entries-2013.get-entries.json", TESTDATA),
        "utf8",
      ),
    ) as { entries: { leaf_input: string }[] };
    const r = CompactRange.empty();
    for (const e of body.entries) r.appendLeaf(Buffer.from(e.leaf_input, "base64"));
    // The RFC 6962 root of these 4 leaves, as the testdata README gives it.
    expect(b64(r.rootHash())).toBe("A26tmgcaUJpkFXFpkzCS8bJ29cQBEgExKAYFL8hiJ5E=");
  });

  it("navigli2025h2: the entries of the real data tiles hash to the log's roots at 778 and 1024", () => {
    const leaves = navigliLeaves();
    const r = CompactRange.empty();
    for (let i = 0; i < leaves.length; i++) {
      r.appendLeaf(leaves[i]);
      if (r.size === 778) expect(b64(r.rootHash())).toBe(info.rfc6962_root_hash_tree_size_778_b64);
    }
    expect(b64(r.rootHash())).toBe(info.rfc6962_root_hash_tree_size_1024_b64);
  });

  it("navigli2025h2: seeded from the hash tiles mid-log, the entries after it reach the same root", async () => {
    const leaves = navigliLeaves();
    const fetchTile = navigliTiles();
    for (const start of [1, 300, 512, 777, 1000]) {
      let requests = 0;
      const tiles = new TileHashes(1024, (l, n, w) => {
        requests++;
        return fetchTile(l, n, w);
      });
      const r = await tiles.compactRange(start);
      // One tile per level at most: the seed costs a handful of requests, whatever the position.
      expect(requests).toBeLessThanOrEqual(2);
      for (let i = start; i < 1024; i++) r.appendLeaf(leaves[i]);
      expect(b64(r.rootHash()), `seeded at ${start}`).toBe(info.rfc6962_root_hash_tree_size_1024_b64);
    }
  });

  it("navigli2025h2: a changed entry, a reordered entry or a forked tree head are caught", () => {
    const leaves = navigliLeaves();
    const rootOf = (ls: Uint8Array[]) => {
      const r = CompactRange.empty();
      for (const l of ls) r.appendLeaf(l);
      return b64(r.rootHash());
    };
    const changed = leaves.slice();
    const c = Buffer.from(changed[500]);
    c[c.length - 1] ^= 1;
    changed[500] = c;
    expect(rootOf(changed)).not.toBe(info.rfc6962_root_hash_tree_size_1024_b64);
    const reordered = leaves.slice();
    [reordered[600], reordered[601]] = [reordered[601], reordered[600]];
    expect(rootOf(reordered)).not.toBe(info.rfc6962_root_hash_tree_size_1024_b64);
    // A fork: the head of 1024 carries the 778 root (or any other): the real entries do not hash to it.
    expect(rootOf(leaves)).not.toBe(info.rfc6962_root_hash_tree_size_778_b64);
  });
});
