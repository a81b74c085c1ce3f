import { randomUUID } from "node:crypto";
import type { Action, AddAction, MetadataAction, ProtocolAction, TxnAction } from "./actions.ts";
import { Checkpoint } from "./checkpoint.ts";
import type { ColumnValues, ScanBatch } from "./data-reader.ts";
import { parsePartitionValue, readDataFile, storagePath } from "./data-reader.ts";
import { DeltaLog } from "./delta-log.ts";
import {
  CommitConflictError,
  CommitOutcomeUnknownError,
  TableStateError,
  TxnConflictError,
} from "./errors.ts";
import { checkWritable } from "./features.ts";
import type { ParquetWriterOptions, Row } from "./parquet-writer.ts";
import { ParquetWriter } from "./parquet-writer.ts";
import type { DeltaStructType, DeltaType } from "./schema.ts";
import type { DataFile, Snapshot } from "./snapshot.ts";
import type { Storage } from "./storage.ts";
import { encodeLogPath, newDataFilePath } from "./table-paths.ts";

export interface CreateTableOptions {
  schema: DeltaStructType;
  partitionColumns: string[];
  configuration?: Record<string, string>;
  name?: string;
  description?: string;
}

export interface DeltaTableOptions {
  /** Write a checkpoint when a commit's version is a multiple of this. Default: table's delta.checkpointInterval, else 10. */
  checkpointInterval?: number;
  /** Attempts at a commit before giving up (each lost race re-reads the log). Default 15, as delta-rs. */
  maxCommitAttempts?: number;
  writer?: ParquetWriterOptions;
  /** Called for each lost put-if-absent race (for metrics). */
  onCommitConflict?: () => void;
  /** Called after each checkpoint attempt (for metrics); a failed checkpoint never fails the commit. */
  onCheckpoint?: (result: { ok: boolean; version: number; error?: unknown }) => void;
}

export interface CommitOptions {
  /** commitInfo.operation, e.g. "WRITE", "STREAMING UPDATE", "OPTIMIZE". */
  operation: string;
  operationParameters?: Record<string, unknown>;
  /**
   * Runs against the latest snapshot before each attempt; throw CommitConflictError when the table moved in a way
   * that invalidates this commit (another writer advanced a txn we depend on, removed a file we rewrite, ...).
   */
  check?: (latest: Snapshot) => void;
}

/** A file-pruning and row filter. Values use the ColumnValues forms (long/timestamp: bigint or number). */
export interface Filter {
  column: string;
  op: "=" | "<" | "<=" | ">" | ">=" | "in";
  value: unknown;
}

export interface ScanOptions {
  /** Columns to return (default: every column of the schema). */
  columns?: string[];
  /** All must hold (AND). Files are pruned by partition values and min/max stats, then rows are filtered. */
  filters?: Filter[];
  /** Scan this snapshot instead of refreshing to the latest version. */
  snapshot?: Snapshot;
}

export interface AppendResult {
  version: number;
  adds: AddAction[];
  bytes: number;
}

const DEFAULT_CHECKPOINT_INTERVAL = 10;
const TOMBSTONE_RETENTION_MS = 7 * 24 * 3600 * 1000;

function cmp(a: unknown, b: unknown): number {
  if (typeof a === "bigint" || typeof b === "bigint") {
    const x = typeof a === "bigint" ? a : BigInt(Math.trunc(Number(a)));
    const y = typeof b === "bigint" ? b : BigInt(Math.trunc(Number(b)));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function matches(v: unknown, f: Filter): boolean {
  if (v === null || v === undefined) return false;
  switch (f.op) {
    case "=":
      return cmp(v, f.value) === 0;
    case "<":
      return cmp(v, f.value) < 0;
    case "<=":
      return cmp(v, f.value) <= 0;
    case ">":
      return cmp(v, f.value) > 0;
    case ">=":
      return cmp(v, f.value) >= 0;
    case "in":
      return (f.value as unknown[]).some((x) => cmp(v, x) === 0);
  }
}

/** Could a file whose values of the column lie in [min, max] hold a row matching f? */
function rangeMayMatch(min: unknown, max: unknown, f: Filter): boolean {
  const hasMin = min !== undefined && min !== null;
  const hasMax = max !== undefined && max !== null;
  const vals = f.op === "in" ? (f.value as unknown[]) : [f.value];
  const inRange = (x: unknown) => (!hasMin || cmp(x, min) >= 0) && (!hasMax || cmp(x, max) <= 0);
  switch (f.op) {
    case "=":
    case "in":
      return vals.some(inRange);
    case "<":
      return !hasMin || cmp(min, f.value) < 0;
    case "<=":
      return !hasMin || cmp(min, f.value) <= 0;
    case ">":
      return !hasMax || cmp(max, f.value) > 0;
    case ">=":
      return !hasMax || cmp(max, f.value) >= 0;
  }
}

/** Stats types we prune on. Timestamps are not: stats truncate them to ms and some engines wrote wrong ones. */
const PRUNABLE_STAT_TYPES = new Set<DeltaType>([
  "long",
  "integer",
  "short",
  "byte",
  "string",
  "date",
  "double",
  "float",
]);

/**
 * A Delta table: create/open, append Parquet files with `txn` actions in one optimistic commit, checkpoint every
 * N commits, and scan with column projection and file pruning.
 */
export class DeltaTable {
  readonly storage: Storage;
  readonly log: DeltaLog;
  private readonly options: DeltaTableOptions;
  private snap: Snapshot;

  private constructor(storage: Storage, snap: Snapshot, options: DeltaTableOptions) {
    this.storage = storage;
    this.log = new DeltaLog(storage);
    this.snap = snap;
    this.options = options;
  }

  /** Opens an existing table (latest or the given version). Refuses tables with features we cannot read. */
  static async open(
    storage: Storage,
    options: DeltaTableOptions & { version?: number } = {},
  ): Promise<DeltaTable> {
    const snap = await new DeltaLog(storage).snapshot(options.version);
    return new DeltaTable(storage, snap, options);
  }

  /**
   * Opens the table, creating version 0 (protocol (1,2) + metaData) when there is none. Two processes racing to
   * create it are fine: one commit 0 wins and the other opens it. An existing table must have the same
   * partition columns and every column of `create.schema` with the same type.
   */
  static async openOrCreate(
    storage: Storage,
    create: CreateTableOptions,
    options: DeltaTableOptions = {},
  ): Promise<DeltaTable> {
    const log = new DeltaLog(storage);
    if (!(await log.exists())) {
      const protocol: ProtocolAction = { minReaderVersion: 1, minWriterVersion: 2 };
      const metaData: MetadataAction = {
        id: randomUUID(),
        name: create.name ?? null,
        description: create.description ?? null,
        format: { provider: "parquet", options: {} },
        schemaString: JSON.stringify(create.schema),
        partitionColumns: create.partitionColumns,
        configuration: create.configuration ?? {},
        createdTime: Date.now(),
      };
      const commitInfo = {
        timestamp: Date.now(),
        operation: "CREATE TABLE",
        operationParameters: { partitionBy: JSON.stringify(create.partitionColumns), mode: "ErrorIfExists" },
        clientVersion: "certstream-delta-0.1.0",
      };
      await log.tryCommit(0, [{ protocol }, { metaData }, { commitInfo }]);
    }
    const table = await DeltaTable.open(storage, options);
    await table.addMissingColumns(create.schema);
    table.checkCompatible(create);
    return table;
  }

  /**
   * Schema evolution for an existing table: columns of `wanted` that the table lacks are appended by a metaData
   * commit (same table id, the existing columns untouched), so a table written by an older version takes the new
   * nullable columns in place and its old files read them as null. Only nullable columns are added (a non-null
   * column cannot hold the old rows); two writers upgrading at once are fine: whoever loses the race finds the
   * columns there. Returns the names added by this call.
   */
  async addMissingColumns(wanted: DeltaStructType): Promise<string[]> {
    const attempts = this.options.maxCommitAttempts ?? 15;
    for (let attempt = 0; attempt < attempts; attempt++) {
      await this.refresh();
      const meta = this.snap.metadata;
      if (!meta) throw new TableStateError(`table at ${this.storage.location} has no metaData`);
      const have = this.snap.schema;
      const names = new Set(have.fields.map((f) => f.name.toLowerCase()));
      const missing = wanted.fields.filter((f) => !names.has(f.name.toLowerCase()));
      if (missing.length === 0) return [];
      const required = missing.filter((f) => !f.nullable).map((f) => f.name);
      if (required.length > 0) {
        throw new TableStateError(
          `table at ${this.storage.location} has no column ${required.join(", ")}, and a non-nullable column cannot be added to a table that has rows`,
        );
      }
      checkWritable(this.snap.protocol as ProtocolAction, meta);
      const schema: DeltaStructType = { type: "struct", fields: [...have.fields, ...missing] };
      const metaData: MetadataAction = { ...meta, schemaString: JSON.stringify(schema) };
      const commitInfo = {
        timestamp: Date.now(),
        operation: "ADD COLUMNS",
        operationParameters: { columns: JSON.stringify(missing.map((f) => ({ column: f }))) },
        clientVersion: "certstream-delta-0.1.0",
      };
      const version = this.snap.version + 1;
      const actions: Action[] = [{ metaData }, { commitInfo }];
      if (await this.log.tryCommit(version, actions)) {
        this.snap.apply(actions as unknown as Record<string, unknown>[]);
        this.snap.version = version;
        return missing.map((f) => f.name);
      }
      this.options.onCommitConflict?.();
    }
    throw new CommitConflictError(
      `gave up adding columns to ${this.storage.location} after ${attempts} lost races`,
    );
  }

  private checkCompatible(create: CreateTableOptions): void {
    const snap = this.snap;
    checkWritable(snap.protocol as ProtocolAction, snap.metadata);
    const have = new Map(snap.schema.fields.map((f) => [f.name, f]));
    for (const f of create.schema.fields) {
      const h = have.get(f.name);
      if (!h) throw new TableStateError(`table at ${this.storage.location} has no column ${f.name}`);
      if (JSON.stringify(h.type) !== JSON.stringify(f.type)) {
        throw new TableStateError(
          `table at ${this.storage.location}: column ${f.name} has type ${JSON.stringify(h.type)}, expected ${JSON.stringify(f.type)}`,
        );
      }
    }
    if (JSON.stringify(snap.partitionColumns) !== JSON.stringify(create.partitionColumns)) {
      throw new TableStateError(
        `table at ${this.storage.location} is partitioned by [${snap.partitionColumns}], expected [${create.partitionColumns}]`,
      );
    }
  }

  /** The snapshot as of the last refresh or commit. */
  get snapshot(): Snapshot {
    return this.snap;
  }

  get version(): number {
    return this.snap.version;
  }

  /** Reads any commits made since (by this or other writers). */
  async refresh(): Promise<Snapshot> {
    await this.log.update(this.snap);
    this.snap.validate();
    return this.snap;
  }

  /** Latest txn version for appId after a refresh. */
  async txnVersion(appId: string): Promise<number | undefined> {
    await this.refresh();
    return this.snap.txnVersion(appId);
  }

  private get checkpointInterval(): number {
    const configured = Number(this.snap.configuration["delta.checkpointInterval"]);
    return this.options.checkpointInterval ?? (configured > 0 ? configured : DEFAULT_CHECKPOINT_INTERVAL);
  }

  /**
   * Writes rows as Parquet data files, one per distinct partition value tuple, and returns their add actions
   * (not yet committed: an uncommitted file is invisible to readers).
   */
  async writeFiles(rows: readonly Row[], dataChange = true): Promise<{ adds: AddAction[]; bytes: number }> {
    const schema = this.snap.schema;
    const partCols = this.snap.partitionColumns;
    const dataSchema: DeltaStructType = {
      type: "struct",
      fields: schema.fields.filter((f) => !partCols.includes(f.name)),
    };
    const groups = new Map<string, { values: [string, string | null][]; rows: Row[] }>();
    const partitionValues = (r: Row): [string, string | null][] =>
      partCols.map((c) => {
        const v = r[c];
        return [c, v === null || v === undefined ? null : String(v)];
      });
    // One partition column (the archive's seen_date): the value itself is the key, no tuple or JSON per row.
    const single = partCols.length === 1 ? partCols[0] : null;
    for (const r of rows) {
      let key: string;
      if (single !== null) {
        const v = r[single];
        key = v === null || v === undefined ? "\u0000" : `=${String(v)}`;
      } else key = JSON.stringify(partitionValues(r));
      let g = groups.get(key);
      if (!g) {
        g = { values: partitionValues(r), rows: [] };
        groups.set(key, g);
      }
      g.rows.push(r);
    }
    const writer = new ParquetWriter(dataSchema, this.options.writer);
    const adds: AddAction[] = [];
    const paths: string[] = [];
    let bytes = 0;
    try {
      for (const g of groups.values()) {
        const written = writer.write(g.rows);
        const path = newDataFilePath(g.values);
        await this.storage.put(path, written.bytes);
        paths.push(path);
        bytes += written.bytes.byteLength;
        adds.push({
          path: encodeLogPath(path),
          partitionValues: Object.fromEntries(g.values),
          size: written.bytes.byteLength,
          modificationTime: Date.now(),
          dataChange,
          stats: JSON.stringify(written.stats),
        });
      }
    } catch (err) {
      // The files of a write that failed part way are never committed: removed, or every retry against a full
      // disk would leave one more behind and fill it further.
      await Promise.all(paths.map((p) => this.storage.delete(p).catch(() => {})));
      throw err;
    }
    return { adds, bytes };
  }

  /**
   * Commits actions as the next version: put-if-absent of `<version>.json`; on a lost race re-reads the log,
   * re-runs `check`, and tries the next version. Returns the committed version.
   */
  async commit(actions: Action[], options: CommitOptions): Promise<number> {
    const attempts = this.options.maxCommitAttempts ?? 15;
    const commitInfo = {
      commitInfo: {
        timestamp: Date.now(),
        operation: options.operation,
        operationParameters: options.operationParameters ?? {},
        clientVersion: "certstream-delta-0.1.0",
      },
    };
    const all: Action[] = [...actions, commitInfo];
    for (let attempt = 0; attempt < attempts; attempt++) {
      await this.log.update(this.snap);
      checkWritable(this.snap.protocol as ProtocolAction, this.snap.metadata);
      options.check?.(this.snap);
      const version = this.snap.version + 1;
      if (await this.log.tryCommit(version, all)) {
        this.snap.apply(all as unknown as Record<string, unknown>[]);
        this.snap.version = version;
        if (version % this.checkpointInterval === 0) await this.checkpoint();
        return version;
      }
      this.options.onCommitConflict?.();
      // Lost the race for this version: back off a little (jittered) so racing writers spread out.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
    }
    throw new CommitConflictError(
      `gave up committing to ${this.storage.location} after ${attempts} lost races`,
    );
  }

  /** Writes a checkpoint of the current snapshot. Failures are reported through onCheckpoint, never thrown. */
  async checkpoint(): Promise<boolean> {
    const version = this.snap.version;
    try {
      this.snap.expireTombstones(Date.now() - TOMBSTONE_RETENTION_MS);
      await Checkpoint.write(this.storage, this.snap);
      this.options.onCheckpoint?.({ ok: true, version });
      return true;
    } catch (error) {
      this.options.onCheckpoint?.({ ok: false, version, error });
      return false;
    }
  }

  /**
   * Appends rows in one commit together with `txns` (one per appId, e.g. per Kafka topic-partition). When
   * `expectedTxns` is given, the commit is refused with CommitConflictError if any appId's latest txn version
   * differs from the expected one (undefined = none yet): another writer took over those offsets.
   * Uncommitted data files of a refused commit are deleted.
   */
  async append(
    rows: readonly Row[],
    options: {
      txns?: { appId: string; version: number }[];
      expectedTxns?: Map<string, number | undefined>;
      operation?: string;
    } = {},
  ): Promise<AppendResult> {
    const { adds, bytes } = rows.length > 0 ? await this.writeFiles(rows) : { adds: [], bytes: 0 };
    const now = Date.now();
    const txnActions: Action[] = (options.txns ?? []).map((t) => ({
      txn: { appId: t.appId, version: t.version, lastUpdated: now } satisfies TxnAction,
    }));
    try {
      const version = await this.commit([...txnActions, ...adds.map((add) => ({ add }))], {
        operation: options.operation ?? "WRITE",
        operationParameters: { mode: "Append" },
        check: options.expectedTxns
          ? (latest) => {
              for (const [appId, expected] of options.expectedTxns ?? []) {
                const actual = latest.txnVersion(appId);
                if (actual !== expected) {
                  throw new TxnConflictError(
                    appId,
                    `txn ${appId} is at ${actual ?? "none"} in the table, expected ${expected ?? "none"}: another writer committed those offsets`,
                  );
                }
              }
            }
          : undefined,
      });
      return { version, adds, bytes };
    } catch (err) {
      // Not the files of a commit that may have landed: removing them under it would break the table (vacuum
      // removes them if it did not).
      if (!(err instanceof CommitOutcomeUnknownError))
        await Promise.all(adds.map((a) => this.storage.delete(storagePath(a.path)).catch(() => {})));
      throw err;
    }
  }

  /** Live files of a snapshot that may hold rows matching every filter (partition values, then min/max stats). */
  pruneFiles(snap: Snapshot, filters: Filter[] = []): DataFile[] {
    const schema = snap.schema;
    const partCols = new Set(snap.partitionColumns);
    const types = new Map(schema.fields.map((f) => [f.name, f.type]));
    return snap.files().filter((file) => {
      for (const f of filters) {
        const type = types.get(f.column);
        if (type === undefined) throw new Error(`filter on unknown column ${f.column}`);
        if (partCols.has(f.column)) {
          if (!matches(parsePartitionValue(type, file.partitionValues[f.column]), f)) return false;
          continue;
        }
        const st = file.parsedStats;
        if (!st || !PRUNABLE_STAT_TYPES.has(type)) continue;
        if (st.numRecords > 0 && st.nullCount[f.column] === st.numRecords) return false;
        const min = st.minValues[f.column];
        const max = st.maxValues[f.column];
        const conv = (v: unknown) =>
          v === undefined || v === null ? undefined : parsePartitionValue(type, String(v));
        if (!rangeMayMatch(conv(min), conv(max), f)) return false;
      }
      return true;
    });
  }

  /**
   * Reads the requested columns of every live file that may match, one batch per file, rows filtered.
   * Refreshes to the latest version first unless a snapshot is given.
   */
  async *scan(options: ScanOptions = {}): AsyncGenerator<ScanBatch> {
    const snap = options.snapshot ?? (await this.refresh());
    const schema = snap.schema;
    const columns = options.columns ?? schema.fields.map((f) => f.name);
    const filters = options.filters ?? [];
    const readCols = [...new Set([...columns, ...filters.map((f) => f.column)])];
    for (const file of this.pruneFiles(snap, filters)) {
      const batch = await readDataFile(this.storage, file, schema, snap.partitionColumns, readCols);
      yield filterBatch(batch, filters, columns);
    }
  }

  /** Convenience: every matching row as an object (for tests and small tables). */
  async rows(options: ScanOptions = {}): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for await (const b of this.scan(options)) {
      const names = Object.keys(b.columns);
      for (let i = 0; i < b.numRows; i++) {
        const r: Record<string, unknown> = {};
        for (const n of names) r[n] = b.columns[n][i];
        out.push(r);
      }
    }
    return out;
  }
}

function filterBatch(batch: ScanBatch, filters: Filter[], columns: string[]): ScanBatch {
  let keep: number[] | null = null;
  if (filters.length > 0) {
    keep = [];
    for (let i = 0; i < batch.numRows; i++) {
      if (filters.every((f) => matches(batch.columns[f.column][i], f))) keep.push(i);
    }
    if (keep.length === batch.numRows) keep = null;
  }
  const out: Record<string, ColumnValues> = {};
  for (const c of columns) {
    const col = batch.columns[c];
    out[c] = keep === null ? col : keep.map((i) => col[i]);
  }
  return { file: batch.file, numRows: keep === null ? batch.numRows : keep.length, columns: out };
}
