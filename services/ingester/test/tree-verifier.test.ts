// TreeVerifier's decisions without Kafka (the integration test runs them through an ingester): what a batch's
// entries carry and what state is committed, for each mode and head, and how a stored range is taken back.
import { CompactRange, leafHash, MerkleTree } from "@certstream/ct";
import { createLogger } from "@certstream/log";
import type { LogSource } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import type { LogHead } from "../src/log-reader.ts";
import { TreeVerifier } from "../src/tree-verifier.ts";

const LOG: LogSource = {
  id: "test-log",
  name: "Test",
  url: "https://ct.example/",
  operator: "t",
  kind: "rfc6962",
};
const logger = createLogger("tree-verifier-test", "silent");

const tree = new MerkleTree();
const leaves: Uint8Array[] = [];
for (let i = 0; i < 64; i++) {
  leaves.push(leafHash(Buffer.from(`entry ${i}`)));
  tree.append(leaves[i]);
}
const batch = (from: number, to: number) =>
  leaves.slice(from, to).map((h, k) => ({ index: from + k, leaf_hash: h as Uint8Array | null }));
const head = (size: number, signed = true, root = tree.rootHash(size)): LogHead => ({
  treeSize: size,
  timestamp: 1_700_000_000_000 + size,
  rootHash: root,
  signed,
});

describe("TreeVerifier", () => {
  it("from index 0: pending until a batch ends at a signed head, then verified; the state is the range", async () => {
    const v = new TreeVerifier("observe", LOG, logger);
    v.restore(null, 0);
    await v.prepare(0, leaves[0], head(40), null);
    const first = v.check(batch(0, 20), head(40));
    expect(first.entry.state).toBe("pending");
    expect(first.check).toBeNull();
    v.adopt(first, 0);
    const second = v.check(batch(20, 40), head(40));
    expect(second.entry).toEqual({ state: "verified", tree_size: 40, tree_timestamp: 1_700_000_000_040 });
    expect(second.check).toBe("match");
    v.adopt(second, 20);
    expect(v.stored).toMatchObject({ range_size: 40, seeded_at: 0, verified_size: 40, mismatch: null });
    // The stored range is exactly the compact range of [0, 40): one subtree per 1-bit of 40 (32 + 8).
    expect(v.stored.range_hashes?.length).toBe(64);
    // A new session takes it back and continues.
    const w = new TreeVerifier("observe", LOG, logger);
    w.restore(v.stored, 40);
    await w.prepare(40, leaves[40], head(64), () => Promise.reject(new Error("no seed needed")));
    expect(w.check(batch(40, 64), head(64)).entry.state).toBe("verified");
  });

  it("a stored range that does not end at the position is dropped, and seeded again from the log", async () => {
    const v = new TreeVerifier("observe", LOG, logger);
    const stale = { ...emptyState(), range_size: 30, range_hashes: Buffer.alloc(64), seeded_at: 0 };
    v.restore(stale, 40);
    expect(v.stored.range_hashes).toBeNull();
    let seeds = 0;
    await v.prepare(40, leaves[40], head(64), async (index, leaf, h) => {
      seeds++;
      return CompactRange.fromInclusionProof(
        index,
        h.treeSize,
        leaf,
        tree.inclusionProof(index, h.treeSize),
        h.rootHash as Uint8Array,
      );
    });
    expect(seeds).toBe(1);
    const verdict = v.check(batch(40, 64), head(64));
    expect(verdict.entry.state).toBe("verified");
    v.adopt(verdict, 40);
    expect(v.stored.seeded_at).toBe(40);
  });

  it("unsigned heads, mode off, a missing leaf hash or a failed seed give unverifiable entries", async () => {
    const unsigned = new TreeVerifier("observe", LOG, logger);
    unsigned.restore(null, 0);
    await unsigned.prepare(0, leaves[0], head(10, false), null);
    expect(unsigned.check(batch(0, 10), head(10, false)).entry.state).toBe("unverifiable");

    const off = new TreeVerifier("off", LOG, logger);
    off.restore(null, 0);
    const offVerdict = off.check(batch(0, 10), head(10));
    expect(offVerdict.entry.state).toBe("unverifiable");
    expect(offVerdict.stored).toBeNull();

    const holes = new TreeVerifier("observe", LOG, logger);
    holes.restore(null, 0);
    await holes.prepare(0, leaves[0], head(10), null);
    const b = batch(0, 10);
    b[5].leaf_hash = null;
    const broken = holes.check(b, head(10));
    expect(broken.entry.state).toBe("unverifiable");
    expect(broken.stored?.range_hashes).toBeNull();

    const failed = new TreeVerifier("observe", LOG, logger);
    failed.restore(null, 20);
    await failed.prepare(20, leaves[20], head(30), async () => null);
    expect(failed.check(batch(20, 30), head(30)).entry.state).toBe("unverifiable");
  });

  it("observe: a mismatch is recorded and published, later entries say mismatch until a head matches again", async () => {
    const v = new TreeVerifier("observe", LOG, logger);
    v.restore(null, 0);
    await v.prepare(0, leaves[0], head(20), null);
    const forked = head(20, true, leafHash(Buffer.from("fork")));
    const bad = v.check(batch(0, 20), forked);
    expect(bad).toMatchObject({ check: "mismatch", halt: false });
    expect(bad.entry.state).toBe("mismatch");
    v.adopt(bad, 0);
    expect(v.stored.mismatch?.tree_size).toBe(20);
    expect(v.check(batch(20, 30), head(40)).entry.state).toBe("mismatch");
    v.adopt(v.check(batch(20, 30), head(40)), 20);
    // The true head of 40 matches what was read: the mismatch was the head's, not the entries'.
    const good = v.check(batch(30, 40), head(40));
    expect(good.check).toBe("match");
    v.adopt(good, 30);
    expect(v.stored.mismatch).toBeNull();
  });

  it("enforce: the batch reaching a mismatching head is withheld and the range stays where it was", async () => {
    const v = new TreeVerifier("enforce", LOG, logger);
    v.restore(null, 0);
    await v.prepare(0, leaves[0], head(30), null);
    v.adopt(v.check(batch(0, 20), head(30)), 0);
    const changed = batch(20, 30);
    changed[3].leaf_hash = leafHash(Buffer.from("changed"));
    const verdict = v.check(changed, head(30));
    expect(verdict).toMatchObject({ check: "mismatch", halt: true });
    expect(verdict.stored).toMatchObject({ range_size: 20, halted: true });
    v.adopt(verdict, 20);
    expect(v.halted).toBe(true);
    const reset = v.resetState(20);
    expect(reset).toMatchObject({ range_size: 20, range_hashes: null, mismatch: null, halted: false });
    v.adoptReset(reset);
    expect(v.halted).toBe(false);
  });
});

function emptyState() {
  return {
    range_size: 0,
    range_hashes: null,
    seeded_at: null,
    verified_size: 0,
    verified_timestamp: 0,
    mismatch: null,
    halted: false,
  };
}
