import { readFileSync } from "node:fs";
import type { StoredVerification } from "./tree-verifier.ts";

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
}

export const ingesterStateSchemaText: string = readFileSync(
  new URL("../avro/IngesterState.avsc", import.meta.url),
  "utf8",
);

/** Compacted-topic key of a log's state. */
export function stateKey(logId: string): Buffer {
  return Buffer.from(logId, "utf8");
}

/**
 * Key of a watcher's barrier records (empty values, see StateView): never a log id (those are base64), so
 * never a log's state, and compaction keeps one per log.
 */
export function barrierKey(logId: string): Buffer {
  return Buffer.from(`barrier:${logId}`, "utf8");
}

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
  };
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
