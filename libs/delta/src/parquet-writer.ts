import * as arrow from "apache-arrow";
import * as pw from "parquet-wasm";
import type { FileStats } from "./actions.ts";
import type { DeltaStructField, DeltaStructType, DeltaType } from "./schema.ts";
import { typeName } from "./schema.ts";

/** A row as handed to the writer: column name → JS value (see ParquetWriter for the accepted value forms). */
export type Row = Record<string, unknown>;

export interface ParquetWriterOptions {
  /** Rows per row group (bounds reader and writer memory). Default 65,536. */
  rowGroupRows?: number;
  /** ZSTD unless told otherwise (Delta PROTOCOL recommends zstd; readers all support it). */
  compression?: "zstd" | "snappy" | "uncompressed";
  /**
   * Columns written without dictionary encoding: high-cardinality ones (hashes, DER), where the dictionary
   * attempt only costs time before Parquet falls back to plain. A list column here makes every list column plain
   * (parquet-wasm cannot address a list's element column alone).
   */
  plainColumns?: readonly string[];
  /** Longest string kept in min/max stats; longer minimums are truncated, longer maximums omitted. */
  statsStringLength?: number;
  /**
   * Key-value pairs for the Parquet footer (readers that do not know a key ignore it). The archive search keeps
   * per-row-group domain filters there.
   */
  keyValueMetadata?: Readonly<Record<string, string>>;
  /**
   * Target size of a data page (bytes, before compression; parquet-wasm's default is 1 MiB). Smaller pages let a
   * reader with the offset index fetch a few rows of a column without its whole chunk (the archive search).
   */
  dataPageBytes?: number;
}

export interface WrittenFile {
  bytes: Uint8Array;
  stats: FileStats;
  numRows: number;
}

const textEncoder = new TextEncoder();

// makeData's overloads are keyed on the concrete type; the builders below pass unions, so use one untyped entry.
const makeData = arrow.makeData as unknown as (props: Record<string, unknown>) => arrow.Data;

/** Growable byte buffer for Utf8/Binary values; avoids one allocation per value. */
class ByteArena {
  buf: Uint8Array;
  len = 0;
  constructor(initial: number) {
    this.buf = new Uint8Array(Math.max(1024, initial));
  }
  private grow(need: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.len + need) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  pushString(s: string): void {
    if (this.buf.length - this.len < s.length * 3) {
      // Probably fits anyway (ASCII); grow only when the encoder could not take the whole string.
      const r = textEncoder.encodeInto(s, this.buf.subarray(this.len));
      if (r.read === s.length) {
        this.len += r.written;
        return;
      }
      this.grow(s.length * 3);
    }
    this.len += textEncoder.encodeInto(s, this.buf.subarray(this.len)).written;
  }
  pushBytes(b: Uint8Array): void {
    if (this.len + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  take(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

class NullTracker {
  readonly bitmap: Uint8Array;
  nullCount = 0;
  constructor(n: number) {
    this.bitmap = new Uint8Array((n + 7) >> 3);
  }
  valid(i: number): void {
    this.bitmap[i >> 3] |= 1 << (i & 7);
  }
  get arrowProps(): { nullBitmap?: Uint8Array; nullCount: number } {
    return this.nullCount > 0 ? { nullBitmap: this.bitmap, nullCount: this.nullCount } : { nullCount: 0 };
  }
}

interface ColumnResult {
  data: arrow.Data;
  nullCount: number;
  min?: unknown;
  max?: unknown;
}

function toBigInt(v: unknown, col: string): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isFinite(v)) return BigInt(Math.trunc(v));
  throw new TypeError(`column ${col}: expected an integer, got ${typeof v}`);
}

function isoMillis(us: bigint): string {
  // Delta stats truncate timestamps to milliseconds (PROTOCOL.md "Per-file Statistics").
  let ms = us / 1000n;
  if (us < 0n && us % 1000n !== 0n) ms -= 1n;
  return new Date(Number(ms)).toISOString();
}

/**
 * UTF-8 bytes of long strings that repeat across rows (a chain's JSON is the same object for thousands of entries):
 * encoding them once saves most of the encoder's time. Keyed by the string (V8 caches its hash); bounded.
 */
const encodedCache = new Map<string, Uint8Array>();
const ENCODED_CACHE_MIN_CHARS = 512;
const ENCODED_CACHE_MAX = 2048;

function encodeLong(s: string): Uint8Array {
  let b = encodedCache.get(s);
  if (b === undefined) {
    b = textEncoder.encode(s);
    if (encodedCache.size >= ENCODED_CACHE_MAX) encodedCache.clear();
    encodedCache.set(s, b);
  }
  return b;
}

function utf8Data(
  values: ArrayLike<unknown>,
  n: number,
  col: string,
  nullable: boolean,
  strLimit: number,
): ColumnResult {
  const offsets = new Int32Array(n + 1);
  let chars = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === "string") chars += v.length;
  }
  const nulls = new NullTracker(n);
  let min: string | undefined;
  let max: string | undefined;
  const stats = strLimit > 0;
  // Fast path: all values strings (or null) and all ASCII. Then the column is one encodeInto of the joined strings
  // (one native call instead of one per value) and the offsets are the character counts. encodeInto tells whether
  // the text was ASCII: as many bytes written as characters read.
  let arena: ByteArena | null = null;
  if (n > 0 && Array.isArray(values) && values.length === n) {
    let allStrings = true;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== "string" && v !== null && v !== undefined) {
        allStrings = false;
        break;
      }
    }
    if (allStrings) {
      // join writes null/undefined as "" (their offsets do not advance).
      const joined = values.join("");
      const ascii = new ByteArena(joined.length + 64);
      const r = textEncoder.encodeInto(joined, ascii.buf);
      if (r.read === joined.length && r.written === joined.length) {
        ascii.len = r.written;
        arena = ascii;
        let at = 0;
        for (let i = 0; i < n; i++) {
          const v = values[i];
          if (v === null || v === undefined) {
            if (!nullable) throw new TypeError(`column ${col} is not nullable but row ${i} is null`);
            nulls.nullCount++;
          } else {
            const s = v as string;
            at += s.length;
            nulls.valid(i);
            if (stats) {
              if (min === undefined || s < min) min = s;
              if (max === undefined || s > max) max = s;
            }
          }
          offsets[i + 1] = at;
        }
      }
    }
  }
  if (arena === null) {
    // Sized for ASCII plus slack; grows (doubling) only for multi-byte text.
    arena = new ByteArena(chars + (chars >> 3) + 64);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === null || v === undefined) {
        if (!nullable) throw new TypeError(`column ${col} is not nullable but row ${i} is null`);
        nulls.nullCount++;
      } else {
        const s = typeof v === "string" ? v : String(v);
        if (s.length >= ENCODED_CACHE_MIN_CHARS) arena.pushBytes(encodeLong(s));
        else arena.pushString(s);
        nulls.valid(i);
        if (stats) {
          if (min === undefined || s < min) min = s;
          if (max === undefined || s > max) max = s;
        }
      }
      offsets[i + 1] = arena.len;
    }
  }
  const data = makeData({
    type: new arrow.Utf8(),
    length: n,
    valueOffsets: offsets,
    data: arena.take(),
    ...nulls.arrowProps,
  });
  const out: ColumnResult = { data, nullCount: nulls.nullCount };
  if (min !== undefined) out.min = min.length > strLimit ? min.slice(0, strLimit) : min;
  if (max !== undefined && max.length <= strLimit) out.max = max;
  return out;
}

function binaryData(values: ArrayLike<unknown>, n: number, col: string, nullable: boolean): ColumnResult {
  const offsets = new Int32Array(n + 1);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v instanceof Uint8Array) bytes += v.byteLength;
  }
  const arena = new ByteArena(bytes); // exact: no growing (and copying) while filling
  const nulls = new NullTracker(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!nullable) throw new TypeError(`column ${col} is not nullable but row ${i} is null`);
      nulls.nullCount++;
    } else {
      if (!(v instanceof Uint8Array)) throw new TypeError(`column ${col}: expected Uint8Array`);
      arena.pushBytes(v);
      nulls.valid(i);
    }
    offsets[i + 1] = arena.len;
  }
  const data = makeData({
    type: new arrow.Binary(),
    length: n,
    valueOffsets: offsets,
    data: arena.take(),
    ...nulls.arrowProps,
  });
  return { data, nullCount: nulls.nullCount };
}

function int64Data(
  values: ArrayLike<unknown>,
  n: number,
  col: string,
  nullable: boolean,
  type: arrow.Int64 | arrow.TimestampMicrosecond,
): ColumnResult & { minBig?: bigint; maxBig?: bigint } {
  const arr = new BigInt64Array(n);
  const nulls = new NullTracker(n);
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!nullable) throw new TypeError(`column ${col} is not nullable but row ${i} is null`);
      nulls.nullCount++;
      continue;
    }
    const b = toBigInt(v, col);
    arr[i] = b;
    nulls.valid(i);
    if (min === undefined || b < min) min = b;
    if (max === undefined || b > max) max = b;
  }
  const data = makeData({ type, length: n, data: arr, ...nulls.arrowProps });
  return { data, nullCount: nulls.nullCount, minBig: min, maxBig: max };
}

function int32Data(
  values: ArrayLike<unknown>,
  n: number,
  col: string,
  nullable: boolean,
  type: arrow.Int32 | arrow.Int16 | arrow.Int8 | arrow.DateDay,
): ColumnResult {
  const Ctor = type instanceof arrow.Int16 ? Int16Array : type instanceof arrow.Int8 ? Int8Array : Int32Array;
  const arr = new Ctor(n);
  const nulls = new NullTracker(n);
  let min: number | undefined;
  let max: number | undefined;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!nullable) throw new TypeError(`column ${col} is not nullable but row ${i} is null`);
      nulls.nullCount++;
      continue;
    }
    const x = Number(v);
    arr[i] = x;
    nulls.valid(i);
    if (min === undefined || x < min) min = x;
    if (max === undefined || x > max) max = x;
  }
  return {
    data: makeData({ type, length: n, data: arr, ...nulls.arrowProps }),
    nullCount: nulls.nullCount,
    min,
    max,
  };
}

function floatData(
  values: ArrayLike<unknown>,
  n: number,
  col: string,
  nullable: boolean,
  type: arrow.Float64 | arrow.Float32,
): ColumnResult {
  const arr = type instanceof arrow.Float32 ? new Float32Array(n) : new Float64Array(n);
  const nulls = new NullTracker(n);
  let min: number | undefined;
  let max: number | undefined;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!nullable) throw new TypeError(`column ${col} is not nullable but row ${i} is null`);
      nulls.nullCount++;
      continue;
    }
    const x = Number(v);
    arr[i] = x;
    nulls.valid(i);
    if (Number.isNaN(x)) continue;
    if (min === undefined || x < min) min = x;
    if (max === undefined || x > max) max = x;
  }
  return {
    data: makeData({ type, length: n, data: arr, ...nulls.arrowProps }),
    nullCount: nulls.nullCount,
    min,
    max,
  };
}

function boolData(values: ArrayLike<unknown>, n: number, col: string, nullable: boolean): ColumnResult {
  const bits = new Uint8Array((n + 7) >> 3);
  const nulls = new NullTracker(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!nullable) throw new TypeError(`column ${col} is not nullable but row ${i} is null`);
      nulls.nullCount++;
      continue;
    }
    nulls.valid(i);
    if (v) bits[i >> 3] |= 1 << (i & 7);
  }
  return {
    data: makeData({ type: new arrow.Bool(), length: n, data: bits, ...nulls.arrowProps }),
    nullCount: nulls.nullCount,
  };
}

let dictionaryIds = 0;

/**
 * The element column of a list<string>, dictionary-encoded already in Arrow: values repeat a lot (a chain's JSON
 * recurs in thousands of rows), and each distinct string is then encoded and copied once instead of once per row.
 * Always dictionary (never decided per batch) so that every file has the same Arrow schema, which optimize needs
 * to concatenate files. Parquet stores a string column either way; readers see list<string>.
 */
function stringChild(
  values: unknown[],
  total: number,
  col: string,
  containsNull: boolean,
): { child: arrow.Data; type: arrow.DataType } {
  const ids = new Map<string, number>();
  const uniques: string[] = [];
  const indices = new Int32Array(total);
  const nulls = new NullTracker(total);
  for (let i = 0; i < total; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!containsNull) throw new TypeError(`column ${col} is not nullable but element ${i} is null`);
      nulls.nullCount++;
      continue;
    }
    const s = typeof v === "string" ? v : String(v);
    let id = ids.get(s);
    if (id === undefined) {
      id = uniques.length;
      uniques.push(s);
      ids.set(s, id);
    }
    indices[i] = id;
    nulls.valid(i);
  }
  const dictType = new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32(), dictionaryIds++);
  const dictionary = arrow.makeVector(
    utf8Data(uniques, uniques.length, col, false, 0).data as arrow.Data<arrow.Utf8>,
  );
  const child = makeData({ type: dictType, length: total, data: indices, dictionary, ...nulls.arrowProps });
  return { child, type: new arrow.List(new arrow.Field("element", dictType, containsNull)) };
}

function stringListData(
  values: ArrayLike<unknown>,
  n: number,
  col: string,
  nullable: boolean,
  containsNull: boolean,
): ColumnResult {
  const offsets = new Int32Array(n + 1);
  const nulls = new NullTracker(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (Array.isArray(v)) total += v.length;
  }
  const childValues: unknown[] = new Array(total);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!nullable) throw new TypeError(`column ${col} is not nullable but row ${i} is null`);
      nulls.nullCount++;
    } else {
      if (!Array.isArray(v)) throw new TypeError(`column ${col}: expected an array`);
      for (const s of v) childValues[k++] = s;
      nulls.valid(i);
    }
    offsets[i + 1] = k;
  }
  const { child, type } = stringChild(childValues, total, `${col}.element`, containsNull);
  return {
    data: makeData({ type, length: n, valueOffsets: offsets, child, ...nulls.arrowProps }),
    nullCount: nulls.nullCount,
  };
}

/** Builds one Arrow column from row values, with its stats (min/max JSON-ready, null count). */
function buildColumn(
  f: DeltaStructField,
  values: ArrayLike<unknown>,
  n: number,
  strLimit: number,
): ColumnResult {
  const t: DeltaType = f.type;
  switch (t) {
    case "string":
      return utf8Data(values, n, f.name, f.nullable, strLimit);
    case "binary":
      return binaryData(values, n, f.name, f.nullable);
    case "long": {
      const r = int64Data(values, n, f.name, f.nullable, new arrow.Int64());
      return {
        data: r.data,
        nullCount: r.nullCount,
        min: r.minBig === undefined ? undefined : Number(r.minBig),
        max: r.maxBig === undefined ? undefined : Number(r.maxBig),
      };
    }
    case "timestamp": {
      const r = int64Data(values, n, f.name, f.nullable, new arrow.TimestampMicrosecond("UTC"));
      return {
        data: r.data,
        nullCount: r.nullCount,
        min: r.minBig === undefined ? undefined : isoMillis(r.minBig),
        max: r.maxBig === undefined ? undefined : isoMillis(r.maxBig),
      };
    }
    case "integer":
      return int32Data(values, n, f.name, f.nullable, new arrow.Int32());
    case "short":
      return int32Data(values, n, f.name, f.nullable, new arrow.Int16());
    case "byte":
      return int32Data(values, n, f.name, f.nullable, new arrow.Int8());
    case "date": {
      const r = int32Data(values, n, f.name, f.nullable, new arrow.DateDay());
      const d = (x: unknown) =>
        x === undefined ? undefined : new Date(Number(x) * 86_400_000).toISOString().slice(0, 10);
      return { ...r, min: d(r.min), max: d(r.max) };
    }
    case "double":
      return floatData(values, n, f.name, f.nullable, new arrow.Float64());
    case "float":
      return floatData(values, n, f.name, f.nullable, new arrow.Float32());
    case "boolean":
      return boolData(values, n, f.name, f.nullable);
    default:
      if (typeof t === "object" && t.type === "array" && t.elementType === "string") {
        return stringListData(values, n, f.name, f.nullable, t.containsNull);
      }
      throw new TypeError(`column ${f.name}: writing type ${typeName(t)} is not supported`);
  }
}

/**
 * Turns Parquet's dictionary encoding off for `plain` columns. parquet-wasm names a column by one path part, so a
 * list's element column (`x.list.element`) cannot be set alone (the setting is silently ignored): a plain list
 * column turns dictionaries off for the file and back on for each flat column that is not plain, and every list
 * column is then plain.
 */
export function withPlainColumns(
  builder: pw.WriterPropertiesBuilder,
  fields: readonly DeltaStructField[],
  plain: readonly string[],
): pw.WriterPropertiesBuilder {
  const isList = (f: DeltaStructField): boolean => typeof f.type === "object";
  const plainList = fields.some((f) => isList(f) && plain.includes(f.name));
  let b = plainList ? builder.setDictionaryEnabled(false) : builder;
  for (const f of fields) {
    if (isList(f)) continue;
    const isPlain = plain.includes(f.name);
    if (isPlain && !plainList) b = b.setColumnDictionaryEnabled(f.name, false);
    if (!isPlain && plainList) b = b.setColumnDictionaryEnabled(f.name, true);
  }
  return b;
}

/**
 * Writes rows into one Parquet file (via Arrow built from typed arrays and parquet-wasm), computing the Delta
 * statistics from the same pass over the values (parquet-wasm does not expose the footer statistics to JS).
 * Value forms: string → string; long → number|bigint; timestamp → µs number|bigint; date → days since epoch;
 * binary → Uint8Array; array<string> → string[]; null/undefined → null.
 */
export class ParquetWriter {
  readonly schema: DeltaStructType;
  private readonly rowGroupRows: number;
  private readonly compression: pw.Compression;
  private readonly strLimit: number;
  private readonly plainColumns: readonly string[];
  private readonly keyValueMetadata: Readonly<Record<string, string>> | undefined;
  private readonly dataPageBytes: number | undefined;

  constructor(schema: DeltaStructType, options: ParquetWriterOptions = {}) {
    this.schema = schema;
    this.rowGroupRows = options.rowGroupRows ?? 65_536;
    this.compression =
      options.compression === "snappy"
        ? pw.Compression.SNAPPY
        : options.compression === "uncompressed"
          ? pw.Compression.UNCOMPRESSED
          : pw.Compression.ZSTD;
    this.strLimit = options.statsStringLength ?? 64;
    this.plainColumns = options.plainColumns ?? [];
    this.keyValueMetadata = options.keyValueMetadata;
    this.dataPageBytes = options.dataPageBytes;
  }

  /** Encodes rows (objects keyed by column name). */
  write(rows: readonly Row[]): WrittenFile {
    const cols: Record<string, unknown[]> = {};
    for (const f of this.schema.fields) {
      const arr = new Array(rows.length);
      const name = f.name;
      for (let i = 0; i < rows.length; i++) arr[i] = rows[i][name];
      cols[name] = arr;
    }
    return this.writeColumns(cols, rows.length);
  }

  /** Encodes columns (name → values, each of length numRows). Missing columns are written as nulls. */
  writeColumns(columns: Record<string, ArrayLike<unknown>>, numRows: number): WrittenFile {
    const fields: arrow.Field[] = [];
    const children: arrow.Data[] = [];
    const minValues: Record<string, unknown> = {};
    const maxValues: Record<string, unknown> = {};
    const nullCount: Record<string, number> = {};
    const empty: ArrayLike<unknown> = { length: numRows };
    for (const f of this.schema.fields) {
      const r = buildColumn(f, columns[f.name] ?? empty, numRows, this.strLimit);
      fields.push(new arrow.Field(f.name, r.data.type, f.nullable));
      children.push(r.data);
      nullCount[f.name] = r.nullCount;
      if (r.min !== undefined) minValues[f.name] = r.min;
      if (r.max !== undefined) maxValues[f.name] = r.max;
    }
    const schema = new arrow.Schema(fields);
    const struct = makeData({ type: new arrow.Struct(fields), length: numRows, children, nullCount: 0 });
    const table = new arrow.Table([new arrow.RecordBatch(schema, struct as arrow.Data<arrow.Struct>)]);
    let builder = new pw.WriterPropertiesBuilder()
      .setCompression(this.compression)
      .setMaxRowGroupSize(this.rowGroupRows)
      .setStatisticsEnabled(pw.EnabledStatistics.Chunk)
      .setCreatedBy("certstream @certstream/delta (parquet-wasm)");
    builder = withPlainColumns(builder, this.schema.fields, this.plainColumns);
    if (this.dataPageBytes !== undefined) builder = builder.setDataPageSizeLimit(this.dataPageBytes);
    if (this.keyValueMetadata)
      builder = builder.setKeyValueMetadata(new Map(Object.entries(this.keyValueMetadata)));
    const props = builder.build();
    // writeParquet takes ownership of the wasm table and the properties.
    const bytes = pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, "stream")), props);
    return { bytes, numRows, stats: { numRecords: numRows, minValues, maxValues, nullCount } };
  }
}
