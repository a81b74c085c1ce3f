import { type CertstreamRow, certLink, chainJson, seenDate, toRow } from "@certstream/delta";
import {
  type CertificateEntry,
  type ChainCertificate,
  certificateEntrySchema,
  type LogKind,
  type LogSource,
  type UpdateType,
} from "@certstream/schema";
import avro from "avsc";

/**
 * Avro → table row, straight from the record's bytes, for the sink's hot loop.
 *
 * Profiling the sink (Kafka → Delta) showed Avro decoding as the largest CPU cost: avsc builds the whole
 * CertificateEntry (every chain certificate parsed with its extensions map, distinguished-name parts, DER copied
 * into pooled Buffers) and toRow then keeps a fraction of it. This reader walks the same binary layout and keeps
 * only what the row needs; it skips the leaf's extensions and name parts without decoding them, leaves DER bytes
 * as views of the record (no copy; the writer copies them once into Arrow), and turns each chain certificate
 * into its JSON through a cache keyed by the certificate's exact Avro bytes (intermediates repeat in nearly every
 * entry, so the JSON is built once per distinct chain certificate, from avsc's own decoding of those bytes).
 *
 * It applies only when the record's writer schema is exactly the local schema (the codec says so per schema id)
 * and the local schema is the one this reader was written for (fingerprint below). Anything else — an older or
 * newer writer schema, a record that does not parse cleanly — returns null, and the caller takes the general path
 * (codec.decode + toRow), which also produces the usual errors for bad records. So rows are the same either way;
 * test/row-decoder.test.ts checks that field for field.
 */

/** MD5 fingerprint (avsc, canonical form) of the CertificateEntry schema this reader implements. */
export const ROW_READER_SCHEMA_FINGERPRINT = "3d70cc8cced31ebf77ca2dd60f925ab0";

export interface SchemaInfo {
  /** True when records of writer schema `id` have exactly the local schema's binary layout. */
  isLocalSchema(id: number): Promise<boolean>;
}

const LOG_KINDS: readonly LogKind[] = ["rfc6962", "static"];
const UPDATE_TYPES: readonly UpdateType[] = ["X509LogEntry", "PrecertLogEntry"];
const HEADER_BYTES = 5;

/** Node's Buffer has utf8Slice (undocumented, stable since v0.x; avsc reads strings with it too). */
type BufferWithSlices = Buffer & { utf8Slice(start: number, end: number): string };

/** Thrown inside the reader when the bytes are not what the schema says; never escapes decode. */
const MALFORMED = new Error("malformed record");

const localType = avro.Type.forSchema(
  certificateEntrySchema as unknown as avro.Schema,
) as avro.types.RecordType;
/** avsc's ChainCertificate type, to decode a chain certificate not seen before (cache miss). */
const chainField = localType.field("chain");
if (!chainField) throw new Error("CertificateEntry schema has no chain field");
const chainItemType = (chainField.type as avro.types.ArrayType).itemsType;

/** Whether the local schema is still the one this reader implements (a schema change disables the fast path). */
export const localSchemaFingerprint = localType.fingerprint("md5").toString("hex");

/**
 * Values that repeat across records (chain certificates, log sources), keyed by their exact Avro bytes. The lookup
 * hashes the length and a few sampled words (cheap; hashing or stringifying whole kilobyte spans cost more than it
 * saved), then compares the stored bytes in full, so a hit is always the same bytes. Bounded.
 */
class BytesCache<T> {
  private readonly map = new Map<number, { bytes: Buffer; value: T }>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  static hash(buf: Buffer, start: number, end: number): number {
    const len = end - start;
    let h = Math.imul(len, 0x9e3779b1);
    if (len >= 4) {
      const last = end - 4;
      for (let k = 0; k < 8; k++) {
        const at = start + Math.floor(((len - 4) * k) / 7);
        h = Math.imul(h ^ buf.readInt32LE(at), 0x85ebca6b) + k;
      }
      h = Math.imul(h ^ buf.readInt32LE(last), 0xc2b2ae35);
    } else {
      for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x85ebca6b);
    }
    return h;
  }
  get(hash: number, buf: Buffer, start: number, end: number): T | undefined {
    const e = this.map.get(hash);
    if (e === undefined || e.bytes.length !== end - start) return undefined;
    return buf.compare(e.bytes, 0, e.bytes.length, start, end) === 0 ? e.value : undefined;
  }
  set(hash: number, buf: Buffer, start: number, end: number, value: T): void {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(hash, { bytes: Buffer.from(buf.subarray(start, end)), value });
  }
}

export class ArchiveRowDecoder {
  private readonly schemas: SchemaInfo;
  /** Schema id → fast path usable (settled answers only). */
  private readonly local = new Map<number, boolean>();
  readonly enabled = localSchemaFingerprint === ROW_READER_SCHEMA_FINGERPRINT;
  private readonly chainCache = new BytesCache<string>(4096);
  private readonly logCache = new BytesCache<LogSource>(1024);
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;

  constructor(schemas: SchemaInfo) {
    this.schemas = schemas;
  }

  /**
   * The row of a registry-framed record, or null when this reader does not apply (unknown or other schema id,
   * malformed bytes): then decode with the codec and toRow. A Promise only the first time a schema id is seen.
   */
  decode(value: Uint8Array): CertstreamRow | null | Promise<CertstreamRow | null> {
    if (!this.enabled || value.length < HEADER_BYTES || value[0] !== 0) return null;
    const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
    const id = buf.readInt32BE(1);
    const local = this.local.get(id);
    if (local === false) return null;
    if (local === undefined) {
      return this.schemas.isLocalSchema(id).then(
        (yes) => {
          this.local.set(id, yes);
          return yes ? this.read(buf) : null;
        },
        () => null, // the codec's decode reports the unknown id / unreachable registry
      );
    }
    return this.read(buf);
  }

  private read(buf: Buffer): CertstreamRow | null {
    this.buf = buf;
    this.pos = HEADER_BYTES;
    this.end = buf.length;
    try {
      return this.readEntry();
    } catch {
      // MALFORMED, or avsc refusing a chain certificate's bytes: the general path decodes and reports it.
      return null;
    } finally {
      this.buf = Buffer.alloc(0);
    }
  }

  // ---- Avro primitives (same arithmetic as avsc's Tap) ------------------------------------------------------

  private long(): number {
    const buf = this.buf;
    let n = 0;
    let k = 0;
    let b: number;
    let h: number;
    do {
      b = buf[this.pos++];
      h = b & 0x80;
      n |= (b & 0x7f) << k;
      k += 7;
    } while (h && k < 28);
    if (h) {
      let f = n;
      let fk = 268435456;
      do {
        b = buf[this.pos++];
        f += (b & 0x7f) * fk;
        fk *= 128;
      } while (b & 0x80);
      const v = (f % 2 ? -(f + 1) : f) / 2;
      if (!Number.isSafeInteger(v)) throw MALFORMED; // avsc: "potential precision loss"
      return v;
    }
    if (this.pos > this.end) throw MALFORMED;
    return (n >> 1) ^ -(n & 1);
  }

  private span(): number {
    const len = this.long();
    if (len < 0 || this.pos + len > this.end) throw MALFORMED;
    return len;
  }

  private string(): string {
    const len = this.span();
    const start = this.pos;
    this.pos += len;
    // utf8Slice: what toString("utf8", ...) ends in, without its argument handling (measurable per field).
    return (this.buf as BufferWithSlices).utf8Slice(start, this.pos);
  }

  private skipString(): void {
    const len = this.span(); // first: span() moves pos past the length
    this.pos += len;
  }

  /** A view of the bytes (no copy). A plain Uint8Array: V8 makes those faster than Buffer (a subclass) views. */
  private bytes(): Uint8Array {
    const len = this.span();
    const start = this.pos;
    this.pos += len;
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, len);
  }

  private optString(): string | null {
    return this.unionIndex(2) === 1 ? this.string() : null;
  }

  private boolean(): boolean {
    if (this.pos >= this.end) throw MALFORMED;
    return this.buf[this.pos++] !== 0;
  }

  private unionIndex(branches: number): number {
    const i = this.long();
    if (i < 0 || i >= branches) throw MALFORMED;
    return i;
  }

  private enumIndex(symbols: number): number {
    return this.unionIndex(symbols);
  }

  /** Calls item() for each element of an Avro array or map (blocks; a negative count carries a byte size). */
  private blocks(item: () => void): void {
    for (;;) {
      let count = this.long();
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        this.span(); // block size in bytes, unused
      }
      for (let i = 0; i < count; i++) {
        if (this.pos >= this.end) throw MALFORMED;
        item();
      }
    }
  }

  // ---- CertificateEntry ------------------------------------------------------------------------------------

  private logSource(): LogSource {
    const start = this.pos;
    this.skipString();
    this.skipString();
    this.skipString();
    this.skipString();
    this.enumIndex(2);
    const end = this.pos;
    const hash = BytesCache.hash(this.buf, start, end);
    let log = this.logCache.get(hash, this.buf, start, end);
    if (log === undefined) {
      this.pos = start;
      log = {
        id: this.string(),
        name: this.string(),
        url: this.string(),
        operator: this.string(),
        kind: LOG_KINDS[this.enumIndex(2)],
      };
      if (this.pos !== end) throw MALFORMED;
      this.logCache.set(hash, this.buf, start, end, log);
    }
    return log;
  }

  /** DistinguishedName: seven optional parts (skipped), then `aggregated`. */
  private dnAggregated(): string {
    for (let i = 0; i < 7; i++) if (this.unionIndex(2) === 1) this.skipString();
    return this.string();
  }

  private skipCertificate(): void {
    this.dnAggregated();
    this.dnAggregated();
    this.skipString(); // serial_number
    this.long(); // not_before
    this.long(); // not_after
    this.skipString(); // fingerprint
    this.skipString(); // sha1
    this.skipString(); // sha256
    this.skipString(); // signature_algorithm
    this.boolean(); // is_ca
    this.blocks(() => this.skipString()); // all_domains
    this.skipExtensions();
  }

  private skipExtensions(): void {
    this.blocks(() => {
      this.skipString();
      if (this.unionIndex(2) === 0) this.skipString();
      else this.boolean();
    });
  }

  private chainItem(): string {
    const start = this.pos;
    this.skipString(); // der
    if (this.unionIndex(2) === 1) this.skipCertificate();
    const end = this.pos;
    const hash = BytesCache.hash(this.buf, start, end);
    let json = this.chainCache.get(hash, this.buf, start, end);
    if (json === undefined) {
      // Not seen before: avsc decodes exactly these bytes, and the JSON is what toRow would make of it.
      const item = chainItemType.fromBuffer(this.buf.subarray(start, end)) as ChainCertificate;
      json = chainJson(item);
      this.chainCache.set(hash, this.buf, start, end, json);
    }
    return json;
  }

  private readEntry(): CertstreamRow | null {
    const log = this.logSource();
    const index = this.long();
    const timestamp = this.long();
    const seen = this.long();
    const update_type = UPDATE_TYPES[this.enumIndex(2)];
    const leafDer = this.bytes();

    let serial_number: string | null = null;
    let fingerprint: string | null = null;
    let sha256: string | null = null;
    let sha1: string | null = null;
    let not_before: number | null = null;
    let not_after: number | null = null;
    let is_ca: boolean | null = null;
    let signature_algorithm: string | null = null;
    let subject_aggregated: string | null = null;
    let issuer_aggregated: string | null = null;
    let all_domains: string[] | null = null;
    if (this.unionIndex(2) === 1) {
      subject_aggregated = this.dnAggregated();
      issuer_aggregated = this.dnAggregated();
      serial_number = this.string();
      not_before = this.long();
      not_after = this.long();
      fingerprint = this.string();
      sha1 = this.string();
      sha256 = this.string();
      signature_algorithm = this.string();
      is_ca = this.boolean();
      const domains: string[] = [];
      this.blocks(() => domains.push(this.string()));
      all_domains = domains;
      this.skipExtensions();
    }

    const chain: string[] = [];
    this.blocks(() => chain.push(this.chainItem()));

    let parse_error: string | null = null;
    if (this.unionIndex(2) === 1) {
      const kind = this.string();
      const message = this.string();
      parse_error = `${kind}: ${message}`;
    }
    let raw_leaf_input: Uint8Array | null = null;
    let raw_extra_data: Uint8Array | null = null;
    if (this.unionIndex(2) === 1) {
      raw_leaf_input = this.bytes();
      raw_extra_data = this.bytes();
    }
    // The query fields, in schema order (each a ["null", T] union).
    const subject_cn = this.optString();
    const issuer_cn = this.optString();
    const issuer_o = this.optString();
    let registered_domains: string[] | null = null;
    if (this.unionIndex(2) === 1) {
      const domains: string[] = [];
      this.blocks(() => domains.push(this.string()));
      registered_domains = domains;
    }
    const log_name = this.optString();
    const key_algorithm = this.optString();
    const key_bits = this.unionIndex(2) === 1 ? this.long() : null;
    const validation_level = this.optString();
    const not_before_ts = this.unionIndex(2) === 1 ? this.long() * 1000 : null;
    const not_after_ts = this.unionIndex(2) === 1 ? this.long() * 1000 : null;
    // Not archived: leaf_hash, tree_verification { state, tree_size, tree_timestamp }, tbs_hash (issue 18).
    if (this.unionIndex(2) === 1) this.skipString();
    if (this.unionIndex(2) === 1) {
      this.enumIndex(4);
      if (this.unionIndex(2) === 1) this.long();
      if (this.unionIndex(2) === 1) this.long();
    }
    if (this.unionIndex(2) === 1) this.skipString();
    if (this.pos !== this.end) throw MALFORMED; // avsc: truncated buffer / trailing data
    // No query fields (a producer that left them out): toRow derives them from the leaf, which this reader does not
    // build; the general path does it.
    if (log_name === null) return null;

    // Same values and key order as toRow.
    return {
      cert_index: index,
      update_type,
      seen,
      seen_date: seenDate(seen),
      source_name: log.name,
      source_url: log.url,
      cert_link: certLink({ log, index }),
      serial_number,
      fingerprint,
      sha256,
      sha1,
      not_before,
      not_after,
      is_ca,
      signature_algorithm,
      subject_aggregated,
      issuer_aggregated,
      all_domains,
      as_der: leafDer.byteLength > 0 ? leafDer : null,
      chain,
      log_id: log.id,
      entry_timestamp: timestamp * 1000,
      parse_error,
      raw_leaf_input,
      raw_extra_data,
      not_before_ts,
      not_after_ts,
      subject_cn,
      issuer_cn,
      issuer_o,
      registered_domains,
      log_name,
      key_algorithm,
      key_bits,
      validation_level,
    };
  }
}

/** The general path, for records the fast reader does not take: the codec's decode, then toRow. */
export async function decodeRowSlowly(
  decoder: { decode(value: Uint8Array): Promise<CertificateEntry> },
  value: Uint8Array,
): Promise<CertstreamRow> {
  return toRow(await decoder.decode(value));
}
