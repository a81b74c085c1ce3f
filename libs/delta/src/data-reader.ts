import * as arrow from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import * as pw from "parquet-wasm";
import { topLevelColumns } from "./parquet-schema.ts";
import type { DeltaStructType, DeltaType } from "./schema.ts";
import type { DataFile } from "./snapshot.ts";
import type { Storage } from "./storage.ts";

/**
 * Column values of a batch. long and timestamp (µs since the epoch) columns are BigInt64Array when they have no
 * nulls, else (bigint | null)[]; integer/short/byte/date (days) columns Int32Array-like or (number | null)[];
 * string → (string | null)[]; binary → (Uint8Array | null)[]; arrays → (unknown[] | null)[].
 */
export type ColumnValues = ArrayLike<unknown>;

export interface ScanBatch {
  /** The data file the rows come from (path as in the log). */
  file: string;
  numRows: number;
  columns: Record<string, ColumnValues>;
}

/** Decodes an add/remove path exactly once (they are RFC 2396 URI-encoded) into a storage path. */
export function storagePath(path: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new Error(`absolute data file URIs are not supported: ${path}`);
  }
  return decodeURIComponent(path);
}

function timestampToMicros(type: arrow.Timestamp | arrow.Date_, raw: ArrayLike<unknown>): BigInt64Array {
  const out = new BigInt64Array(raw.length);
  let mul = 1n;
  let div = 1n;
  if (type instanceof arrow.Timestamp) {
    if (type.unit === arrow.TimeUnit.SECOND) mul = 1_000_000n;
    else if (type.unit === arrow.TimeUnit.MILLISECOND) mul = 1000n;
    else if (type.unit === arrow.TimeUnit.NANOSECOND) div = 1000n;
  }
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    const b = typeof v === "bigint" ? v : BigInt(Math.trunc(Number(v)));
    out[i] = (b * mul) / div;
  }
  return out;
}

/** Converts an Arrow column into the plain JS forms described by ColumnValues. */
export function vectorToValues(vec: arrow.Vector): ColumnValues {
  const t = vec.type;
  const n = vec.length;
  const hasNulls = vec.nullCount > 0;
  const isValid = (i: number) => !hasNulls || vec.isValid(i);
  if (t instanceof arrow.Int && t.bitWidth === 64) {
    const raw = vec.toArray() as BigInt64Array;
    if (!hasNulls) return raw;
    return Array.from(raw, (v, i) => (isValid(i) ? v : null));
  }
  if (t instanceof arrow.Timestamp) {
    const raw = timestampToMicros(t, vec.toArray() as ArrayLike<unknown>);
    if (!hasNulls) return raw;
    return Array.from(raw, (v, i) => (isValid(i) ? v : null));
  }
  if (t instanceof arrow.Int || t instanceof arrow.Float || t instanceof arrow.DateDay) {
    const raw = vec.toArray() as ArrayLike<number>;
    if (!hasNulls) return raw;
    return Array.from(raw, (v, i) => (isValid(i) ? Number(v) : null));
  }
  const out: unknown[] = new Array(n);
  if (t instanceof arrow.List) {
    for (let i = 0; i < n; i++) {
      const v = vec.get(i) as arrow.Vector | null;
      out[i] = v === null ? null : Array.from(vectorToValues(v));
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const v = vec.get(i);
    out[i] = v === undefined ? null : v;
  }
  return out;
}

/** Parses a serialized partition value (PROTOCOL.md "Partition Value Serialization") into the ColumnValues form. */
export function parsePartitionValue(type: DeltaType, raw: string | null | undefined): unknown {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case "string":
      return raw;
    case "long":
      return BigInt(raw);
    case "integer":
    case "short":
    case "byte":
    case "float":
    case "double":
      return Number(raw);
    case "boolean":
      return raw === "true";
    case "date":
      return Math.floor(Date.parse(`${raw}T00:00:00Z`) / 86_400_000);
    case "timestamp":
    case "timestamp_ntz": {
      // Accepts ISO-8601 ("2024-01-01T10:00:00.000000Z") and Spark's "2024-01-01 10:00:00[.ffffff]" (UTC).
      const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
        raw.trim(),
      );
      if (!m) throw new Error(`unparseable timestamp partition value ${JSON.stringify(raw)}`);
      const secs = Date.parse(`${m[1]}T${m[2]}${m[4] ?? "Z"}`);
      const frac = (m[3] ?? "").padEnd(6, "0");
      return BigInt(secs) * 1000n + BigInt(frac);
    }
    case "binary":
      return new TextEncoder().encode(raw);
    default:
      return raw;
  }
}

/**
 * Reads the requested columns of one data file; partition columns come from the add action, columns the file
 * lacks are null (schema evolution). Uses parquet-wasm's async reader, the path that honours the column projection.
 */
export async function readDataFile(
  storage: Storage,
  file: DataFile,
  schema: DeltaStructType,
  partitionColumns: string[],
  columns: string[],
): Promise<ScanBatch> {
  const path = storagePath(file.path);
  const bytes = await storage.get(path);
  if (!bytes) throw new Error(`data file not found: ${path} (table ${storage.location})`);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const meta = parquetMetadata(ab);
  const numRows = Number(meta.num_rows);
  const inFile = new Set(topLevelColumns(meta.schema));
  const partSet = new Set(partitionColumns);
  const wanted = columns.filter((c) => !partSet.has(c) && inFile.has(c));
  const out: Record<string, ColumnValues> = {};
  if (wanted.length > 0) {
    const pf = await pw.ParquetFile.fromFile(new Blob([bytes]));
    try {
      const wasmTable = await pf.read({ columns: wanted });
      const table = arrow.tableFromIPC(wasmTable.intoIPCStream());
      for (const c of wanted) {
        const vec = table.getChild(c);
        if (vec) out[c] = vectorToValues(vec);
      }
    } finally {
      pf.free();
    }
  }
  for (const c of columns) {
    if (out[c]) continue;
    const f = schema.fields.find((x) => x.name === c);
    if (!f) throw new Error(`no column ${c} in the table schema`);
    const v = partSet.has(c) ? parsePartitionValue(f.type, file.partitionValues[c]) : null;
    out[c] = new Array(numRows).fill(v);
  }
  return { file: file.path, numRows, columns: out };
}
