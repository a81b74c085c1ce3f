/**
 * The most recent certificates of the live feed, kept so that a client resuming from a recent cursor (typically
 * one whose replica just died) is served from memory instead of a Kafka reader of its own: a resume storm after
 * a replica loss then costs no consumer-group joins.
 *
 * Records are kept in publish order with the live cursor after each one. `coverFrom` says, per partition, from
 * which offset every record is still here: a cursor at or beyond it (for every partition the live feed has) can
 * be served from memory.
 *
 * Memory: the buffer holds `capacity` records (streamer.replay_buffer_size), each kept compact (~2 kB for a
 * typical entry, about a sixth of what the decoded entry and its frames took):
 * - the certificate without its chain as its Avro encoding, in a shared arena of 256 KiB chunks (records are
 *   evicted in the order they came, so a chunk goes back as a whole once its last record is evicted; nothing of
 *   Kafka's fetch responses is kept);
 * - the chain as references to chain certificates interned by SHA-256 (counted, dropped with their last record):
 *   the same few intermediates come with almost every certificate, and they were two thirds of each record;
 * - the cursor, and the match keys when some client filtered at the time.
 * The frames the live feed builds are not kept (they were 10–20 kB a record with every format in use); a replay
 * builds a record's frame for a format and transport the first time a resuming client needs it (decode, render,
 * frame: ~60 µs) and keeps it with the record, so a resume storm renders each record once per format and
 * transport, and the frames go when the record is evicted.
 */
import { type CertificateEntry, type ChainCertificate, certificateEntrySchema } from "@certstream/schema";
import avro from "avsc";
import type { Position } from "./cursor.ts";
import type { EntryKeys } from "./filters.ts";

export interface ReplayRecord {
  seq: number;
  partition: number;
  offset: number;
  /** The certificate (decoded from the record's bytes on each read: keep it only while using it). */
  readonly entry: CertificateEntry;
  /** The live cursor after this record: a valid resume point for a client that got it by replay, too. */
  cursor: string;
  keys: EntryKeys | null;
  /** Frames by "<format>/<transport>", built on first use by a replay and shared by every later one. */
  readonly frames: Map<string, Buffer>;
}

/** What the live feed hands over (its frames are not: a replay builds its own, see above). */
export interface PublishedRecord {
  partition: number;
  offset: number;
  entry: CertificateEntry;
  cursor: string;
  keys: EntryKeys | null;
}

const entryType = avro.Type.forSchema(certificateEntrySchema as unknown as avro.Schema);
/** Encoding scratch space, grown to the largest entry seen; each record gets an exact-size copy. */
let scratch: Buffer = Buffer.allocUnsafeSlow(64 * 1024);

/** Where record encodings are written: 256 KiB chunks, each held only by the records written into it. */
const ARENA_CHUNK = 256 * 1024;
let arena: Buffer = Buffer.allocUnsafeSlow(ARENA_CHUNK);
let arenaUsed = 0;

function arenaCopy(src: Buffer, end: number): Buffer {
  if (end > ARENA_CHUNK / 4) {
    const own = Buffer.allocUnsafeSlow(end);
    src.copy(own, 0, 0, end);
    return own;
  }
  if (arenaUsed + end > ARENA_CHUNK) {
    arena = Buffer.allocUnsafeSlow(ARENA_CHUNK);
    arenaUsed = 0;
  }
  src.copy(arena, arenaUsed, 0, end);
  const out = arena.subarray(arenaUsed, arenaUsed + end);
  arenaUsed += end;
  return out;
}

const NO_CHAIN: ChainCertificate[] = [];

/** The entry's Avro encoding without its chain, in the arena; null when it does not encode. */
function encodeEntry(entry: CertificateEntry): Buffer | null {
  try {
    const value = avroValue(entry);
    let end = entryType.encode(value, scratch, 0);
    if (end < 0) {
      // avsc returns minus the missing bytes
      scratch = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, scratch.length - end));
      end = entryType.encode(value, scratch, 0);
    }
    if (end < 0) return null;
    return arenaCopy(scratch, end);
  } catch {
    return null;
  }
}

/** The entry without its chain, as avsc takes it (`bytes` must be Buffers; in-process entries may hold Uint8Arrays). */
function avroValue(entry: CertificateEntry): CertificateEntry {
  const b = (u: Uint8Array): Buffer =>
    Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return {
    ...entry,
    leaf_der: b(entry.leaf_der),
    chain: NO_CHAIN,
    raw: entry.raw && { leaf_input: b(entry.raw.leaf_input), extra_data: b(entry.raw.extra_data) },
  };
}

/** A chain certificate shared by the records that have it in their chain. */
interface InternedCert {
  readonly key: string;
  readonly cert: ChainCertificate;
  refs: number;
}

/** Chain certificates by SHA-256 (of the DER; the DER itself when it did not parse), counted by record. */
class ChainCerts {
  private readonly byKey = new Map<string, InternedCert>();

  get size(): number {
    return this.byKey.size;
  }

  take(chain: readonly ChainCertificate[]): InternedCert[] {
    const out: InternedCert[] = new Array(chain.length);
    for (let i = 0; i < chain.length; i++) {
      const c = chain[i];
      const key =
        c.cert !== null ? `${c.der.length}/${c.cert.sha256}` : Buffer.from(c.der).toString("base64");
      let held = this.byKey.get(key);
      if (held === undefined) {
        // a copy of its own: the DER may be a view into a whole Kafka fetch response
        const der = Buffer.allocUnsafeSlow(c.der.length);
        der.set(c.der);
        held = { key, cert: { der, cert: c.cert }, refs: 0 };
        this.byKey.set(key, held);
      }
      held.refs++;
      out[i] = held;
    }
    return out;
  }

  release(held: readonly InternedCert[]): void {
    for (let i = 0; i < held.length; i++) {
      const h = held[i];
      if (--h.refs === 0) this.byKey.delete(h.key);
    }
  }
}

class CompactRecord implements ReplayRecord {
  readonly seq: number;
  readonly partition: number;
  readonly offset: number;
  readonly cursor: string;
  keys: EntryKeys | null;
  /** The Avro encoding without the chain, or (when it did not encode) the entry itself. */
  readonly #stored: Buffer | CertificateEntry;
  readonly chain: InternedCert[];
  #frames: Map<string, Buffer> | null = null;

  constructor(seq: number, rec: PublishedRecord, chains: ChainCerts) {
    this.seq = seq;
    this.partition = rec.partition;
    this.offset = rec.offset;
    this.cursor = rec.cursor;
    this.keys = rec.keys;
    const body = encodeEntry(rec.entry);
    this.#stored = body ?? rec.entry;
    this.chain = body === null ? [] : chains.take(rec.entry.chain);
  }

  /** The chain certificates in it are shared with other records: read only. */
  get entry(): CertificateEntry {
    const s = this.#stored;
    if (!Buffer.isBuffer(s)) return s;
    const entry = entryType.fromBuffer(s) as CertificateEntry;
    const chain: ChainCertificate[] = new Array(this.chain.length);
    for (let i = 0; i < chain.length; i++) chain[i] = this.chain[i].cert;
    entry.chain = chain;
    return entry;
  }

  get frames(): Map<string, Buffer> {
    this.#frames ??= new Map();
    return this.#frames;
  }
}

export class ReplayBuffer {
  readonly capacity: number;
  private readonly ring: (CompactRecord | undefined)[];
  private readonly coverFrom = new Map<number, number>();
  private readonly chains = new ChainCerts();
  /** Sequence number the next pushed record gets. */
  nextSeq = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.ring = new Array(capacity);
  }

  /** Keeps the record (compact, see above); the caller's entry object is not kept. */
  push(rec: PublishedRecord): void {
    const seq = this.nextSeq++;
    const slot = seq % this.capacity;
    const old = this.ring[slot];
    if (old !== undefined) {
      this.coverFrom.set(old.partition, Math.max(this.coverFrom.get(old.partition) ?? 0, old.offset + 1));
      this.chains.release(old.chain);
    }
    if (!this.coverFrom.has(rec.partition)) this.coverFrom.set(rec.partition, rec.offset);
    this.ring[slot] = new CompactRecord(seq, rec, this.chains);
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

  /** Distinct chain certificates the records hold (each kept once). */
  get chainCertificates(): number {
    return this.chains.size;
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
