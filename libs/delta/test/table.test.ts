import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetMetadata } from "hyparquet";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  CommitConflictError,
  commitPath,
  DeltaLog,
  DeltaTable,
  LocalStorage,
  optimize,
  ParquetWriter,
  toRow,
} from "../src/index.ts";
import { realEntries, syntheticEntries } from "./fixtures/entries.ts";

const create = { schema: CERTSTREAM_TABLE_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS };
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "delta-table-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("DeltaTable", () => {
  it("creates a (1,2) table partitioned by seen_date and round-trips every column of real entries", async () => {
    const storage = new LocalStorage(dir);
    const table = await DeltaTable.openOrCreate(storage, create);
    const v0 = (await readFile(join(dir, "_delta_log", "00000000000000000000.json"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(v0[0]).toEqual({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } });
    expect(v0[1].metaData.partitionColumns).toEqual(["seen_date"]);
    expect(JSON.parse(v0[1].metaData.schemaString)).toEqual(CERTSTREAM_TABLE_SCHEMA);

    const entries = realEntries();
    const rows = entries.map((e) => toRow(e));
    const res = await table.append(rows, { txns: [{ appId: "sink-t-0", version: 41 }] });
    expect(res.version).toBe(1);
    expect(res.adds).toHaveLength(1);
    const add = res.adds[0];
    expect(add.partitionValues).toEqual({ seen_date: "2026-05-20" });
    expect(add.path).toMatch(/^seen_date=2026-05-20\/part-00000-[0-9a-f-]+-c000\.zstd\.parquet$/);
    const stats = JSON.parse(add.stats as string);
    expect(stats.numRecords).toBe(20);
    expect(stats.minValues.cert_index).toBe(1111014090);
    expect(stats.maxValues.cert_index).toBe(1111014109);
    expect(stats.nullCount.parse_error).toBe(20);
    expect(stats.nullCount.cert_index).toBe(0);
    expect(stats.minValues.seen).toBe("2026-05-20T12:00:00.000Z");
    expect(stats.minValues.source_url).toBe("https://ct.googleapis.com/logs/us1/argon2026h2/");

    const reread = await DeltaTable.open(storage);
    expect(reread.snapshot.txnVersion("sink-t-0")).toBe(41);
    const got = await reread.rows();
    expect(got).toHaveLength(20);
    got.sort((a, b) => Number(a.cert_index) - Number(b.cert_index));
    for (let i = 0; i < 20; i++) {
      const want = rows[i];
      const r = got[i];
      for (const [k, v] of Object.entries(want)) {
        if (
          k === "cert_index" ||
          k === "not_before" ||
          k === "not_after" ||
          k === "seen" ||
          k === "entry_timestamp" ||
          k === "not_before_ts" ||
          k === "not_after_ts"
        ) {
          expect(r[k], k).toBe(v === null ? null : BigInt(v as number));
        } else if (v instanceof Uint8Array) {
          expect(Buffer.from(r[k] as Uint8Array).equals(Buffer.from(v)), k).toBe(true);
        } else {
          expect(r[k], k).toEqual(v);
        }
      }
    }
  });

  it("reads only the requested columns and prunes files by stats and partition", async () => {
    const table = await DeltaTable.openOrCreate(new LocalStorage(dir), create);
    await table.append(syntheticEntries(300, { start: 0, days: 3 }).map((e) => toRow(e)));
    await table.append(syntheticEntries(300, { start: 1000, days: 3 }).map((e) => toRow(e)));
    expect(table.snapshot.numFiles).toBe(6);
    const batches = [];
    for await (const b of table.scan({
      columns: ["source_url", "cert_index"],
      filters: [{ column: "cert_index", op: ">=", value: 1000 }],
    })) {
      batches.push(b);
    }
    expect(batches).toHaveLength(3);
    expect(Object.keys(batches[0].columns).sort()).toEqual(["cert_index", "source_url"]);
    expect(batches.reduce((s, b) => s + b.numRows, 0)).toBe(300);
    const oneDay = table.pruneFiles(table.snapshot, [{ column: "seen_date", op: "=", value: "2026-05-21" }]);
    expect(oneDay).toHaveLength(2);
    const rows = await table.rows({
      columns: ["cert_index", "parse_error", "as_der"],
      filters: [{ column: "cert_index", op: "in", value: [96, 1001] }],
    });
    expect(new Set(rows.map((r) => r.cert_index))).toEqual(new Set([96n, 1001n]));
    const pe = rows.find((r) => r.cert_index === 96n);
    expect(pe?.parse_error).toMatch(/^asn1: /);
    expect(pe?.as_der).toBeNull();
  });

  it("never overwrites a commit: a lost race moves to the next version and keeps both", async () => {
    const storage = new LocalStorage(dir);
    const a = await DeltaTable.openOrCreate(storage, create);
    const b = await DeltaTable.open(storage);
    const rows = realEntries().map((e) => toRow(e));
    let conflicts = 0;
    const c = await DeltaTable.open(storage, { onCommitConflict: () => conflicts++ });
    await a.append(rows.slice(0, 5));
    // b and c still believe the table is at version 0.
    const [rb, rc] = await Promise.all([b.append(rows.slice(5, 10)), c.append(rows.slice(10, 20))]);
    expect(new Set([rb.version, rc.version])).toEqual(new Set([2, 3]));
    expect(await new LocalStorage(dir).putIfAbsent(commitPath(1), new Uint8Array([1]))).toBe(false);
    const all = await (await DeltaTable.open(storage)).rows({ columns: ["cert_index"] });
    expect(all).toHaveLength(20);
  });

  it("refuses a commit whose expected txn version moved (another writer took the partition)", async () => {
    const storage = new LocalStorage(dir);
    const a = await DeltaTable.openOrCreate(storage, create);
    const b = await DeltaTable.open(storage);
    const rows = realEntries().map((e) => toRow(e));
    await a.append(rows.slice(0, 5), {
      txns: [{ appId: "p0", version: 4 }],
      expectedTxns: new Map([["p0", undefined]]),
    });
    const before = (await readdir(join(dir, "seen_date=2026-05-20"))).length;
    await expect(
      b.append(rows.slice(0, 5), {
        txns: [{ appId: "p0", version: 4 }],
        expectedTxns: new Map([["p0", undefined]]),
      }),
    ).rejects.toBeInstanceOf(CommitConflictError);
    // The refused commit's data file was removed again.
    expect((await readdir(join(dir, "seen_date=2026-05-20"))).length).toBe(before);
    const r = await b.append(rows.slice(5, 10), {
      txns: [{ appId: "p0", version: 9 }],
      expectedTxns: new Map([["p0", 4]]),
    });
    expect(r.version).toBe(2);
    expect((await DeltaTable.open(storage)).snapshot.txnVersion("p0")).toBe(9);
  });

  it("checkpoints every N commits; a reader starts from the checkpoint with txns and files intact", async () => {
    const storage = new LocalStorage(dir);
    const results: boolean[] = [];
    const t = await DeltaTable.openOrCreate(storage, create, {
      checkpointInterval: 3,
      onCheckpoint: (r) => results.push(r.ok),
    });
    const entries = syntheticEntries(70);
    for (let i = 0; i < 7; i++) {
      await t.append(
        entries.slice(i * 10, i * 10 + 10).map((e) => toRow(e)),
        { txns: [{ appId: "p0", version: i * 10 + 9 }] },
      );
    }
    expect(results).toEqual([true, true]);
    const last = JSON.parse(await readFile(join(dir, "_delta_log", "_last_checkpoint"), "utf8"));
    expect(last.version).toBe(6);
    expect(last.numOfAddFiles).toBe(6);
    // Remove the commits the checkpoint covers: the table must still load from it.
    for (let v = 0; v <= 6; v++) await storage.delete(commitPath(v));
    const r = await DeltaTable.open(storage);
    expect(r.version).toBe(7);
    expect(r.snapshot.txnVersion("p0")).toBe(69);
    expect(r.snapshot.numFiles).toBe(7);
    expect(await r.rows({ columns: ["cert_index"] })).toHaveLength(70);
    expect(r.snapshot.schema).toEqual(CERTSTREAM_TABLE_SCHEMA);
  });

  it("optimize compacts small files of closed partitions with dataChange=false, rows unchanged", async () => {
    const storage = new LocalStorage(dir);
    const t = await DeltaTable.openOrCreate(storage, create);
    for (let i = 0; i < 5; i++)
      await t.append(syntheticEntries(40, { start: i * 40, days: 2 }).map((e) => toRow(e)));
    expect(t.snapshot.numFiles).toBe(10);
    const before = (await t.rows({ columns: ["cert_index", "seen_date", "sha256"] }))
      .map((r) => JSON.stringify(r, (_, v) => (typeof v === "bigint" ? String(v) : v)))
      .sort();
    const res = await optimize(t, { partitionFilter: (pv) => (pv.seen_date ?? "") < "2026-05-21" });
    expect(res.filesRemoved).toBe(5);
    expect(res.filesAdded).toBe(1);
    const reread = await DeltaTable.open(storage);
    expect(reread.snapshot.numFiles).toBe(6);
    const after = (await reread.rows({ columns: ["cert_index", "seen_date", "sha256"] }))
      .map((r) => JSON.stringify(r, (_, v) => (typeof v === "bigint" ? String(v) : v)))
      .sort();
    expect(after).toEqual(before);
    const actions = (await new DeltaLog(storage).readCommit(reread.version)) ?? [];
    const add = actions.find((a) => a.add)?.add as { dataChange: boolean; stats: string };
    expect(add.dataChange).toBe(false);
    expect(JSON.parse(add.stats).numRecords).toBe(100);
    expect(
      actions
        .filter((a) => a.remove)
        .every((a) => (a.remove as { dataChange: boolean }).dataChange === false),
    ).toBe(true);
    // Nothing left to do the second time.
    expect(
      (await optimize(t, { partitionFilter: (pv) => (pv.seen_date ?? "") < "2026-05-21" })).filesAdded,
    ).toBe(0);
  });
});

describe("scanArchivedKeys", () => {
  it("returns (log_id, cert_index) pairs and prunes files by log and index range", async () => {
    const { scanArchivedKeys } = await import("../src/index.ts");
    const table = await DeltaTable.openOrCreate(new LocalStorage(dir), create);
    await table.append(syntheticEntries(200, { start: 0, logs: 2 }).map((e) => toRow(e)));
    await table.append(syntheticEntries(200, { start: 5000, logs: 2 }).map((e) => toRow(e)));
    const got: [unknown, unknown][] = [];
    const files = new Set<string>();
    for await (const k of scanArchivedKeys(table, { logId: "synthetic-log-1", minIndex: 5000 })) {
      files.add(k.file);
      for (let i = 0; i < k.indexes.length; i++)
        if (k.logIds[i] === "synthetic-log-1") got.push([k.logIds[i], k.indexes[i]]);
    }
    expect(files.size).toBe(1);
    expect(got.length).toBe(100);
    expect(got.every(([, i]) => (i as bigint) >= 5000n && (i as bigint) % 2n === 1n)).toBe(true);
  });
});

describe("optimize while writers append", () => {
  it("commits around concurrent appends (to the same partition too): every row exactly once", async () => {
    const storage = new LocalStorage(dir);
    const writer = await DeltaTable.openOrCreate(storage, create, { checkpointInterval: 4 });
    const closed = (i: number) =>
      syntheticEntries(30, { start: i * 30, firstDayMicros: Date.UTC(2026, 4, 20) * 1000 });
    for (let i = 0; i < 6; i++) await writer.append(closed(i).map((e) => toRow(e)));
    const optimizer = await DeltaTable.open(storage);
    let n = 6;
    const appends = (async () => {
      for (; n < 14; n++)
        await writer.append(
          closed(n).map((e) => toRow(e)),
          { txns: [{ appId: "w", version: n }] },
        );
    })();
    const res = await optimize(optimizer, { partitionFilter: () => true });
    await appends;
    expect(res.filesAdded).toBeGreaterThanOrEqual(1);
    const keys = (await (await DeltaTable.open(storage)).rows({ columns: ["cert_index"] })).map((r) =>
      Number(r.cert_index),
    );
    expect(keys.length).toBe(14 * 30);
    expect(new Set(keys).size).toBe(14 * 30);
    expect((await DeltaTable.open(storage)).snapshot.txnVersion("w")).toBe(13);
  });

  it("a second optimize racing for the same files abandons its bin cleanly", async () => {
    const storage = new LocalStorage(dir);
    const t = await DeltaTable.openOrCreate(storage, create);
    for (let i = 0; i < 4; i++) await t.append(syntheticEntries(20, { start: i * 20 }).map((e) => toRow(e)));
    const a = await DeltaTable.open(storage);
    const b = await DeltaTable.open(storage);
    const [ra, rb] = await Promise.all([optimize(a), optimize(b)]);
    expect(ra.filesAdded + rb.filesAdded).toBe(1);
    expect(ra.conflicts + rb.conflicts).toBe(1);
    const reread = await DeltaTable.open(storage);
    expect(reread.snapshot.numFiles).toBe(1);
    expect(await reread.rows({ columns: ["cert_index"] })).toHaveLength(80);
    // The loser's rewritten file was deleted: only the live file remains in the partition directory.
    const { readdir } = await import("node:fs/promises");
    expect(
      (await readdir(join(dir, "seen_date=2026-05-20"))).filter((f) => f.endsWith(".parquet")),
    ).toHaveLength(5);
  });
});

describe("vacuum", () => {
  it("deletes unreferenced data files past the retention, keeps live and recent ones", async () => {
    const { vacuum } = await import("../src/index.ts");
    const { utimes, writeFile: wf } = await import("node:fs/promises");
    const storage = new LocalStorage(dir);
    const t = await DeltaTable.openOrCreate(storage, create);
    for (let i = 0; i < 3; i++) await t.append(syntheticEntries(10, { start: i * 10 }).map((e) => toRow(e)));
    await optimize(t);
    // An orphan as a killed writer leaves it, old, and a fresh one (a commit may be in flight).
    await wf(join(dir, "seen_date=2026-05-20", "part-00000-orphan-old-c000.zstd.parquet"), "x");
    await wf(join(dir, "seen_date=2026-05-20", "part-00000-orphan-new-c000.zstd.parquet"), "x");
    const old = new Date(Date.now() - 10 * 24 * 3600 * 1000);
    for (const f of await readdir(join(dir, "seen_date=2026-05-20"))) {
      if (!f.includes("orphan-new")) await utimes(join(dir, "seen_date=2026-05-20", f), old, old);
    }
    const res = await vacuum(t);
    expect(res.deleted.sort()).toHaveLength(4); // 3 compacted-away files + the old orphan
    const left = await readdir(join(dir, "seen_date=2026-05-20"));
    expect(left.filter((f) => f.endsWith(".parquet"))).toHaveLength(2);
    expect(await (await DeltaTable.open(storage)).rows({ columns: ["cert_index"] })).toHaveLength(30);
  });
});

describe("ParquetWriter plainColumns", () => {
  const encodings = (bytes: Uint8Array): Record<string, string[]> => {
    const md = parquetMetadata(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    return Object.fromEntries(
      md.row_groups[0].columns.map((c) => [
        c.meta_data?.path_in_schema[0] ?? "",
        c.meta_data?.encodings ?? [],
      ]),
    );
  };
  const rows = syntheticEntries(300).map((e) => toRow(e));

  it("a plain flat column loses its dictionary, the others keep theirs", () => {
    const enc = encodings(
      new ParquetWriter(CERTSTREAM_TABLE_SCHEMA, { plainColumns: ["log_name"] }).write(rows).bytes,
    );
    expect(enc.log_name).not.toContain("RLE_DICTIONARY");
    expect(enc.source_name).toContain("RLE_DICTIONARY");
    expect(enc.all_domains).toContain("RLE_DICTIONARY");
  });

  it("a plain list column makes every list plain and keeps the other flat columns' dictionaries", () => {
    // parquet-wasm ignores a per-column setting for a list's element column; the writer works around it.
    const enc = encodings(
      new ParquetWriter(CERTSTREAM_TABLE_SCHEMA, { plainColumns: ["registered_domains", "sha256"] }).write(
        rows,
      ).bytes,
    );
    expect(enc.registered_domains).not.toContain("RLE_DICTIONARY");
    expect(enc.all_domains).not.toContain("RLE_DICTIONARY");
    expect(enc.chain).not.toContain("RLE_DICTIONARY");
    expect(enc.sha256).not.toContain("RLE_DICTIONARY");
    expect(enc.source_name).toContain("RLE_DICTIONARY");
  });
});
