import { CompactRange } from "@certstream/ct";
import type { Logger } from "@certstream/log";
import type { EntryVerification, LogSource, StoredVerification, TreeMismatch } from "@certstream/schema";
import type { LogHead } from "./log-reader.ts";
import * as vm from "./verify-metrics.ts";

// Tree verification of one log (issue 18). Every entry ingested is hashed into the log's compact range (RFC 6962
// §2.1, libs/ct CompactRange); whenever the position reaches the size of a tree head whose signature verified,
// the range's root is compared with the head's. The range is state: it is stored with the position, in the same
// Kafka transaction (IngesterState.verification), so a resumed session continues exactly where the last commit
// left it. Where a log is first read at index 0 the range is empty; elsewhere it is seeded from one audit path
// (RFC 6962) or the hash tiles (static-ct-api) for the first entry read.

/** `ct_log.verify`. off: nothing hashed or compared; observe: mismatches are reported; enforce: and halt the log. */
export type VerifyMode = "off" | "observe" | "enforce";
export const VERIFY_MODES: readonly VerifyMode[] = ["off", "observe", "enforce"];

/** What a batch's entries carry, and the state to commit with them. */
export interface BatchVerdict {
  /** Per-entry state: one object shared by every entry of the batch. */
  entry: EntryVerification;
  stored: StoredVerification | null;
  /** A comparison happened in this batch: its result. */
  check: "match" | "mismatch" | null;
  /** enforce and mismatch: do not publish the batch; commit `stored` alone and stop. */
  halt: boolean;
  range: CompactRange | null;
}

/** Seeds the range [0, index) for the tree of `head`; null when the log's answer does not verify. */
export type RangeSeeder = (
  index: number,
  leafHash: Uint8Array,
  head: LogHead,
) => Promise<CompactRange | null>;

/** After a failed seed, the next attempt waits this long (it costs the log one request). */
const SEED_RETRY_MS = 10 * 60_000;

const UNVERIFIABLE: EntryVerification = { state: "unverifiable", tree_size: null, tree_timestamp: null };

export class TreeVerifier {
  readonly mode: VerifyMode;
  readonly #log: LogSource;
  readonly #logger: Logger;
  readonly #label: { log: string };
  #range: CompactRange | null = null;
  #stored: StoredVerification = emptyStored(0);
  #seedAfter = 0;

  constructor(mode: VerifyMode, log: LogSource, logger: Logger) {
    this.mode = mode;
    this.#log = log;
    this.#logger = logger;
    this.#label = { log: log.id };
  }

  /** The state as committed last (or restored). */
  get stored(): StoredVerification {
    return this.#stored;
  }

  get halted(): boolean {
    return this.mode === "enforce" && this.#stored.halted;
  }

  /** Takes the stored state at a session's start; a range that does not cover exactly [0, next) is dropped. */
  restore(stored: StoredVerification | null, next: number): void {
    this.#stored = stored ? { ...stored } : emptyStored(next);
    this.#range = null;
    if (stored?.range_hashes && stored.range_size === next) {
      try {
        this.#range = CompactRange.decode(stored.range_size, stored.range_hashes);
      } catch (e) {
        this.#logger.warn(
          { log: this.#log.id, leaf_index: next, err: (e as Error).message },
          "stored compact range unreadable; seeding a new one",
        );
      }
    }
    if (!this.#range) {
      this.#stored.range_hashes = null;
      this.#stored.seeded_at = null;
    }
    this.#stored.range_size = next;
    this.#publishGauges();
  }

  /** Before the batch starting at `start` is checked: seeds the range when there is none (and may be one). */
  async prepare(start: number, firstLeafHash: Uint8Array | null, head: LogHead, seed: RangeSeeder | null) {
    if (this.mode === "off" || this.#range || !head.signed || Date.now() < this.#seedAfter) return;
    if (start === 0) {
      this.#range = CompactRange.empty();
      this.#stored.seeded_at = 0;
      return;
    }
    if (!seed || !firstLeafHash || start >= head.treeSize) return;
    let range: CompactRange | null = null;
    let err: string | null = null;
    try {
      range = await seed(start, firstLeafHash, head);
      if (range && range.size !== start) range = null;
      if (!range) err = "the log's proof does not verify against its signed head";
    } catch (e) {
      err = (e as Error)?.message ?? String(e);
    }
    if (range) {
      vm.rangeSeeds.inc({ ...this.#label, result: "ok" });
      this.#range = range;
      this.#stored.seeded_at = start;
      this.#logger.info(
        { log: this.#log.id, leaf_index: start, tree_size: head.treeSize, subtrees: range.hashes.length },
        "compact range seeded from the log's proof",
      );
    } else {
      vm.rangeSeeds.inc({ ...this.#label, result: "failed" });
      this.#seedAfter = Date.now() + SEED_RETRY_MS;
      this.#logger.warn(
        { log: this.#log.id, leaf_index: start, tree_size: head.treeSize, err, retry_in_ms: SEED_RETRY_MS },
        "compact range not seeded: entries stay unverifiable until a later seed",
      );
    }
  }

  /**
   * Hashes the batch into a copy of the range and, when it ends at the head's size and the head is signed,
   * compares the roots. Nothing changes until `adopt` (after the batch's transaction committed).
   */
  check(batch: readonly { index: number; leaf_hash?: Uint8Array | null }[], head: LogHead): BatchVerdict {
    if (this.mode === "off")
      return { entry: UNVERIFIABLE, stored: null, check: null, halt: false, range: null };
    const last = batch[batch.length - 1].index + 1;
    const stored: StoredVerification = { ...this.#stored, range_size: last };
    let range = this.#range?.clone() ?? null;
    if (range && range.size !== batch[0].index) range = null;
    for (let i = 0; range && i < batch.length; i++) {
      const h = batch[i].leaf_hash;
      if (h) range.append(h);
      else range = null;
    }
    if (!range) {
      stored.range_hashes = null;
      stored.seeded_at = null;
      return { entry: UNVERIFIABLE, stored, check: null, halt: false, range: null };
    }
    stored.range_hashes = range.encodeHashes();
    if (!head.signed || !head.rootHash)
      return { entry: UNVERIFIABLE, stored, check: null, halt: false, range };
    if (range.size !== head.treeSize) {
      const entry: EntryVerification = stored.mismatch
        ? {
            state: "mismatch",
            tree_size: stored.mismatch.tree_size,
            tree_timestamp: stored.mismatch.tree_timestamp,
          }
        : { state: "pending", tree_size: null, tree_timestamp: null };
      return { entry, stored, check: null, halt: false, range };
    }
    const root = range.rootHash();
    const ts = head.timestamp ?? 0;
    if (Buffer.compare(root, head.rootHash) === 0) {
      stored.verified_size = head.treeSize;
      stored.verified_timestamp = ts;
      stored.mismatch = null;
      return {
        entry: { state: "verified", tree_size: head.treeSize, tree_timestamp: ts },
        stored,
        check: "match",
        halt: false,
        range,
      };
    }
    stored.mismatch = {
      tree_size: head.treeSize,
      tree_timestamp: ts,
      // Buffers: Avro bytes (avsc) take nothing else.
      log_root: Buffer.from(head.rootHash),
      computed_root: Buffer.from(root),
      detected_at: Date.now(),
    };
    const halt = this.mode === "enforce";
    if (halt) {
      // The batch is not published: the stored range stays where the committed entries end.
      stored.halted = true;
      stored.range_size = this.#stored.range_size;
      stored.range_hashes = this.#range ? this.#range.encodeHashes() : null;
    }
    return {
      entry: { state: "mismatch", tree_size: head.treeSize, tree_timestamp: ts },
      stored,
      check: "mismatch",
      halt,
      range: halt ? this.#range : range,
    };
  }

  /** The verdict's state is committed: it becomes the range and state; reports a comparison's result. */
  adopt(v: BatchVerdict, from: number): void {
    if (!v.stored) return;
    const before = this.#stored;
    this.#stored = v.stored;
    this.#range = v.range;
    if (v.check === "match") {
      vm.treeChecks.inc({ ...this.#label, result: "match" });
      if (before.mismatch)
        this.#logger.info(
          { log: this.#log.id, tree_size: v.stored.verified_size },
          "CT log tree verified again: the entries ingested hash to its signed root",
        );
    } else if (v.check === "mismatch") {
      vm.treeChecks.inc({ ...this.#label, result: "mismatch" });
      const mm = v.stored.mismatch as TreeMismatch;
      // Loud once per mismatch found after a match (observe keeps comparing, and keeps failing, at every head).
      if (!before.mismatch || v.halt)
        this.#logger.error(
          {
            log: this.#log.id,
            log_name: this.#log.name,
            url: this.#log.url,
            tree_size: mm.tree_size,
            tree_timestamp: mm.tree_timestamp,
            verified_size: v.stored.verified_size,
            leaf_index: from,
            log_root: Buffer.from(mm.log_root).toString("base64"),
            computed_root: Buffer.from(mm.computed_root).toString("base64"),
            mode: this.mode,
          },
          v.halt
            ? "CT log tree mismatch: the entries read do not hash to the log's signed root; publishing stopped until an operator resets verification"
            : "CT log tree mismatch: the entries read do not hash to the log's signed root",
        );
    }
    this.#publishGauges();
  }

  /** The state an operator reset commits: no range (seeded again at the position), no mismatch, not halted. */
  resetState(next: number): StoredVerification {
    return {
      ...emptyStored(next),
      verified_size: this.#stored.verified_size,
      verified_timestamp: this.#stored.verified_timestamp,
    };
  }

  /** After the reset's state committed. */
  adoptReset(stored: StoredVerification): void {
    this.#stored = stored;
    this.#range = null;
    this.#seedAfter = 0;
    this.#logger.warn(
      { log: this.#log.id, leaf_index: stored.range_size, verified_size: stored.verified_size },
      "tree verification reset by an operator: the range is seeded again where the log resumes",
    );
    this.#publishGauges();
  }

  #publishGauges(): void {
    vm.treeMismatch.set(this.#label, this.#stored.mismatch ? 1 : 0);
    vm.treeHalted.set(this.#label, this.halted ? 1 : 0);
    vm.verifiedTreeSize.set(this.#label, this.#stored.verified_size);
  }

  /** Removes this log's series (the watcher stopped). */
  clearGauges(): void {
    vm.treeMismatch.remove(this.#label);
    vm.treeHalted.remove(this.#label);
    vm.verifiedTreeSize.remove(this.#label);
  }
}

function emptyStored(next: number): StoredVerification {
  return {
    range_size: next,
    range_hashes: null,
    seeded_at: null,
    verified_size: 0,
    verified_timestamp: 0,
    mismatch: null,
    halted: false,
  };
}
