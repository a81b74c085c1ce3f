import { leafHash, nodeHash } from "./merkle-hash.ts";
import { inclusionProofRoot } from "./merkle-proof.ts";

// The compact range [0, size) of an RFC 6962 §2.1 Merkle tree (Trillian/Tessera's "compact range", the "tree
// state" of a CT monitor): the roots of the perfect subtrees that the binary decomposition of `size` splits
// D[0:size] into, largest (leftmost) first. One hash per 1-bit of size, so at most 64 × 32 bytes, in practice
// fewer than 30. Appending a leaf merges as many subtrees as size has trailing 1-bits (one on average); the
// root of the whole tree is the right-to-left fold of the subtrees, which is MTH(D[0:size]) because RFC 6962
// splits every tree at the largest power of two below its size (the leftmost perfect subtree).

/** SHA-256 of the empty string: MTH of the empty tree. */
const EMPTY_ROOT = new Uint8Array(
  Buffer.from("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hex"),
);

function popcount(n: number): number {
  let c = 0;
  // size can exceed 2^32: count with arithmetic, not bit operators.
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2;
  return c;
}

/** Heights of the perfect subtrees of [0, size), largest first (the 1-bits of size, high to low). */
export function compactRangeHeights(size: number): number[] {
  const out: number[] = [];
  for (let h = 0, x = size; x > 0; h++, x = Math.floor(x / 2)) if (x % 2 === 1) out.unshift(h);
  return out;
}

export class CompactRange {
  #size: number;
  /** Roots of the perfect subtrees, largest first; hashes.length === popcount(size). */
  readonly #hashes: Uint8Array[];

  private constructor(size: number, hashes: Uint8Array[]) {
    this.#size = size;
    this.#hashes = hashes;
  }

  /** The range of the empty tree: where a log is read from index 0. */
  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /**
   * The range [0, size) from its subtree roots, largest first. Throws RangeError when their number does not
   * match the 1-bits of size or one is not 32 bytes.
   */
  static of(size: number, hashes: readonly Uint8Array[]): CompactRange {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`compact range size ${size}`);
    if (hashes.length !== popcount(size))
      throw new RangeError(
        `compact range of size ${size} needs ${popcount(size)} hashes, got ${hashes.length}`,
      );
    for (const h of hashes) if (h.length !== 32) throw new RangeError("compact range hash is not 32 bytes");
    return new CompactRange(
      size,
      hashes.map((h) => new Uint8Array(h)),
    );
  }

  /**
   * The range [0, index) from an RFC 6962 §2.1.1 audit path of leaf `index` in the tree of `treeSize`: its
   * left siblings are exactly the perfect subtrees of [0, index). Null unless the path verifies against `root`
   * (RFC 9162 §2.1.3.2, the same walk that tells left siblings from right ones).
   */
  static fromInclusionProof(
    index: number,
    treeSize: number,
    leafHashValue: Uint8Array,
    proof: readonly Uint8Array[],
    root: Uint8Array,
  ): CompactRange | null {
    const left: Uint8Array[] = [];
    const r = inclusionProofRoot(index, treeSize, leafHashValue, proof, (node) => left.push(node));
    if (r === null || Buffer.compare(r, root) !== 0) return null;
    // Left siblings come lowest first: the range wants the largest first.
    left.reverse();
    if (left.length !== popcount(index)) return null;
    return new CompactRange(index, left);
  }

  /** Number of leaves covered: the range is [0, size). */
  get size(): number {
    return this.#size;
  }

  /** The subtree roots, largest first (do not modify). */
  get hashes(): readonly Uint8Array[] {
    return this.#hashes;
  }

  /** Appends leaf `size` (its RFC 6962 leaf hash, SHA-256(0x00 || MerkleTreeLeaf)). */
  append(leafHashValue: Uint8Array): void {
    let h = leafHashValue;
    // Each trailing 1-bit of size is a perfect subtree of the same height as the one being built: merge.
    for (let s = this.#size; s % 2 === 1; s = Math.floor(s / 2)) {
      h = nodeHash(this.#hashes.pop() as Uint8Array, h);
    }
    this.#hashes.push(h);
    this.#size++;
  }

  /** Appends the leaf whose MerkleTreeLeaf bytes are `merkleTreeLeaf`. */
  appendLeaf(merkleTreeLeaf: Uint8Array): void {
    this.append(leafHash(merkleTreeLeaf));
  }

  /** MTH(D[0:size]): the root a tree head of this size must carry. */
  rootHash(): Uint8Array {
    const n = this.#hashes.length;
    if (n === 0) return new Uint8Array(EMPTY_ROOT);
    let r = this.#hashes[n - 1];
    for (let i = n - 2; i >= 0; i--) r = nodeHash(this.#hashes[i], r);
    return new Uint8Array(r);
  }

  clone(): CompactRange {
    return new CompactRange(this.#size, this.#hashes.slice());
  }

  /** The subtree roots concatenated (32 bytes each, largest first): how the ingester stores the range. */
  encodeHashes(): Buffer {
    return Buffer.concat(this.#hashes);
  }

  /** Inverse of encodeHashes (with the size stored beside it); throws RangeError when they disagree. */
  static decode(size: number, hashes: Uint8Array): CompactRange {
    if (hashes.length % 32 !== 0) throw new RangeError("compact range bytes are not a multiple of 32");
    const list: Uint8Array[] = [];
    for (let i = 0; i < hashes.length; i += 32) list.push(hashes.subarray(i, i + 32));
    return CompactRange.of(size, list);
  }
}
