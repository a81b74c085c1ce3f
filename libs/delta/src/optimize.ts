import * as pw from "parquet-wasm";
import type { Action, AddAction, FileStats } from "./actions.ts";
import { storagePath } from "./data-reader.ts";
import { CommitConflictError, CommitOutcomeUnknownError } from "./errors.ts";
import { withPlainColumns } from "./parquet-writer.ts";
import type { DataFile } from "./snapshot.ts";
import type { DeltaTable } from "./table.ts";
import { encodeLogPath, newDataFilePath } from "./table-paths.ts";

export interface OptimizeOptions {
  /** Only partitions for which this returns true are compacted (e.g. closed dates: seen_date < today). */
  partitionFilter?: (partitionValues: Record<string, string | null>) => boolean;
  /** Size a rewritten file aims at (sum of input sizes per bin). Default 128 MiB. */
  targetFileSize?: number;
  /** Files at least this large are left alone. Default: targetFileSize / 2. */
  minFileSize?: number;
  /** Columns written without dictionary encoding (see ParquetWriterOptions.plainColumns). */
  plainColumns?: readonly string[];
  /** Rows per row group in rewritten files. Default 65,536. */
  rowGroupRows?: number;
  /** Called after each committed bin (for logs and metrics). */
  onCommit?: (info: {
    version: number;
    removed: number;
    added: AddAction;
    partition: Record<string, string | null>;
  }) => void;
}

export interface OptimizeResult {
  partitionsCompacted: number;
  filesRemoved: number;
  filesAdded: number;
  bytesRemoved: number;
  bytesAdded: number;
  /** Bins skipped because another writer removed one of their files meanwhile (safe: nothing committed). */
  conflicts: number;
}

/** Merges per-file stats into the stats of their concatenation (exact: min of mins, max of maxes, sums). */
export function mergeStats(parts: (FileStats | null)[]): FileStats | null {
  if (parts.some((p) => p === null)) return null;
  const all = parts as FileStats[];
  const out: FileStats = { numRecords: 0, minValues: {}, maxValues: {}, nullCount: {} };
  const cols = new Set(all.flatMap((p) => Object.keys(p.nullCount)));
  for (const p of all) out.numRecords += p.numRecords;
  for (const c of cols) {
    let nulls = 0;
    let min: unknown;
    let max: unknown;
    let minKnown = true;
    let maxKnown = true;
    for (const p of all) {
      const nc = p.nullCount[c];
      nulls += typeof nc === "number" ? nc : 0;
      const allNull = nc === p.numRecords;
      if (!allNull) {
        const mn = p.minValues[c];
        const mx = p.maxValues[c];
        if (mn === undefined) minKnown = false;
        else if (min === undefined || (mn as never) < (min as never)) min = mn;
        if (mx === undefined) maxKnown = false;
        else if (max === undefined || (mx as never) > (max as never)) max = mx;
      }
    }
    out.nullCount[c] = nulls;
    if (minKnown && min !== undefined) out.minValues[c] = min;
    if (maxKnown && max !== undefined) out.maxValues[c] = max;
  }
  return out;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/**
 * Rewrites a bin of files into one by streaming their record batches through parquet-wasm (no conversion to JS
 * values, memory bounded by row groups). All files must share one Arrow schema (true for files we wrote).
 */
async function rewrite(
  table: DeltaTable,
  files: DataFile[],
  rowGroupRows: number,
  plainColumns: readonly string[],
): Promise<Uint8Array> {
  const openFiles: pw.ParquetFile[] = [];
  let index = 0;
  let current: ReadableStreamDefaultReader<unknown> | null = null;
  const input = new ReadableStream<unknown>({
    async pull(controller) {
      for (;;) {
        if (!current) {
          if (index >= files.length) {
            controller.close();
            return;
          }
          const path = storagePath(files[index++].path);
          const bytes = await table.storage.get(path);
          if (!bytes) throw new Error(`data file not found: ${path}`);
          const pf = await pw.ParquetFile.fromFile(new Blob([bytes]));
          openFiles.push(pf);
          current = (await pf.stream({ batchSize: 8192 })).getReader();
        }
        const { done, value } = await current.read();
        if (done) {
          current = null;
          continue;
        }
        controller.enqueue(value);
        return;
      }
    },
  });
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.ZSTD)
    .setMaxRowGroupSize(rowGroupRows)
    .setStatisticsEnabled(pw.EnabledStatistics.Chunk)
    .setCreatedBy("certstream @certstream/delta optimize (parquet-wasm)");
  builder = withPlainColumns(builder, table.snapshot.schema.fields, plainColumns);
  const props = builder.build();
  try {
    return await readAll((await pw.transformParquetStream(input, props)) as ReadableStream<Uint8Array>);
  } finally {
    for (const pf of openFiles) pf.free();
  }
}

/**
 * Compacts small files (OPTIMIZE): per selected partition, bins of small files are rewritten into one file and
 * committed as remove(dataChange=false) + add(dataChange=false), so streaming readers see no new data. Safe while
 * writers append: appends never conflict with it; if another optimize removed one of a bin's files first, that bin
 * is abandoned (its new file deleted) and counted in `conflicts`.
 */
export async function optimize(table: DeltaTable, options: OptimizeOptions = {}): Promise<OptimizeResult> {
  const target = options.targetFileSize ?? 128 * 1024 * 1024;
  const minSize = options.minFileSize ?? target / 2;
  const rowGroupRows = options.rowGroupRows ?? 65_536;
  const result: OptimizeResult = {
    partitionsCompacted: 0,
    filesRemoved: 0,
    filesAdded: 0,
    bytesRemoved: 0,
    bytesAdded: 0,
    conflicts: 0,
  };
  const snap = await table.refresh();
  const byPartition = new Map<string, DataFile[]>();
  for (const f of snap.files()) {
    if (f.size >= minSize || f.deletionVector) continue;
    if (options.partitionFilter && !options.partitionFilter(f.partitionValues)) continue;
    const key = JSON.stringify(Object.entries(f.partitionValues).sort());
    const list = byPartition.get(key) ?? [];
    list.push(f);
    byPartition.set(key, list);
  }
  for (const files of byPartition.values()) {
    if (files.length < 2) continue;
    files.sort((a, b) => a.modificationTime - b.modificationTime || (a.path < b.path ? -1 : 1));
    const bins: DataFile[][] = [];
    let bin: DataFile[] = [];
    let binSize = 0;
    for (const f of files) {
      if (bin.length > 0 && binSize + f.size > target) {
        bins.push(bin);
        bin = [];
        binSize = 0;
      }
      bin.push(f);
      binSize += f.size;
    }
    if (bin.length > 0) bins.push(bin);
    let compacted = false;
    for (const b of bins) {
      if (b.length < 2) continue;
      const partitionValues = b[0].partitionValues;
      const bytes = await rewrite(table, b, rowGroupRows, options.plainColumns ?? []);
      const path = newDataFilePath(Object.entries(partitionValues));
      await table.storage.put(path, bytes);
      const stats = mergeStats(b.map((f) => f.parsedStats));
      const add: AddAction = {
        path: encodeLogPath(path),
        partitionValues,
        size: bytes.byteLength,
        modificationTime: Date.now(),
        dataChange: false,
        ...(stats ? { stats: JSON.stringify(stats) } : {}),
      };
      const version = await commitRewrite(table, b, add, { targetSize: String(target) });
      if (version === null) {
        result.conflicts++;
        continue;
      }
      compacted = true;
      result.filesRemoved += b.length;
      result.filesAdded += 1;
      result.bytesRemoved += b.reduce((s, f) => s + f.size, 0);
      result.bytesAdded += bytes.byteLength;
      options.onCommit?.({ version, removed: b.length, added: add, partition: partitionValues });
    }
    if (compacted) result.partitionsCompacted++;
  }
  return result;
}

/**
 * Commits an OPTIMIZE-style rewrite: `removed` replaced by the already written file of `add` (dataChange false, so
 * streaming readers skip it). The commit is refused if a concurrent commit removed any of `removed`; then the new
 * file is deleted and null returned (the caller counts a conflict and moves on). On any other failure the new file
 * is deleted too, and the error thrown.
 */
export async function commitRewrite(
  table: DeltaTable,
  removed: DataFile[],
  add: AddAction,
  operationParameters: Record<string, string>,
): Promise<number | null> {
  const now = Date.now();
  const actions: Action[] = [
    ...removed.map((f) => ({
      remove: {
        path: f.path,
        deletionTimestamp: now,
        dataChange: false,
        extendedFileMetadata: true,
        partitionValues: f.partitionValues,
        size: f.size,
      },
    })),
    { add: { ...add, dataChange: false } },
  ];
  try {
    return await table.commit(actions, {
      operation: "OPTIMIZE",
      operationParameters,
      check: (latest) => {
        const live = new Set(latest.files().map((f) => f.path));
        for (const f of removed) {
          if (!live.has(f.path))
            throw new CommitConflictError(`file ${f.path} was removed by a concurrent commit`);
        }
      },
    });
  } catch (err) {
    // Kept when the commit may have landed: it removed the files this one replaces.
    if (!(err instanceof CommitOutcomeUnknownError))
      await table.storage.delete(storagePath(add.path)).catch(() => {});
    if (err instanceof CommitConflictError) return null;
    throw err;
  }
}
