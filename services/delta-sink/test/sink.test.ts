import { spawnSync } from "node:child_process";
import {
  closeSync,
  type Dirent,
  ftruncateSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { CERTSTREAM_TABLE_SCHEMA, DeltaTable, LocalStorage, toRow } from "@certstream/delta";
import { CertificateEntryCodec, createKafka } from "@certstream/kafka";
import { registry } from "@certstream/metrics";
import type { CertificateEntry } from "@certstream/schema";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realEntries, syntheticEntries } from "../../../libs/delta/test/fixtures/entries.ts";
import { readWithDeltaRs } from "../../../libs/delta/test/python.ts";
import { kafkaBrokers, registryUrl, uniqueName } from "../../../test/stack.ts";
import { DeltaSink } from "../src/sink.ts";
import {
  createTopics,
  EntryProducer,
  entryKeyOf,
  logger,
  tableKeyCounts,
  testKafka,
  waitCaughtUp,
} from "./harness.ts";

const APP = "certstream-delta-sink";
let dir: string;
let kafka: Kafka;
let producer: EntryProducer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "delta-sink-"));
  kafka = testKafka();
  producer = new EntryProducer(kafka);
});
afterAll(async () => {
  await producer.disconnect().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

function sink(o: {
  kafka: Kafka;
  tablePath: string;
  topics: string[];
  groupId: string;
  batchSize?: number;
  maxBuffered?: number;
}): DeltaSink {
  return new DeltaSink({
    kafka: o.kafka,
    decoder: new CertificateEntryCodec({ registryUrl: registryUrl() }),
    storage: new LocalStorage(o.tablePath),
    topics: o.topics,
    groupId: o.groupId,
    appId: APP,
    batchSize: o.batchSize ?? 1000,
    maxBatchBytes: 64 * 1024 * 1024,
    flushIntervalMs: 500,
    maxBufferedRecords: o.maxBuffered ?? 100_000,
    retryMaxBackoffMs: 1000,
    checkpointInterval: 5,
    logger,
  });
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const vals = (m?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return vals
    .filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))
    .reduce((s, v) => s + v.value, 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Grows `path` until its file system refuses a write, then gives back `leave` bytes of it. */
function fillLeaving(path: string, leave: number): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  let size = 0;
  try {
    for (let n = chunk.length; n >= 512; ) {
      try {
        size += writeSync(fd, chunk, 0, n);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        n >>= 1;
      }
    }
    ftruncateSync(fd, Math.max(0, size - leave));
  } finally {
    closeSync(fd);
  }
}

/** The files under a table's root outside its log (data files, and temporary ones), relative to it. */
function dataFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((d) => d.isFile())
    .map((d) => relative(root, join(d.parentPath, d.name)))
    .filter((p) => !p.startsWith("_delta_log"));
}

function expectExactly(counts: Map<string, number>, entries: CertificateEntry[]): void {
  const dups = [...counts].filter(([, n]) => n > 1);
  expect(dups.slice(0, 5), "duplicated (source_url, cert_index)").toEqual([]);
  const want = new Set(entries.map(entryKeyOf));
  const missing = [...want].filter((k) => !counts.has(k));
  expect(missing.slice(0, 5), `missing ${missing.length} rows`).toEqual([]);
  expect(counts.size).toBe(want.size);
}

describe("delta-sink against the real broker and registry", () => {
  it("archives entries and backfill exactly once; delta-rs reads the same rows, schema, partitioning and txns; a restart adds only new rows", async () => {
    const topics = await createTopics(kafka, 3);
    await producer.connect([topics.entries, topics.backfill]);
    const tablePath = join(dir, "e2e");
    const live = [...realEntries(), ...syntheticEntries(1500, { start: 0, logs: 3, days: 2 })];
    const backfill = syntheticEntries(300, { start: 100_000, logs: 2 });
    await producer.send(topics.entries, live);
    await producer.send(topics.backfill, backfill);
    const groupId = uniqueName("dsink-e2e");
    const before = await metric("certstream_delta_records_written_total");
    const s1 = sink({ kafka, tablePath, topics: [topics.entries, topics.backfill], groupId });
    void s1.start();
    await waitCaughtUp(kafka, tablePath, [topics.entries, topics.backfill], APP);
    await s1.stop();
    expect((await metric("certstream_delta_records_written_total")) - before).toBe(
      live.length + backfill.length,
    );

    const all = [...live, ...backfill];
    expectExactly(await tableKeyCounts(tablePath), all);

    const view = await readWithDeltaRs(tablePath, [`${APP}-${topics.entries}-0`]);
    expect(view.partition_columns).toEqual(["seen_date"]);
    expect(view.delta_schema.fields.map((f) => f.name)).toEqual(
      CERTSTREAM_TABLE_SCHEMA.fields.map((f) => f.name),
    );
    expect(view.rows).toHaveLength(all.length);
    expect(view.txns[`${APP}-${topics.entries}-0`]).toBeGreaterThan(0);
    const byKey = new Map(view.rows.map((r) => [`${r.source_url}#${r.cert_index}`, r]));
    for (const e of [...realEntries(), ...all.filter((_, i) => i % 50 === 0)]) {
      const want = toRow(e);
      const got = byKey.get(entryKeyOf(e));
      expect(got, entryKeyOf(e)).toBeDefined();
      for (const [k, v] of Object.entries(want)) {
        // Timestamps are compared as µs in libs/delta's delta-rs test; here: present or null alike.
        if (k === "seen" || k === "entry_timestamp" || k === "not_before_ts" || k === "not_after_ts") {
          expect(got?.[k] === null, k).toBe(v === null);
          continue;
        }
        if (v instanceof Uint8Array) expect(got?.[k], k).toEqual({ b64: Buffer.from(v).toString("base64") });
        else expect(got?.[k], k).toEqual(v);
      }
    }

    // Restart with more records: only the new ones are added.
    const more = syntheticEntries(500, { start: 200_000 });
    await producer.send(topics.entries, more);
    const s2 = sink({ kafka, tablePath, topics: [topics.entries, topics.backfill], groupId });
    void s2.start();
    await waitCaughtUp(kafka, tablePath, [topics.entries, topics.backfill], APP);
    await s2.stop();
    expectExactly(await tableKeyCounts(tablePath), [...all, ...more]);
  }, 180_000);

  it("survives a broker outage: buffered rows are committed, consumption resumes, nothing lost or duplicated", async () => {
    const topics = await createTopics(kafka, 2);
    await producer.connect([topics.entries, topics.backfill]);
    const tablePath = join(dir, "outage");
    // The sink's own client reaches the broker through a TCP proxy that can drop every connection and refuse new
    // ones (the broker is shared with other tests, so it keeps running): to the client this is a broker outage.
    let down = false;
    const links = new Set<net.Socket>();
    const [bHost, bPort] = kafkaBrokers()[0].split(":");
    const proxy = net.createServer((client) => {
      if (down) {
        client.destroy();
        return;
      }
      const upstream = net.connect({ host: bHost, port: Number(bPort) });
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) {
        links.add(s);
        s.on("error", () => {});
        s.once("close", () => {
          links.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    const gated = createKafka({
      brokers: kafkaBrokers(),
      clientId: "delta-sink-outage",
      logger,
      kafkaConfig: {
        retry: { retries: 1000, initialRetryTime: 200, maxRetryTime: 2000 },
        // Every broker address in the metadata leads to the proxy (the stack has one broker).
        socketFactory: ({ onConnect }) => net.connect({ host: "127.0.0.1", port: proxyPort }, onConnect),
      },
    });
    const first = syntheticEntries(800, { start: 0 });
    await producer.send(topics.entries, first);
    const s = sink({
      kafka: gated,
      tablePath,
      topics: [topics.entries, topics.backfill],
      groupId: uniqueName("dsink-outage"),
      batchSize: 5000,
    });
    void s.start();
    await waitCaughtUp(kafka, tablePath, [topics.entries], APP);
    down = true;
    for (const sock of links) sock.destroy();
    const during = syntheticEntries(700, { start: 10_000 });
    await producer.send(topics.entries, during);
    await new Promise((r) => setTimeout(r, 8000));
    down = false;
    await waitCaughtUp(kafka, tablePath, [topics.entries], APP, 120_000);
    await s.stop();
    proxy.close();
    expectExactly(await tableKeyCounts(tablePath), [...first, ...during]);
  }, 240_000);

  it("survives an unwritable table path: keeps the batch, pauses when full, recovers when the path is writable again", async () => {
    const topics = await createTopics(kafka, 2);
    await producer.connect([topics.entries, topics.backfill]);
    const tablePath = join(dir, "unwritable");
    const day1 = syntheticEntries(400, { start: 0, firstDayMicros: Date.UTC(2026, 4, 20) * 1000 });
    await producer.send(topics.entries, day1);
    const s = sink({
      kafka,
      tablePath,
      topics: [topics.entries, topics.backfill],
      groupId: uniqueName("dsink-unwritable"),
      batchSize: 200,
      maxBuffered: 300,
    });
    void s.start();
    await waitCaughtUp(kafka, tablePath, [topics.entries], APP);
    // A regular file where the next day's partition directory must go: every data file write fails (ENOTDIR/EEXIST).
    const blocked = join(tablePath, "seen_date=2026-05-25");
    await writeFile(blocked, "not a directory");
    const errorsBefore = await metric("certstream_delta_write_errors_total");
    const day5 = syntheticEntries(1000, { start: 50_000, firstDayMicros: Date.UTC(2026, 4, 25) * 1000 });
    await producer.send(topics.entries, day5);
    const deadline = Date.now() + 30_000;
    while ((await metric("certstream_delta_consumption_paused")) !== 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(await metric("certstream_delta_consumption_paused")).toBe(1);
    expect(await metric("certstream_delta_write_errors_total")).toBeGreaterThan(errorsBefore);
    expect(s.buffered).toBeGreaterThanOrEqual(300);
    await rm(blocked);
    await mkdir(blocked);
    await waitCaughtUp(kafka, tablePath, [topics.entries], APP, 60_000);
    expect(await metric("certstream_delta_consumption_paused")).toBe(0);
    await s.stop();
    expectExactly(await tableKeyCounts(tablePath), [...day1, ...day5]);
    expect((await DeltaTable.open(new LocalStorage(tablePath))).snapshot.partitionColumns).toEqual([
      "seen_date",
    ]);
    expect(await metric("certstream_delta_write_errors_total", { kind: "storage" })).toBeGreaterThan(0);
  }, 180_000);

  it("survives a full disk: a refused write leaves no partial commit, temporary or orphan file, it pauses, and once there is space again every row is in the table once", async () => {
    // A tmpfs of its own (mounting needs root, as the container tests do), filled with a file until a write
    // fails, then left with 0 B, 12 KiB, about one data file and about two free in turn. Each flush writes two
    // data files (two days) and a commit, so the disk fills before the first file, between the two, or at the
    // commit, depending on how much of the flush still fits.
    const disk = join(dir, "disk");
    await mkdir(disk);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", disk], {
      encoding: "utf8",
    });
    expect(mounted.status, `mount -t tmpfs (needs root): ${mounted.stderr}`).toBe(0);
    const tablePath = join(disk, "table");
    const filler = join(disk, "filler");
    let s: DeltaSink | null = null;
    try {
      const topics = await createTopics(kafka, 2);
      await producer.connect([topics.entries, topics.backfill]);
      const all = syntheticEntries(400, { start: 0, days: 2 });
      await producer.send(topics.entries, all);
      s = sink({
        kafka,
        tablePath,
        topics: [topics.entries, topics.backfill],
        groupId: uniqueName("dsink-full"),
        batchSize: 200,
        maxBuffered: 300,
      });
      void s.start();
      await waitCaughtUp(kafka, tablePath, [topics.entries], APP);
      const file = Math.max(...dataFiles(tablePath).map((f) => statSync(join(tablePath, f)).size));
      const page = 4096;
      // Around one data file (the first of a flush fits, the second not) and around two (both fit, the commit
      // may not).
      const around = [
        ...[-2, -1, 0, 1, 2].map((k) => Math.ceil(file / page) * page + k * page),
        ...[0, 1, 2].map((k) => Math.ceil((2 * file) / page) * page + k * page),
      ];

      const rounds: string[] = [];
      let pausedWhileFull = false;
      for (const [round, leave] of [0, 3 * page, ...around].entries()) {
        fillLeaving(filler, leave);
        const refusedBefore = await metric("certstream_delta_write_errors_total", { kind: "storage" });
        const more = syntheticEntries(600, {
          start: 100_000 * (round + 1),
          days: 2,
          firstDayMicros: Date.UTC(2026, 5, 1 + 2 * round) * 1000,
        });
        await producer.send(topics.entries, more);
        // Until a write was refused and consumption paused, or the whole round is in.
        let refused = 0;
        let shown = new Map<string, number>();
        for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
          refused =
            (await metric("certstream_delta_write_errors_total", { kind: "storage" })) - refusedBefore;
          if (refused > 0 && (await metric("certstream_delta_consumption_paused")) === 1) break;
          shown = await tableKeyCounts(tablePath);
          if (shown.size === all.length + more.length) break;
        }
        if ((await metric("certstream_delta_consumption_paused")) === 1) pausedWhileFull = true;
        // While the disk is full the table shows what it showed before plus whole flushes, never part of one.
        shown = await tableKeyCounts(tablePath);
        expect(
          [...shown.values()].every((n) => n === 1),
          "no row twice while full",
        ).toBe(true);
        expect(
          all.every((e) => shown.has(entryKeyOf(e))),
          "every earlier row still there",
        ).toBe(true);
        rounds.push(`${leave / 1024} KiB: ${refused} refused, ${shown.size - all.length} rows in`);
        all.push(...more);
        rmSync(filler);
        await waitCaughtUp(kafka, tablePath, [topics.entries], APP, 60_000);
      }
      await s.stop();
      s = null;
      console.log(`full disk (data files of ~${Math.round(file / 1024)} KiB): ${rounds.join("; ")}`);

      expect(pausedWhileFull, "consumption paused while the disk was full").toBe(true);
      expect(await metric("certstream_delta_consumption_paused")).toBe(0);
      expectExactly(await tableKeyCounts(tablePath), all);
      const files = dataFiles(tablePath);
      expect(
        files.filter((f) => basename(f).startsWith(".tmp-")),
        "temporary files left",
      ).toEqual([]);
      const live = (await DeltaTable.open(new LocalStorage(tablePath))).snapshot
        .files()
        .map((f) => decodeURIComponent(f.path));
      expect(
        files.filter((f) => !live.includes(f)),
        "data files no commit names",
      ).toEqual([]);
      const view = await readWithDeltaRs(tablePath);
      expect(view.rows).toHaveLength(all.length);
      expect(new Set(view.rows.map((r) => `${r.source_url}#${r.cert_index}`)).size).toBe(all.length);
    } finally {
      await s?.stop();
      spawnSync("umount", ["-l", disk]);
    }
  }, 400_000);

  it("counts and skips an undecodable record; the partition's txn still moves past it", async () => {
    const topics = await createTopics(kafka, 1);
    await producer.connect([topics.entries, topics.backfill]);
    const tablePath = join(dir, "undecodable");
    const good = syntheticEntries(50, { start: 0 });
    await producer.send(topics.entries, good.slice(0, 25));
    const raw = kafka.producer();
    await raw.connect();
    await raw.send({
      topic: topics.entries,
      messages: [{ key: "k", value: Buffer.from("not avro, no magic byte") }],
    });
    await raw.disconnect();
    await producer.send(topics.entries, good.slice(25));
    const rejectedBefore = await metric("certstream_delta_records_rejected_total");
    const s = sink({
      kafka,
      tablePath,
      topics: [topics.entries, topics.backfill],
      groupId: uniqueName("dsink-bad"),
    });
    void s.start();
    await waitCaughtUp(kafka, tablePath, [topics.entries], APP);
    await s.stop();
    expect((await metric("certstream_delta_records_rejected_total")) - rejectedBefore).toBe(1);
    expect(
      await metric("certstream_delta_records_rejected_total", { kind: "schema" }),
    ).toBeGreaterThanOrEqual(1);
    expectExactly(await tableKeyCounts(tablePath), good);
  }, 120_000);
});
