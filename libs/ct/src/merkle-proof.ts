import { nodeHash } from "./merkle-hash.ts";

// Merkle audit and consistency proofs, RFC 6962 §2.1.1–2.1.2, verified with the algorithms of RFC 9162
// §2.1.3.2 and §2.1.4.2 (same trees, iterative form). Hashes are 32-byte SHA-256 values.

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The root an audit path of `leafHash` at `index` in the tree of `treeSize` leads to (RFC 9162 §2.1.3.2), or
 * null when the path has the wrong length. `onLeftSibling` sees each path node that is a left sibling, lowest
 * first: exactly the perfect subtrees of [0, index), which seed a compact range (compact-range.ts).
 */
export function inclusionProofRoot(
  index: number,
  treeSize: number,
  leafHashValue: Uint8Array,
  proof: readonly Uint8Array[],
  onLeftSibling?: (node: Uint8Array) => void,
): Uint8Array | null {
  if (index < 0 || index >= treeSize) return null;
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHashValue;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // fn even here: the node had no right sibling and was promoted; p is still a left sibling.
      onLeftSibling?.(p);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/** True when `leafHash` at `index` is in the tree of `treeSize` with root `root`, given its audit path. */
export function verifyInclusionProof(
  index: number,
  treeSize: number,
  leafHashValue: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const r = inclusionProofRoot(index, treeSize, leafHashValue, proof);
  return r !== null && equalBytes(r, root);
}

/**
 * True when the tree of `size2` with `root2` extends the tree of `size1` with `root1` (RFC 9162 §2.1.4.2).
 * Equal sizes need an empty proof and equal roots; size1 = 0 is consistent with anything.
 */
export function verifyConsistencyProof(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (size1 < 0 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = [...proof];
  // If size1 is an exact power of two, root1 is itself the first node of the path.
  if ((size1 & (size1 - 1)) === 0) path.unshift(root1);
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return equalBytes(fr, root1) && equalBytes(sr, root2) && sn === 0;
}

/** Largest power of two strictly smaller than n (n >= 2): the RFC 6962 split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * A Merkle tree over leaf hashes held in memory: tree heads and proofs as a log serves them. Used by the
 * stand-in logs and by tests; subtree hashes of complete power-of-two blocks are memoised so a growing tree
 * stays cheap.
 */
export class MerkleTree {
  readonly #leaves: Uint8Array[] = [];
  readonly #memo = new Map<string, Uint8Array>();

  get size(): number {
    return this.#leaves.length;
  }

  append(leafHashValue: Uint8Array): void {
    this.#leaves.push(leafHashValue);
  }

  leaf(index: number): Uint8Array {
    return this.#leaves[index];
  }

  /** MTH(D[start:end]). */
  hash(start: number, end: number): Uint8Array {
    const n = end - start;
    if (n === 0) throw new RangeError("empty subtree has no hash here; use rootHash(0)");
    if (n === 1) return this.#leaves[start];
    const complete = (n & (n - 1)) === 0;
    const key = `${start}:${n}`;
    if (complete) {
      const hit = this.#memo.get(key);
      if (hit) return hit;
    }
    const k = splitPoint(n);
    const h = nodeHash(this.hash(start, start + k), this.hash(start + k, end));
    if (complete) this.#memo.set(key, h);
    return h;
  }

  /** Root of the tree of the first `size` leaves (SHA-256 of the empty string for size 0). */
  rootHash(size = this.size): Uint8Array {
    if (size === 0)
      return new Uint8Array(
        Buffer.from("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hex"),
      );
    return this.hash(0, size);
  }

  /** PATH(m, D[0:n]) of RFC 6962 §2.1.1. */
  inclusionProof(index: number, size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const walk = (m: number, start: number, end: number): void => {
      const n = end - start;
      if (n <= 1) return;
      const k = splitPoint(n);
      if (m < k) {
        walk(m, start, start + k);
        out.push(this.hash(start + k, end));
      } else {
        walk(m - k, start + k, end);
        out.push(this.hash(start, start + k));
      }
    };
    walk(index, 0, size);
    return out;
  }

  /** PROOF(m, D[0:n]) of RFC 6962 §2.1.2. */
  consistencyProof(size1: number, size2: number): Uint8Array[] {
    if (size1 <= 0 || size1 >= size2) return [];
    const out: Uint8Array[] = [];
    const sub = (m: number, start: number, end: number, whole: boolean): void => {
      const n = end - start;
      if (m === n) {
        if (!whole) out.push(this.hash(start, end));
        return;
      }
      const k = splitPoint(n);
      if (m <= k) {
        sub(m, start, start + k, whole);
        out.push(this.hash(start + k, end));
      } else {
        sub(m - k, start + k, end, false);
        out.push(this.hash(start, start + k));
      }
    };
    sub(size1, 0, size2, true);
    return out;
  }
}
