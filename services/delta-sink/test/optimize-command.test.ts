import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  CERTSTREAM_WRITER_OPTIONS,
  DeltaTable,
  LocalStorage,
  toRow,
} from "@certstream/delta";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticEntries } from "../../../libs/delta/test/fixtures/entries.ts";
import { readWithDeltaRs } from "../../../libs/delta/test/python.ts";
import { repoRoot } from "../../../test/stack.ts";
import { writeSinkConfig } from "./harness.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "delta-optimize-cmd-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The command's result line (stdout also carries the JSON log lines, in no guaranteed order). */
function resultLine(stdout: string): Record<string, unknown> {
  for (const line of stdout.trim().split("\n")) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (!("msg" in o)) return o;
    } catch {
      // not JSON: ignore
    }
  }
  throw new Error(`no result line in ${stdout}`);
}

const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [join(repoRoot, "services/delta-sink/src/main.ts"), ...args], {
    cwd: repoRoot,
  });

describe("main.ts optimize / vacuum", () => {
  it("compacts the closed date partitions only, rows unchanged, delta-rs agrees", async () => {
    const tablePath = join(dir, "table");
    const t = await DeltaTable.openOrCreate(
      new LocalStorage(tablePath),
      { schema: CERTSTREAM_TABLE_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS },
      { writer: CERTSTREAM_WRITER_OPTIONS },
    );
    // 3 days (2026-05-20..22), 6 appends → 6 small files per day.
    for (let i = 0; i < 6; i++)
      await t.append(syntheticEntries(90, { start: i * 90, days: 3 }).map((e) => toRow(e)));
    const config = await writeSinkConfig(dir, {
      topics: { entries: "unused-entries", backfill: "unused-backfill", partitions: 1 },
      groupId: "unused",
      tablePath,
    });
    const { stdout } = await run(["optimize", "--config", config, "--before", "2026-05-22"]);
    const result = resultLine(stdout);
    expect(result).toMatchObject({ partitionsCompacted: 2, filesRemoved: 12, filesAdded: 2, conflicts: 0 });
    const after = await DeltaTable.open(new LocalStorage(tablePath));
    const perDay = new Map<string, number>();
    for (const f of after.snapshot.files())
      perDay.set(
        String(f.partitionValues.seen_date),
        (perDay.get(String(f.partitionValues.seen_date)) ?? 0) + 1,
      );
    expect(Object.fromEntries(perDay)).toEqual({ "2026-05-20": 1, "2026-05-21": 1, "2026-05-22": 6 });
    const view = await readWithDeltaRs(tablePath);
    expect(view.rows).toHaveLength(540);
    expect(new Set(view.rows.map((r) => `${r.source_url}#${r.cert_index}`)).size).toBe(540);

    const dry = await run(["vacuum", "--config", config, "--retention-hours", "1", "--dry-run"]);
    expect(resultLine(dry.stdout).deleted).toBe(0); // removed files are still recent
  }, 120_000);
});
