import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CertificateEntry } from "@certstream/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticEntries } from "../../../libs/delta/test/fixtures/entries.ts";
import { readWithDeltaRs } from "../../../libs/delta/test/python.ts";
import { uniqueName } from "../../../test/stack.ts";
import {
  createTopics,
  EntryProducer,
  entryKeyOf,
  type SinkProcess,
  spawnSink,
  tableKeyCounts,
  testKafka,
  waitCaughtUp,
  writeSinkConfig,
} from "./harness.ts";

const APP = "certstream-delta-sink";
let dir: string;
const kafka = testKafka("delta-sink-kill9");
const producer = new EntryProducer(kafka);
const running: SinkProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "delta-kill9-"));
});
afterAll(async () => {
  for (const p of running) p.proc.signal("SIGKILL");
  await producer.disconnect().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

describe("delta-sink process killed with SIGKILL during a load", () => {
  it("ends with every (source_url, cert_index) exactly once after several kill -9 cycles, two replicas for part of it", async () => {
    const topics = await createTopics(kafka, 3);
    await producer.connect([topics.entries, topics.backfill]);
    const tablePath = join(dir, "table");
    const config = await writeSinkConfig(dir, {
      topics,
      groupId: uniqueName("dsink-kill9"),
      tablePath,
      batchSize: 700,
      flushIntervalSecs: 1,
      checkpointInterval: 5,
    });
    const logFile = join(dir, "sinks.log");

    // Load: 12,000 entries + 1,500 backfill produced in chunks while the sinks are being killed.
    const produced: CertificateEntry[] = [];
    const load = (async () => {
      for (let c = 0; c < 12; c++) {
        const chunk = syntheticEntries(1000, { start: c * 1000, logs: 3, days: 2 });
        await producer.send(topics.entries, chunk);
        produced.push(...chunk);
        if (c % 4 === 3) {
          const bf = syntheticEntries(500, { start: 1_000_000 + c * 500, logs: 2 });
          await producer.send(topics.backfill, bf);
          produced.push(...bf);
        }
        await sleep(1200);
      }
    })();

    const kills: string[] = [];
    for (let cycle = 0; cycle < 5; cycle++) {
      const a = spawnSink(config, logFile);
      running.push(a);
      await a.url;
      // Cycles 1 and 2 run a second replica in the same group: partitions move between them.
      const b = cycle === 1 || cycle === 2 ? spawnSink(config, logFile) : null;
      if (b) running.push(b);
      await sleep(rand(2500, 6000));
      if (b) {
        await b.proc.kill9();
        kills.push(`cycle ${cycle}: replica b`);
        await sleep(rand(500, 2500));
      }
      await a.proc.kill9();
      kills.push(`cycle ${cycle}: replica a`);
    }
    await load;
    // The killed replicas did archive part of the load (the kills interrupted real work).
    const beforeLast = (await tableKeyCounts(tablePath)).size;
    expect(beforeLast).toBeGreaterThan(0);

    // A last replica drains the backlog, then stops gracefully (SIGTERM → flush, exit 0).
    const last = spawnSink(config, logFile);
    running.push(last);
    await last.url;
    await waitCaughtUp(kafka, tablePath, [topics.entries, topics.backfill], APP, 180_000);
    last.proc.signal("SIGTERM");
    expect(await last.proc.exited).toBe(0);

    const counts = await tableKeyCounts(tablePath);
    const dups = [...counts].filter(([, n]) => n > 1);
    expect(dups.slice(0, 5), `duplicates after ${kills.join(", ")}`).toEqual([]);
    const want = new Set(produced.map(entryKeyOf));
    const missing = [...want].filter((k) => !counts.has(k));
    expect(missing.slice(0, 5), `missing ${missing.length}`).toEqual([]);
    expect(counts.size).toBe(want.size);
    // The independent reader agrees.
    const view = await readWithDeltaRs(tablePath);
    expect(view.rows).toHaveLength(want.size);
    await writeFile(join(dir, "kills.txt"), kills.join("\n"));
  }, 420_000);

  it("reports unready while the table cannot be created and recovers when it can", async () => {
    const topics = await createTopics(kafka, 1);
    await producer.connect([topics.entries, topics.backfill]);
    const blocker = join(dir, "blocker");
    await writeFile(blocker, "a file where the table's parent directory should be");
    const tablePath = join(blocker, "table");
    const entries = syntheticEntries(300, { start: 0 });
    await producer.send(topics.entries, entries);
    const config = await writeSinkConfig(dir, { topics, groupId: uniqueName("dsink-unready"), tablePath });
    const p = spawnSink(config, join(dir, "unready.log"));
    running.push(p);
    const url = await p.url;
    await sleep(2000);
    const notReady = await fetch(`${url}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { table_open: boolean }).table_open).toBe(false);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/certstream_delta_table_ready 0/);
    expect(metrics).toMatch(/certstream_delta_write_errors_total\{kind="storage"\} [1-9]/);
    await rm(blocker);
    await waitCaughtUp(kafka, tablePath, [topics.entries], APP, 60_000);
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await fetch(`${url}/health/ready`)).status;
      if (status !== 200) await sleep(300);
    }
    expect(status).toBe(200);
    p.proc.signal("SIGTERM");
    expect(await p.proc.exited).toBe(0);
    expect((await tableKeyCounts(tablePath)).size).toBe(entries.length);
  }, 120_000);
});
