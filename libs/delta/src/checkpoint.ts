import * as arrow from "apache-arrow";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import * as pw from "parquet-wasm";
import { versionPrefix } from "./actions.ts";
import { compressors } from "./parquet-compressors.ts";
import { topLevelColumns } from "./parquet-schema.ts";
import type { Snapshot } from "./snapshot.ts";
import type { Storage } from "./storage.ts";

/** `_delta_log/_last_checkpoint` content (PROTOCOL.md "Last Checkpoint File"). */
export interface LastCheckpoint {
  version: number;
  size: number;
  parts?: number | null;
  sizeInBytes?: number;
  numOfAddFiles?: number;
}

/** The actions a classic checkpoint stores, in the column order we write them. */
const ACTION_COLUMNS = ["protocol", "metaData", "txn", "add", "remove"] as const;

/** Converts the BigInts hyparquet returns for INT64 into numbers (all Delta longs we use fit in 2^53). */
function normalize(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (v instanceof Date) return v.getTime();
  if (v && typeof v === "object" && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalize(x);
    return out;
  }
  return v;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * Classic (single-file and multi-part) Parquet checkpoints: reading any engine's, writing ours.
 * V2 checkpoints are not read: tables using them declare the v2Checkpoint reader feature and are refused.
 */
export const Checkpoint = {
  /** Reads the actions of one checkpoint part. Extra columns (stats_parsed, domainMetadata, ...) are skipped. */
  async readPart(storage: Storage, path: string): Promise<Record<string, unknown>[]> {
    const bytes = await storage.get(path);
    if (!bytes) throw new Error(`checkpoint part ${path} disappeared while reading`);
    const file = toArrayBuffer(bytes);
    const meta = parquetMetadata(file);
    const present = new Set(topLevelColumns(meta.schema));
    const columns = ACTION_COLUMNS.filter((c) => present.has(c));
    const rows = (await parquetReadObjects({ file, metadata: meta, columns, compressors })) as Record<
      string,
      unknown
    >[];
    const actions: Record<string, unknown>[] = [];
    for (const row of rows) {
      for (const c of columns) {
        const v = row[c];
        if (v !== null && v !== undefined) actions.push({ [c]: normalize(v) });
      }
    }
    return actions;
  },

  async readLastCheckpoint(storage: Storage): Promise<{ value: LastCheckpoint | null; warning?: string }> {
    const bytes = await storage.get("_delta_log/_last_checkpoint");
    if (!bytes) return { value: null };
    const text = new TextDecoder().decode(bytes).trim();
    if (text === "") return { value: null, warning: "_delta_log/_last_checkpoint is empty; ignored" };
    try {
      const v = JSON.parse(text) as LastCheckpoint;
      if (typeof v.version !== "number") throw new Error("no version");
      return { value: v };
    } catch (err) {
      return {
        value: null,
        warning: `_delta_log/_last_checkpoint is corrupt (${(err as Error).message}); ignored`,
      };
    }
  },

  /** Encodes the snapshot as a classic checkpoint Parquet file. */
  encode(snapshot: Snapshot): { bytes: Uint8Array; actions: number; adds: number } {
    const str = new arrow.Utf8();
    const i64 = new arrow.Int64();
    const i32 = new arrow.Int32();
    const bool = new arrow.Bool();
    const f = (name: string, type: arrow.DataType) => new arrow.Field(name, type, true);
    const strMap = () =>
      new arrow.Map_(
        new arrow.Field(
          "key_value",
          new arrow.Struct([new arrow.Field("key", str, false), f("value", str)] as never[]),
          false,
        ),
        false,
      );
    const strList = () => new arrow.List(f("element", str));
    const protocolT = new arrow.Struct([
      f("minReaderVersion", i32),
      f("minWriterVersion", i32),
      f("readerFeatures", strList()),
      f("writerFeatures", strList()),
    ]);
    const metaT = new arrow.Struct([
      f("id", str),
      f("name", str),
      f("description", str),
      f("format", new arrow.Struct([f("provider", str), f("options", strMap())])),
      f("schemaString", str),
      f("partitionColumns", strList()),
      f("configuration", strMap()),
      f("createdTime", i64),
    ]);
    const txnT = new arrow.Struct([f("appId", str), f("version", i64), f("lastUpdated", i64)]);
    const addT = new arrow.Struct([
      f("path", str),
      f("partitionValues", strMap()),
      f("size", i64),
      f("modificationTime", i64),
      f("dataChange", bool),
      f("stats", str),
      f("tags", strMap()),
    ]);
    const removeT = new arrow.Struct([
      f("path", str),
      f("deletionTimestamp", i64),
      f("dataChange", bool),
      f("extendedFileMetadata", bool),
      f("partitionValues", strMap()),
      f("size", i64),
    ]);
    const big = (n: number | null | undefined) => (n === null || n === undefined ? null : BigInt(n));
    const map = (o: Record<string, string | null> | null | undefined) =>
      o ? new Map(Object.entries(o)) : null;

    const rows: { protocol?: unknown; metaData?: unknown; txn?: unknown; add?: unknown; remove?: unknown }[] =
      [];
    const p = snapshot.protocol;
    const m = snapshot.metadata;
    if (!p || !m) throw new Error("cannot checkpoint a snapshot without protocol and metaData");
    rows.push({
      protocol: {
        minReaderVersion: p.minReaderVersion,
        minWriterVersion: p.minWriterVersion,
        readerFeatures: p.readerFeatures ?? null,
        writerFeatures: p.writerFeatures ?? null,
      },
    });
    rows.push({
      metaData: {
        id: m.id,
        name: m.name ?? null,
        description: m.description ?? null,
        format: { provider: m.format.provider, options: map(m.format.options) ?? new Map() },
        schemaString: m.schemaString,
        partitionColumns: m.partitionColumns,
        configuration: map(m.configuration) ?? new Map(),
        createdTime: big(m.createdTime),
      },
    });
    for (const t of snapshot.transactions().values()) {
      rows.push({ txn: { appId: t.appId, version: big(t.version), lastUpdated: big(t.lastUpdated) } });
    }
    let adds = 0;
    for (const a of snapshot.files()) {
      adds++;
      rows.push({
        add: {
          path: a.path,
          partitionValues: map(a.partitionValues) ?? new Map(),
          size: big(a.size),
          modificationTime: big(a.modificationTime),
          // Checkpoints record the state, not a change (PROTOCOL.md): dataChange is false for every add.
          dataChange: false,
          stats: a.stats ?? null,
          tags: map(a.tags ?? null),
        },
      });
    }
    for (const r of snapshot.tombstones()) {
      rows.push({
        remove: {
          path: r.path,
          deletionTimestamp: big(r.deletionTimestamp),
          dataChange: false,
          extendedFileMetadata: r.extendedFileMetadata ?? false,
          partitionValues: map(r.partitionValues ?? null),
          size: big(r.size),
        },
      });
    }
    const col = (name: (typeof ACTION_COLUMNS)[number], type: arrow.DataType) =>
      arrow.vectorFromArray(
        rows.map((r) => (r[name] ?? null) as never),
        type,
      );
    const table = new arrow.Table({
      protocol: col("protocol", protocolT),
      metaData: col("metaData", metaT),
      txn: col("txn", txnT),
      add: col("add", addT),
      remove: col("remove", removeT),
    });
    const props = new pw.WriterPropertiesBuilder()
      .setCompression(pw.Compression.ZSTD)
      .setCreatedBy("certstream @certstream/delta")
      .build();
    const bytes = pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, "stream")), props);
    return { bytes, actions: rows.length, adds };
  },

  /**
   * Writes `<version>.checkpoint.parquet` for a snapshot at `version` (whose commit already exists), then
   * `_last_checkpoint`. Racing writers produce identical content, so an existing checkpoint is left alone.
   */
  async write(storage: Storage, snapshot: Snapshot): Promise<LastCheckpoint> {
    const { bytes, actions, adds } = Checkpoint.encode(snapshot);
    const path = `_delta_log/${versionPrefix(snapshot.version)}.checkpoint.parquet`;
    await storage.putIfAbsent(path, bytes);
    const last: LastCheckpoint = {
      version: snapshot.version,
      size: actions,
      sizeInBytes: bytes.byteLength,
      numOfAddFiles: adds,
    };
    // Only move _last_checkpoint forward: a slow writer must not point readers back to an older checkpoint.
    const current = await Checkpoint.readLastCheckpoint(storage);
    if (!current.value || current.value.version < snapshot.version) {
      await storage.put("_delta_log/_last_checkpoint", new TextEncoder().encode(JSON.stringify(last)));
    }
    return last;
  },
};
