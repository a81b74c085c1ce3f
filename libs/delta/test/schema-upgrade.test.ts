import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  commitPath,
  DeltaTable,
  LocalStorage,
  QUERY_COLUMNS,
  TableStateError,
  toRow,
} from "../src/index.ts";
import { field } from "../src/schema.ts";
import { realEntries, syntheticEntries } from "./fixtures/entries.ts";
import { readWithDeltaRs } from "./python.ts";

/** The archive's schema before the query columns (issue 15): what a table of the previous version has. */
const PREVIOUS_SCHEMA = {
  type: "struct" as const,
  fields: CERTSTREAM_TABLE_SCHEMA.fields.filter((f) => !QUERY_COLUMNS.some((q) => q.name === f.name)),
};
const QUERY_NAMES = QUERY_COLUMNS.map((f) => f.name);
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("a table of the previous version takes the query columns in place", () => {
  it("adds them by one metaData commit; old rows read null (ours and delta-rs), new rows have them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "delta-upgrade-"));
    dirs.push(dir);
    expect(PREVIOUS_SCHEMA.fields).toHaveLength(25);
    const create = { schema: PREVIOUS_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS };
    const old = await DeltaTable.openOrCreate(new LocalStorage(dir), create);
    const oldRows = realEntries().map(toRow);
    await old.append(oldRows, { txns: [{ appId: "sink-entries-0", version: 41 }] });
    expect(old.version).toBe(1);

    // The new version opens it: version 2 is the upgrade, and nothing else.
    const table = await DeltaTable.openOrCreate(new LocalStorage(dir), {
      schema: CERTSTREAM_TABLE_SCHEMA,
      partitionColumns: CERTSTREAM_PARTITION_COLUMNS,
    });
    expect(table.version).toBe(2);
    const commit = (await readFile(join(dir, commitPath(2)), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(commit.map((a) => Object.keys(a)[0])).toEqual(["metaData", "commitInfo"]);
    expect(commit[1].commitInfo.operation).toBe("ADD COLUMNS");
    // The first 25 columns exactly as they were (the reference sink's 20 first), then the query columns.
    expect(table.snapshot.schema).toEqual(CERTSTREAM_TABLE_SCHEMA);
    expect(table.snapshot.metadata?.id).toBe(old.snapshot.metadata?.id);
    expect(table.snapshot.txnVersion("sink-entries-0")).toBe(41);

    // Idempotent: a second writer opening it finds the columns and commits nothing.
    const again = await DeltaTable.openOrCreate(new LocalStorage(dir), {
      schema: CERTSTREAM_TABLE_SCHEMA,
      partitionColumns: CERTSTREAM_PARTITION_COLUMNS,
    });
    expect(again.version).toBe(2);

    const newRows = syntheticEntries(40, { start: 9000, logs: 2, days: 1 }).map(toRow);
    await table.append(newRows);

    const mine = await table.rows({ columns: ["cert_index", "source_url", ...QUERY_NAMES] });
    const key = (r: Record<string, unknown>) => `${r.source_url}#${r.cert_index}`;
    const oldKeys = new Set(oldRows.map(key));
    expect(mine).toHaveLength(oldRows.length + newRows.length);
    for (const r of mine) {
      if (oldKeys.has(key(r))) for (const q of QUERY_NAMES) expect(r[q], q).toBeNull();
    }
    const fresh = mine.filter((r) => !oldKeys.has(key(r)) && r.subject_cn !== null);
    expect(fresh.length).toBeGreaterThan(0);

    const view = await readWithDeltaRs(dir);
    expect(view.delta_schema.fields.map((f) => [f.name, f.type, f.nullable])).toEqual(
      CERTSTREAM_TABLE_SCHEMA.fields.map((f) => [f.name, f.type, f.nullable]),
    );
    expect(view.rows).toHaveLength(oldRows.length + newRows.length);
    const rsOld = view.rows.filter((r) => oldKeys.has(key(r)));
    expect(rsOld).toHaveLength(oldRows.length);
    for (const r of rsOld) for (const q of QUERY_NAMES) expect(r[q], q).toBeNull();
    const byKey = new Map(newRows.map((r) => [key(r), r]));
    let compared = 0;
    for (const r of view.rows) {
      const w = byKey.get(key(r));
      if (!w) continue;
      for (const q of [
        "subject_cn",
        "issuer_cn",
        "issuer_o",
        "log_name",
        "key_algorithm",
        "key_bits",
      ] as const) {
        expect(r[q], q).toEqual(w[q]);
      }
      expect(r.registered_domains).toEqual(w.registered_domains);
      expect(r.validation_level).toEqual(w.validation_level);
      if (w.not_after_ts !== null) {
        expect(Date.parse(String(r.not_after_ts))).toBe(w.not_after_ts / 1000);
      }
      compared++;
    }
    expect(compared).toBe(newRows.length);
  }, 60_000);

  it("refuses to add a non-nullable column to an existing table, naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "delta-upgrade-"));
    dirs.push(dir);
    const create = { schema: PREVIOUS_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS };
    await DeltaTable.openOrCreate(new LocalStorage(dir), create);
    const wanted = {
      type: "struct" as const,
      fields: [...PREVIOUS_SCHEMA.fields, field("must", "long", false)],
    };
    const err = await DeltaTable.openOrCreate(new LocalStorage(dir), {
      schema: wanted,
      partitionColumns: CERTSTREAM_PARTITION_COLUMNS,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TableStateError);
    expect(String(err)).toMatch(/no column must.*non-nullable/);
  });
});
