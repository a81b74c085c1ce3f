/**
 * The most recent certificates of the live feed, kept so that a client resuming from a recent cursor (typically
 * one whose replica just died) is served from memory instead of a Kafka reader of its own: a resume storm after
 * a replica loss then costs no consumer-group joins.
 *
 * Records are kept in publish order with the live cursor after each one and the frames already built for it.
 * `coverFrom` says, per partition, from which offset every record is still here: a cursor at or beyond it (for
 * every partition the live feed has) can be served from memory.
 */
import type { CertificateEntry } from "@certstream/schema";
import type { Position } from "./cursor.ts";
import type { EntryKeys } from "./filters.ts";

export interface ReplayRecord {
  seq: number;
  partition: number;
  offset: number;
  entry: CertificateEntry;
  /** The live cursor after this record: a valid resume point for a client that got it by replay, too. */
  cursor: string;
  keys: EntryKeys | null;
  /** Frames by "<format>/<transport>", built once, shared by the live feed and every replay. */
  frames: Map<string, Buffer>;
}

export class ReplayBuffer {
  readonly capacity: number;
  private readonly ring: (ReplayRecord | undefined)[];
  private readonly coverFrom = new Map<number, number>();
  /** Sequence number the next pushed record gets. */
  nextSeq = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.ring = new Array(capacity);
  }

  push(rec: Omit<ReplayRecord, "seq">): ReplayRecord {
    const seq = this.nextSeq++;
    const slot = seq % this.capacity;
    const old = this.ring[slot];
    if (old !== undefined)
      this.coverFrom.set(old.partition, Math.max(this.coverFrom.get(old.partition) ?? 0, old.offset + 1));
    if (!this.coverFrom.has(rec.partition)) this.coverFrom.set(rec.partition, rec.offset);
    const full = { ...rec, seq };
    this.ring[slot] = full;
    return full;
  }

  /** A partition delivered from without a record here (unparseable certificate): coverage starts no later. */
  noteSkipped(partition: number, offset: number): void {
    if (!this.coverFrom.has(partition)) this.coverFrom.set(partition, offset + 1);
  }

  /** The record with this sequence number, or undefined once it has been evicted. */
  get(seq: number): ReplayRecord | undefined {
    const r = this.ring[seq % this.capacity];
    return r !== undefined && r.seq === seq ? r : undefined;
  }

  oldestSeq(): number {
    return Math.max(0, this.nextSeq - this.capacity);
  }

  /** True when every record after `cursor` that the live feed has delivered is still here. */
  covers(cursor: Position, live: Position): boolean {
    for (const p of cursor.keys()) if (!live.has(p)) return false;
    for (const [p, next] of live) {
      const c = cursor.get(p);
      if (c === undefined) return false;
      if (c >= next) continue;
      const from = this.coverFrom.get(p);
      if (from === undefined || c < from) return false;
    }
    return true;
  }
}
