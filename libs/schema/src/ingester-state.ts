import { readFileSync } from "node:fs";

/** The last failed comparison: sizes and both roots, for the operator. */
export interface TreeMismatch {
  tree_size: number;
  /** The signed head's timestamp, ms. */
  tree_timestamp: number;
  /** The root the log signed. */
  log_root: Uint8Array;
  /** The root of the entries ingested. */
  computed_root: Uint8Array;
  /** When it was found, ms. */
  detected_at: number;
}

/** The verification part of a log's stored state (IngesterState.verification; see its Avro doc). */
export interface StoredVerification {
  /** Leaves covered by the range: equals next_index when the range is kept. */
  range_size: number;
  /** The range's subtree roots, 32 bytes each, largest first; null while there is no range. */
  range_hashes: Uint8Array | null;
  /** Index where the range was seeded (from the log's proof, not from entries we hashed); null: no range. */
  seeded_at: number | null;
  /** Largest tree size matched (0: none yet) and its head's timestamp (ms). */
  verified_size: number;
  verified_timestamp: number;
  mismatch: TreeMismatch | null;
  /** enforce: publishing stopped at this mismatch until an operator resets it. */
  halted: boolean;
}

/** Where one entries partition holds a batch's records: its first and last record's offsets. */
export interface PartitionOffsets {
  partition: number;
  first: number;
  last: number;
}

/** The batch a state was committed with (IngesterState.batch): [from_index, next_index) and its offsets. */
export interface WrittenBatch {
  from_index: number;
  entries_offsets: PartitionOffsets[];
}

/** The value of `certstream.ingester.state` for one log (see avro/IngesterState.avsc). */
export interface IngesterState {
  log_id: string;
  log_url: string;
  /** First index not yet in `entries`. */
  next_index: number;
  /** Head of the log when the covered batch was fetched. */
  tree_size: number;
  /** ms since the epoch. */
  updated_at: number;
  /** Replica id of the writer. */
  owner: string;
  /** The log's compact range and verification state (null: verification off, or an older state). */
  verification?: StoredVerification | null;
  /** The batch committed with it (null: a state without entries, or an older state). */
  batch?: WrittenBatch | null;
}

export const ingesterStateSchemaText: string = readFileSync(
  new URL("../avro/IngesterState.avsc", import.meta.url),
  "utf8",
);

/** Validates a decoded state value; returns null (the caller counts and skips) when it is not one. */
export function asIngesterState(value: unknown): IngesterState | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const num = (x: unknown): number | null =>
    typeof x === "number" && Number.isSafeInteger(x) && x >= 0
      ? x
      : typeof x === "bigint" && x >= 0n
        ? Number(x)
        : null;
  const next = num(v.next_index);
  const tree = num(v.tree_size);
  const at = num(v.updated_at);
  if (typeof v.log_id !== "string" || next === null || tree === null || at === null) return null;
  return {
    log_id: v.log_id,
    log_url: typeof v.log_url === "string" ? v.log_url : "",
    next_index: next,
    tree_size: tree,
    updated_at: at,
    owner: typeof v.owner === "string" ? v.owner : "",
    verification: asStoredVerification(v.verification),
    batch: asWrittenBatch(v.batch),
  };
}

function asWrittenBatch(value: unknown): WrittenBatch | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const n = (x: unknown): number => (typeof x === "bigint" ? Number(x) : typeof x === "number" ? x : -1);
  const offsets = Array.isArray(v.entries_offsets) ? (v.entries_offsets as Record<string, unknown>[]) : [];
  const b: WrittenBatch = {
    from_index: n(v.from_index),
    entries_offsets: offsets.map((o) => ({ partition: n(o.partition), first: n(o.first), last: n(o.last) })),
  };
  // A batch we cannot read back exactly is no batch (the completion then has nothing to compare with).
  const ok = (x: number) => Number.isSafeInteger(x) && x >= 0;
  if (!ok(b.from_index)) return null;
  for (const o of b.entries_offsets)
    if (!ok(o.partition) || !ok(o.first) || !ok(o.last) || o.last < o.first) return null;
  return b;
}

function asStoredVerification(value: unknown): StoredVerification | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const n = (x: unknown): number => (typeof x === "bigint" ? Number(x) : typeof x === "number" ? x : 0);
  const bytes = (x: unknown): Uint8Array | null => (x instanceof Uint8Array ? x : null);
  const mm = v.mismatch as Record<string, unknown> | null | undefined;
  return {
    range_size: n(v.range_size),
    range_hashes: bytes(v.range_hashes),
    seeded_at: v.seeded_at === null || v.seeded_at === undefined ? null : n(v.seeded_at),
    verified_size: n(v.verified_size),
    verified_timestamp: n(v.verified_timestamp),
    mismatch:
      mm && typeof mm === "object"
        ? {
            tree_size: n(mm.tree_size),
            tree_timestamp: n(mm.tree_timestamp),
            log_root: bytes(mm.log_root) ?? new Uint8Array(),
            computed_root: bytes(mm.computed_root) ?? new Uint8Array(),
            detected_at: n(mm.detected_at),
          }
        : null,
    halted: v.halted === true,
  };
}
