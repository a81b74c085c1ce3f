/** Real tables written by delta-rs, Spark and Databricks; expectations from /work/shared/testdata/delta-tables/README.md. */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  DeltaLog,
  DeltaTable,
  LocalStorage,
  TableStateError,
  UnsupportedFeatureError,
} from "../src/index.ts";

const BASE = fileURLToPath(new URL("../../../../shared/testdata/delta-tables", import.meta.url));
const open = (t: string, version?: number) => DeltaTable.open(new LocalStorage(`${BASE}/${t}`), { version });

describe("reading tables written by other engines", () => {
  it("checkpoint_with_partitions: snapshot from the v2 checkpoint alone, null partition value, missing data files fail clearly", async () => {
    const t = await open("delta-rs/checkpoint_with_partitions");
    expect(t.version).toBe(2);
    expect(t.snapshot.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ["id", "integer"],
      ["color", "string"],
    ]);
    expect(t.snapshot.partitionColumns).toEqual(["color"]);
    const files = t.snapshot.files().map((f) => [f.path, f.partitionValues.color, f.size, f.parsedStats]);
    expect(files.sort()).toEqual(
      [
        ["8ac7d8e1-daab-48ef-9d05-ec22fb4b0d2f", null, 100, null],
        ["f62d8868-d952-4f9d-8bb2-fd4e011ebf36", "red", 100, null],
      ].sort(),
    );
    await expect(open("delta-rs/checkpoint_with_partitions", 1)).rejects.toThrow(TableStateError);
    await expect(open("delta-rs/checkpoint_with_partitions", 1)).rejects.toThrow(
      /no checkpoint at or before it/,
    );
    await expect(t.rows()).rejects.toThrow(/data file not found/);
  });

  it("issue_1374: 20 rows through the v1 checkpoint (byte-identical files read twice), no pruning on bad timestamp stats", async () => {
    const t = await open("delta-rs/issue_1374");
    expect(t.version).toBe(1);
    const rows = await t.rows();
    expect(rows).toHaveLength(20);
    const temps = rows.map((r) => r.temperature as number);
    expect(Math.min(...temps)).toBe(8);
    expect(Math.max(...temps)).toBe(90);
    expect(new Set(rows.map((r) => r.date))).toEqual(new Set(["2023-05-24"]));
    const ts = rows.map((r) => r.timestamp as bigint).sort((a, b) => (a < b ? -1 : 1));
    expect(ts[0]).toBe(BigInt(Date.UTC(2023, 4, 24, 0, 1, 25)) * 1000n + 10301n);
    expect(ts[19]).toBe(BigInt(Date.UTC(2023, 4, 24, 0, 1, 25)) * 1000n + 14302n);
    // A filter on the earliest timestamp must still find it although one file's minValues claims a later minimum.
    const hit = await t.rows({ filters: [{ column: "timestamp", op: "=", value: ts[0] }] });
    expect(hit.length).toBe(2);
  });

  it("with_checkpoint_no_last_checkpoint: finds the v2 checkpoint by listing, applies 3.json, tombstone is not live", async () => {
    const t = await open("delta-rs/with_checkpoint_no_last_checkpoint");
    expect(t.version).toBe(3);
    const files = t.snapshot.files();
    expect(files.map((f) => f.path)).toEqual([
      "part-00000-70b1dcdf-0236-4f63-a072-124cdbafd8a0-c000.snappy.parquet",
    ]);
    expect(files[0].size).toBe(1010);
    expect(files[0].parsedStats?.numRecords).toBe(5);
    expect(t.snapshot.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ["letter", "string"],
      ["int", "long"],
      ["date", "date"],
    ]);
    await expect(t.rows()).rejects.toThrow(/data file not found/);
  });

  it("latest_not_checkpointed: starts from _last_checkpoint's v2 (wrong size accepted) and reaches v3", async () => {
    const t = await open("delta-rs/latest_not_checkpointed");
    expect(t.version).toBe(3);
    expect(t.snapshot.files().map((f) => [f.path, f.parsedStats?.numRecords])).toEqual([
      ["part-00000-70b1dcdf-0236-4f63-a072-124cdbafd8a0-c000.snappy.parquet", 5],
    ]);
  });

  it("delta-0.8.0-special-partition: paths decoded once, partition values from the log", async () => {
    const t = await open("delta-rs/delta-0.8.0-special-partition");
    const rows = (await t.rows()).map((r) => [r.x, r.y]).sort();
    expect(rows).toEqual([
      ["A/A", 1n],
      ["B B", 2n],
    ]);
  });

  it("delta-0.8.0: a removed file is not read; time travel to v0", async () => {
    const t = await open("delta-rs/delta-0.8.0");
    expect((await t.rows()).map((r) => r.value).sort()).toEqual([0, 1, 2, 4]);
    const v0 = await open("delta-rs/delta-0.8.0", 0);
    expect((await v0.rows({ snapshot: v0.snapshot })).map((r) => r.value).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it("multi-part-checkpoint: reads both parts (10 files, 31 rows, sum 435)", async () => {
    const t = await open("delta-golden/multi-part-checkpoint");
    expect(t.version).toBe(1);
    expect(t.snapshot.numFiles).toBe(10);
    const ids = (await t.rows()).map((r) => Number(r.id as bigint));
    expect(ids).toHaveLength(31);
    expect(ids.reduce((a, b) => a + b, 0)).toBe(435);
  });

  it("corrupted-last-checkpoint-kernel: empty _last_checkpoint is a warning; v11 = 100 rows, v10 = 110 rows", async () => {
    const t = await open("delta-golden/corrupted-last-checkpoint-kernel");
    expect(t.version).toBe(11);
    expect(t.snapshot.warnings.join()).toMatch(/_last_checkpoint is empty/);
    const ids = (await t.rows()).map((r) => Number(r.id as bigint)).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const v10 = await open("delta-golden/corrupted-last-checkpoint-kernel", 10);
    expect(v10.snapshot.numFiles).toBe(22);
    expect(await v10.rows({ snapshot: v10.snapshot })).toHaveLength(110);
  });

  it("kernel-timestamp-partition-col-ISO8601: timestamp partition values (ISO form), pruning on them", async () => {
    const t = await open("delta-golden/kernel-timestamp-partition-col-ISO8601");
    const rows = (await t.rows()).map((r) => [r.str, r.ts]).sort();
    expect(rows).toEqual([
      ["2024-01-01 10:00:00", 1704103200000000n],
      ["2024-01-02 12:30:00", 1704198600000000n],
    ]);
    const filter = [{ column: "ts", op: "=" as const, value: 1704103200000000n }];
    expect(t.pruneFiles(t.snapshot, filter)).toHaveLength(1);
    expect(await t.rows({ filters: filter })).toEqual([
      { str: "2024-01-01 10:00:00", ts: 1704103200000000n },
    ]);
  });

  it.each([
    ["delta-rs/table-with-dv-small", "deletionVectors", /deletionVectors/],
    ["delta-rs/table_with_column_mapping", "columnMapping", /columnMapping.*delta\.columnMapping\.mode=name/],
    ["delta-rs/checkpoint-v2-table", "v2Checkpoint", /v2Checkpoint/],
  ])("%s is refused, naming %s", async (table, feature, message) => {
    const err = await open(table).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedFeatureError);
    expect((err as UnsupportedFeatureError).feature).toBe(feature);
    expect((err as Error).message).toMatch(message);
  });

  it("lists _delta_log ignoring .crc, hidden files and incomplete checkpoint sets", async () => {
    const l = await new DeltaLog(new LocalStorage(`${BASE}/delta-golden/multi-part-checkpoint`)).listing();
    expect([...l.commits].sort()).toEqual([0, 1]);
    expect(l.checkpoints.get(1)?.parts).toHaveLength(2);
  });
});
