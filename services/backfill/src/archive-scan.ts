import { open } from "node:fs/promises";
import { join } from "node:path";
import {
  compressors,
  type DataFile,
  DeltaLog,
  DeltaTable,
  LocalStorage,
  readDataFile,
  type Snapshot,
  type Storage,
  storagePath,
} from "@certstream/delta";
import { type AsyncBuffer, parquetMetadata, parquetMetadataAsync, parquetRead } from "hyparquet";
import { ArchiveIndex, type DataFileStats } from "./gap-detection.ts";

/** The archive's columns gap detection needs (CERTSTREAM_TABLE_SCHEMA in libs/delta). */
export const INDEX_COLUMN = "cert_index";
export const LOG_COLUMN = "log_id";

export interface ArchiveScan {
  index: ArchiveIndex;
  /** Null when there is no table yet (a fresh deployment): everything is missing. */
  snapshot: Snapshot | null;
  durationMs: number;
}

function num(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  return null;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/** A data file's Delta stats in the form gap detection wants. Loose bounds (tightBounds false) are not trusted. */
export function fileStatsOf(file: DataFile): DataFileStats {
  const s = file.parsedStats;
  if (!s || s.tightBounds === false) {
    return {
      path: file.path,
      numRecords: s?.numRecords ?? null,
      minIndex: null,
      maxIndex: null,
      minLog: null,
      maxLog: null,
    };
  }
  return {
    path: file.path,
    numRecords: s.numRecords,
    minIndex: num(s.minValues[INDEX_COLUMN]),
    maxIndex: num(s.maxValues[INDEX_COLUMN]),
    minLog: str(s.minValues[LOG_COLUMN]),
    maxLog: str(s.maxValues[LOG_COLUMN]),
    nullIndexCount: num(s.nullCount[INDEX_COLUMN]),
  };
}

/** Opens the table if there is one; null when the path holds no Delta table yet. */
export async function openArchive(storage: Storage): Promise<DeltaTable | null> {
  if (!(await new DeltaLog(storage).exists())) return null;
  return DeltaTable.open(storage);
}

/**
 * Builds the index of archived (log, index) pairs for `wantedLogs` (base64 log ids): file stats first, then the
 * two columns of the files stats cannot settle. `onFileRead` is told about every file read (for progress/metrics).
 */
export async function scanArchive(
  tableOrPath: DeltaTable | string | null,
  wantedLogs: Iterable<string>,
  opts: { onFileRead?: (rows: number, filesRead: number, filesToRead: number) => void } = {},
): Promise<ArchiveScan> {
  const started = performance.now();
  const index = new ArchiveIndex(wantedLogs);
  const table =
    typeof tableOrPath === "string"
      ? await openArchive(new LocalStorage(tableOrPath, { sync: false }))
      : tableOrPath;
  if (!table) return { index, snapshot: null, durationMs: performance.now() - started };
  const snapshot = (await table.refresh()).clone();
  const byPath = new Map<string, DataFile>();
  const stats: DataFileStats[] = [];
  for (const f of snapshot.files()) {
    byPath.set(f.path, f);
    stats.push(fileStatsOf(f));
  }
  const toRead = index.planFiles(stats);
  for (const f of toRead) {
    const file = byPath.get(f.path)!;
    const cols = await readGapColumns(table.storage, file, snapshot);
    index.addRows(cols.logs, cols.indices);
    index.noteRead(cols.numRows);
    opts.onFileRead?.(cols.numRows, index.stats.read.files, toRead.length);
  }
  return { index, snapshot, durationMs: performance.now() - started };
}

/**
 * The index and log columns of one data file. The common case (our own files: plain column names, no deletion
 * vector) is decoded with hyparquet column by column, which keeps dictionary-encoded log ids as shared strings
 * (several times faster than through Arrow); anything else goes through libs/delta's general reader.
 */
export async function readGapColumns(
  storage: Storage,
  file: DataFile,
  snapshot: Snapshot,
): Promise<{ numRows: number; logs: ArrayLike<unknown>; indices: ArrayLike<unknown> }> {
  const general = async () => {
    const b = await readDataFile(storage, file, snapshot.schema, snapshot.partitionColumns, [
      INDEX_COLUMN,
      LOG_COLUMN,
    ]);
    return { numRows: b.numRows, logs: b.columns[LOG_COLUMN], indices: b.columns[INDEX_COLUMN] };
  };
  const parts = snapshot.partitionColumns;
  if (file.deletionVector || parts.includes(INDEX_COLUMN) || parts.includes(LOG_COLUMN)) return general();
  const path = storagePath(file.path);
  // A local file is read by byte ranges: the footer, then only the two columns' chunks. An archive row is a few KB
  // (DER, chain) and these two columns a few bytes of it, so this is most of the cost on a real table.
  const source =
    storage instanceof LocalStorage
      ? await openRanged(join(storage.root, ...path.split("/")))
      : await openRangedObject(storage, path);
  try {
    let file: AsyncBuffer | ArrayBuffer;
    if (source) file = source.buffer;
    else {
      const bytes = await storage.get(path);
      if (!bytes) throw new Error(`data file not found: ${path} (table ${storage.location})`);
      file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }
    const metadata = file instanceof ArrayBuffer ? parquetMetadata(file) : await parquetMetadataAsync(file);
    const top = new Set(metadata.schema.slice(1).map((e) => e.name));
    if (!top.has(INDEX_COLUMN) || !top.has(LOG_COLUMN)) return general();
    const numRows = Number(metadata.num_rows);
    const indices: unknown[] = new Array(numRows);
    const logs: unknown[] = new Array(numRows);
    await parquetRead({
      file,
      metadata,
      columns: [INDEX_COLUMN, LOG_COLUMN],
      compressors,
      onChunk: (chunk) => {
        const into =
          chunk.columnName === INDEX_COLUMN ? indices : chunk.columnName === LOG_COLUMN ? logs : null;
        if (!into) return;
        const data = chunk.columnData;
        const end = Math.min(chunk.rowEnd, numRows);
        for (let r = Math.max(0, chunk.rowStart); r < end; r++) into[r] = data[r - chunk.rowStart];
      },
    });
    return { numRows, logs, indices };
  } finally {
    await source?.close();
  }
}

/** An object of a store with range reads (S3) as hyparquet's AsyncBuffer: one ranged GET per slice. */
async function openRangedObject(
  storage: Storage,
  path: string,
): Promise<{ buffer: AsyncBuffer; close: () => Promise<void> } | null> {
  const { getRange, size } = storage;
  if (!getRange || !size) return null;
  const length = await size.call(storage, path);
  if (length === null) throw new Error(`data file not found: ${path} (table ${storage.location})`);
  const buffer: AsyncBuffer = {
    byteLength: length,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const bytes = await getRange.call(storage, path, start, Math.min(end ?? length, length));
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
  return { buffer, close: async () => {} };
}

/** A local file as hyparquet's AsyncBuffer: positional reads straight into fresh ArrayBuffers. */
async function openRanged(fullPath: string): Promise<{ buffer: AsyncBuffer; close: () => Promise<void> }> {
  const fh = await open(fullPath, "r");
  try {
    const { size } = await fh.stat();
    const buffer: AsyncBuffer = {
      byteLength: size,
      async slice(start: number, end?: number): Promise<ArrayBuffer> {
        const stop = Math.min(end ?? size, size);
        const out = new ArrayBuffer(Math.max(0, stop - start));
        const view = new Uint8Array(out);
        let off = 0;
        while (off < view.length) {
          const { bytesRead } = await fh.read(view, off, view.length - off, start + off);
          if (bytesRead === 0) throw new Error(`${fullPath}: unexpected end of file at ${start + off}`);
          off += bytesRead;
        }
        return out;
      },
    };
    return { buffer, close: () => fh.close() };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * The delta sink's stored offset per partition of `topic`: its `txn` actions have appId `<prefix>-<topic>-<partition>`
 * (one per topic-partition, version = offset of the last record written). Several prefixes (a renamed sink) take
 * the highest version.
 */
export function sinkTxnVersions(snapshot: Snapshot | null, topic: string): Map<number, bigint> {
  const out = new Map<number, bigint>();
  if (!snapshot) return out;
  const suffix = new RegExp(`(?:^|-)${topic.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)$`);
  for (const [appId, txn] of snapshot.transactions()) {
    const m = suffix.exec(appId);
    if (!m) continue;
    const p = Number(m[1]);
    const v = BigInt(txn.version);
    const cur = out.get(p);
    if (cur === undefined || v > cur) out.set(p, v);
  }
  return out;
}
