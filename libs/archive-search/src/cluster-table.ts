import type { DataFile, DeltaTable } from "@certstream/delta";
import { commitRewrite, readDataFile } from "@certstream/delta";
import type { ClusteredFileOptions, ColumnData } from "./clustered-file.ts";
import { writeClusteredFile } from "./clustered-file.ts";
import { registeredDomainOf } from "./domain-key.ts";

export interface ClusterOptions extends ClusteredFileOptions {
  /** Only partitions for which this returns true (e.g. closed days: seen_date < today). */
  partitionFilter?: (partitionValues: Record<string, string | null>) => boolean;
  /** Most rows in one clustered file; a partition with more gets several (each sorted). Default 500,000. */
  maxFileRows?: number;
  /** Called after each committed rewrite. */
  onCommit?: (info: {
    version: number;
    removed: number;
    rows: number;
    partition: Record<string, string | null>;
  }) => void;
}

export interface ClusterResult {
  filesRemoved: number;
  filesAdded: number;
  rows: number;
  /** Bins abandoned because another writer removed one of their files first (nothing committed for them). */
  conflicts: number;
}

/** A file already clustered carries the cluster-key tags (writeClusteredFile). */
export function isClustered(f: DataFile): boolean {
  return typeof f.tags?.["certstream.cluster_key.min"] === "string";
}

/**
 * Rewrites the files of each selected partition that are not clustered yet (the sink's flushes) into clustered
 * files: rows sorted by reversed registered domain, granule filters in the footer, cluster-key tags, Delta stats.
 * Committed as remove + add with dataChange=false, like OPTIMIZE, so streaming readers see no new data; safe
 * beside appending sinks (a bin whose files another optimize removed first is abandoned and counted).
 * Rows of tables written before registered_domains existed get it derived from all_domains.
 */
export async function clusterTable(table: DeltaTable, options: ClusterOptions = {}): Promise<ClusterResult> {
  const maxRows = options.maxFileRows ?? 500_000;
  const result: ClusterResult = { filesRemoved: 0, filesAdded: 0, rows: 0, conflicts: 0 };
  const snap = await table.refresh();
  const schema = snap.schema;
  const partCols = snap.partitionColumns;
  const byPartition = new Map<string, DataFile[]>();
  for (const f of snap.files()) {
    if (isClustered(f) || f.deletionVector) continue;
    if (options.partitionFilter && !options.partitionFilter(f.partitionValues)) continue;
    const key = JSON.stringify(Object.entries(f.partitionValues).sort());
    const list = byPartition.get(key) ?? [];
    list.push(f);
    byPartition.set(key, list);
  }
  const columns = schema.fields.map((f) => f.name);
  for (const files of byPartition.values()) {
    files.sort((a, b) => a.modificationTime - b.modificationTime || (a.path < b.path ? -1 : 1));
    // Bins of whole files up to maxRows rows (by their stats).
    const bins: DataFile[][] = [];
    let bin: DataFile[] = [];
    let binRows = 0;
    for (const f of files) {
      const n = f.parsedStats?.numRecords ?? 0;
      if (bin.length > 0 && binRows + n > maxRows) {
        bins.push(bin);
        bin = [];
        binRows = 0;
      }
      bin.push(f);
      binRows += n;
    }
    if (bin.length > 0) bins.push(bin);
    for (const b of bins) {
      const cols: ColumnData = {};
      for (const c of columns) cols[c] = [];
      let n = 0;
      for (const f of b) {
        const batch = await readDataFile(table.storage, f, schema, partCols, columns);
        for (const c of columns) {
          const src = batch.columns[c];
          const dst = cols[c];
          for (let i = 0; i < batch.numRows; i++) dst.push(src[i]);
        }
        n += batch.numRows;
      }
      if (cols.registered_domains && cols.all_domains) {
        const reg = cols.registered_domains;
        const all = cols.all_domains;
        for (let i = 0; i < n; i++) {
          if (reg[i] !== null && reg[i] !== undefined) continue;
          const names = all[i] as string[] | null;
          if (!names) continue;
          const out: string[] = [];
          for (const d of names) {
            const r = registeredDomainOf(d);
            if (r !== null && !out.includes(r)) out.push(r);
          }
          reg[i] = out;
        }
      }
      const partitionValues = b[0].partitionValues;
      const add = await writeClusteredFile(
        table.storage,
        schema,
        partCols,
        partitionValues,
        cols,
        n,
        options,
      );
      const version = await commitRewrite(table, b, add, { clusterBy: "reversed registered domain" });
      if (version === null) {
        result.conflicts++;
        continue;
      }
      result.filesRemoved += b.length;
      result.filesAdded++;
      result.rows += n;
      options.onCommit?.({ version, removed: b.length, rows: n, partition: partitionValues });
    }
  }
  return result;
}
