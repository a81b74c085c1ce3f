import { resolve } from "node:path";
import type { Config } from "@certstream/config";
import {
  CERTSTREAM_WRITER_OPTIONS,
  DeltaTable,
  type OptimizeResult,
  optimize,
  storageFor,
  storagePath,
  tableLocationText,
  type VacuumResult,
  vacuum,
} from "@certstream/delta";
import type { Logger } from "@certstream/log";
import { optimizeFiles } from "./metrics.ts";

export interface OptimizeCommandOptions {
  /** Compact partitions with seen_date strictly before this date (YYYY-MM-DD). Default: today (UTC), i.e. closed days. */
  before?: string;
  targetFileBytes?: number;
}

/** Parses `--before YYYY-MM-DD` and `--target-mb N` from the command line. */
export function parseOptimizeArgs(argv: readonly string[]): OptimizeCommandOptions {
  const out: OptimizeCommandOptions = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--before") {
      const v = argv[++i] ?? "";
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v))
        throw new Error(`--before wants YYYY-MM-DD, got ${JSON.stringify(v)}`);
      out.before = v;
    } else if (argv[i] === "--target-mb") {
      const n = Number(argv[++i]);
      if (!(n > 0)) throw new Error("--target-mb wants a positive number");
      out.targetFileBytes = n * 1024 * 1024;
    }
  }
  return out;
}

/**
 * `optimize`: compacts the small files of closed date partitions (seen_date before today) into files of about the
 * target size. Safe while sinks run: each compaction is an optimistic commit of dataChange=false remove+add;
 * appends do not conflict with it, and a bin whose files another optimize already removed is abandoned.
 */
export async function runOptimize(
  config: Config,
  logger: Logger,
  options: OptimizeCommandOptions = {},
): Promise<OptimizeResult> {
  const before = options.before ?? new Date().toISOString().slice(0, 10);
  const target = options.targetFileBytes ?? config.delta_sink.optimize_target_file_mb * 1024 * 1024;
  const table = await DeltaTable.open(storageFor(config.delta_sink), {
    checkpointInterval: config.delta_sink.checkpoint_interval,
  });
  logger.info(
    {
      table: tableLocationText(config.delta_sink),
      before,
      target_bytes: target,
      files: table.snapshot.numFiles,
    },
    "optimize: starting",
  );
  const result = await optimize(table, {
    targetFileSize: target,
    plainColumns: CERTSTREAM_WRITER_OPTIONS.plainColumns,
    partitionFilter: (pv) => (pv.seen_date ?? "") < before,
    onCommit: (c) => {
      optimizeFiles.inc({ action: "removed" }, c.removed);
      optimizeFiles.inc({ action: "added" });
      logger.info(
        { version: c.version, partition: c.partition, removed: c.removed, size: c.added.size },
        "optimize: bin committed",
      );
    },
  });
  logger.info({ ...result, version: table.version }, "optimize: done");
  return result;
}

/** `vacuum [--retention-hours N] [--dry-run]`: deletes unreferenced data files older than the retention (default 168 h). */
export async function runVacuum(
  config: Config,
  logger: Logger,
  argv: readonly string[],
): Promise<VacuumResult> {
  const i = argv.indexOf("--retention-hours");
  const retentionHours = i >= 0 ? Number(argv[i + 1]) : 168;
  if (!(retentionHours >= 1))
    throw new Error("--retention-hours wants a number >= 1 (files younger may belong to a commit in flight)");
  const table = await DeltaTable.open(storageFor(config.delta_sink));
  const result = await vacuum(table, { retentionHours, dryRun: argv.includes("--dry-run") });
  logger.info(
    {
      table: tableLocationText(config.delta_sink),
      deleted: result.deleted.length,
      bytes: result.bytes,
      dry_run: argv.includes("--dry-run"),
    },
    "vacuum: done",
  );
  return result;
}

/**
 * `files [--version N]`: the table's active data files (one URI a line: `s3://bucket/prefix/...` or an absolute
 * local path), for readers without a Delta reader, e.g. DuckDB's `read_parquet([...], hive_partitioning = true)`.
 * Only these files are the table: others in the directory are compacted-away or uncommitted ones.
 */
export async function activeFileUris(config: Config, argv: readonly string[]): Promise<string[]> {
  const i = argv.indexOf("--version");
  const version = i >= 0 ? Number(argv[i + 1]) : undefined;
  if (version !== undefined && !(Number.isInteger(version) && version >= 0))
    throw new Error("--version wants a table version (an integer >= 0)");
  const table = await DeltaTable.open(storageFor(config.delta_sink), { version });
  const base = tableLocationText(config.delta_sink);
  const root = base.startsWith("s3://") ? base : resolve(base);
  return table.snapshot.files().map((f) => `${root.replace(/\/+$/, "")}/${storagePath(f.path)}`);
}
