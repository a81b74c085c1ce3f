import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  CERTSTREAM_WRITER_OPTIONS,
  type CertstreamRow,
  DeltaTable,
  LocalStorage,
  optimize,
  toRow,
} from "../src/index.ts";
import { realEntries, syntheticEntries } from "./fixtures/entries.ts";
import { type DeltaRsView, readWithDeltaRs } from "./python.ts";

/** The table as delta-rs (Python `deltalake`) reads it must hold exactly the rows we wrote. */
let dir: string;
let written: CertstreamRow[];
let view: DeltaRsView;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "delta-pyread-"));
  const table = await DeltaTable.openOrCreate(
    new LocalStorage(dir),
    { schema: CERTSTREAM_TABLE_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS },
    { checkpointInterval: 4, writer: CERTSTREAM_WRITER_OPTIONS },
  );
  written = [...realEntries(), ...syntheticEntries(500, { start: 5000, logs: 3, days: 3 })].map((e) =>
    toRow(e),
  );
  // 10 commits (so delta-rs meets a checkpoint at 4 and 8), then an optimize of the closed days.
  for (let i = 0; i < 10; i++) {
    const part = written.filter((_, k) => k % 10 === i);
    await table.append(part, { txns: [{ appId: "delta-sink-certstream.entries.v1-0", version: 100 + i }] });
  }
  await optimize(table, { partitionFilter: (pv) => (pv.seen_date ?? "") < "2026-05-22" });
  view = await readWithDeltaRs(dir, ["delta-sink-certstream.entries.v1-0", "unknown-app"]);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = (r: Record<string, unknown>) => `${r.source_url}#${r.cert_index}`;

describe("independent reader: delta-rs", () => {
  it("sees protocol (1,2), the partitioning, our schema and the txn versions", () => {
    expect(view.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    expect(view.partition_columns).toEqual(["seen_date"]);
    expect(view.delta_schema.fields.map((f) => [f.name, f.type, f.nullable])).toEqual(
      CERTSTREAM_TABLE_SCHEMA.fields.map((f) => [f.name, f.type, f.nullable]),
    );
    const arrowTypes = Object.fromEntries(view.schema.map(([n, t]) => [n, t]));
    expect(arrowTypes.cert_index).toBe("int64");
    expect(arrowTypes.seen).toMatch(/timestamp\[us, tz=UTC\]/);
    expect(arrowTypes.as_der).toMatch(/binary/);
    expect(arrowTypes.all_domains).toMatch(/list<.*string/);
    expect(view.txns["delta-sink-certstream.entries.v1-0"]).toBe(109);
    expect(view.txns["unknown-app"]).toBeNull();
  });

  it("finds exactly the rows written: count and keys, no duplicates", () => {
    expect(view.rows).toHaveLength(written.length);
    const keys = view.rows.map(key);
    expect(new Set(keys).size).toBe(written.length);
    expect(new Set(keys)).toEqual(new Set(written.map(key)));
  });

  it("has the same value in every column for a sample (every real entry and every 25th synthetic one)", () => {
    const byKey = new Map(view.rows.map((r) => [key(r), r]));
    const sample = written.filter((_, i) => i < 20 || i % 25 === 0);
    for (const w of sample) {
      const r = byKey.get(key(w));
      expect(r, key(w)).toBeDefined();
      if (!r) continue;
      for (const [k, v] of Object.entries(w)) {
        const got = r[k];
        if (v instanceof Uint8Array) expect(got, k).toEqual({ b64: Buffer.from(v).toString("base64") });
        else if ((k === "not_before_ts" || k === "not_after_ts") && v === null) expect(got, k).toBeNull();
        else if (k === "seen" || k === "entry_timestamp" || k === "not_before_ts" || k === "not_after_ts") {
          const us = v as number;
          const iso = new Date(Math.floor(us / 1000)).toISOString().slice(0, 19);
          const frac = String(us % 1_000_000).padStart(6, "0");
          expect(got, k).toBe(`${iso}.${frac}+00:00`.replace(".000000+", "+"));
        } else expect(got, k).toEqual(v);
      }
    }
  });
});
