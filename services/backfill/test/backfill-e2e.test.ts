/**
 * The backfill job end to end, against the real broker and registry, stand-in CT logs, the real delta-sink process
 * and Python `deltalake` as the independent reader:
 *  - a table with holes (written by the delta sink from a partial live stream) is backfilled; the table then holds
 *    every index exactly once; backfilled rows equal live rows column for column except `seen`;
 *  - an unreachable log fails alone (exit 1) while the others complete; 429/503 Retry-After are honoured;
 *  - a run killed mid-way and run again ends with no hole, no duplicate, and nothing produced twice.
 */
import { join } from "node:path";
import { CertificateEntryCodec } from "@certstream/kafka";
import type { CertificateEntry, LogSource } from "@certstream/schema";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { expectMetrics } from "../../../test/metrics-expect.ts";
import { freePort } from "../../../test/service-process.ts";
import { registryUrl } from "../../../test/stack.ts";
import { entryCoordinates } from "../src/in-flight.ts";
import { readTopicRanges, topicOffsets } from "../src/topic-range-reader.ts";
import {
  type ConfiguredLog,
  createTopics,
  fetchLiveEntries,
  fetchLiveStaticEntries,
  jsonLines,
  keepAllBut,
  logSourceOf,
  publishLive,
  publishState,
  pythonCompare,
  pythonIndices,
  pythonSchema,
  runBackfillCli,
  startSink,
  type Topics,
  tempDir,
  testKafka,
  uniqueTopics,
  waitForSinkToCatchUp,
  writeConfig,
} from "./harness.ts";

async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/gone/`;
}

/** Every (log, index) in a topic, read_committed, with how often it occurs. */
async function topicCoordinates(kafka: Kafka, topic: string): Promise<Map<string, number>> {
  const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
  const offsets = await topicOffsets(kafka, topic);
  const counts = new Map<string, number>();
  await readTopicRanges(kafka, {
    topic,
    ranges: [...offsets].map(([partition, o]) => ({ partition, start: o.low, end: o.high })),
    groupPrefix: "bf-test-read",
    timeoutMs: 60_000,
    onMessage: async (_p, m) => {
      const c = await entryCoordinates(m, (v) => codec.decode(v));
      if (!c) throw new Error("record without coordinates in the backfill topic");
      const k = `${c.logId}#${c.index}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    },
  });
  return counts;
}

interface Fixture {
  conf: ConfiguredLog;
  source: LogSource;
  entries: CertificateEntry[];
}

function fixtureOf(server: StandInServer, name: string, size: number): Promise<Fixture> {
  const log = server.rfc(name);
  const conf = { name, url: server.url(name), operator: log.operator, key: log.key.publicKeyBase64 };
  const source = logSourceOf(conf, log.key.logIdBase64);
  return fetchLiveEntries(source, size).then((entries) => ({ conf, source, entries }));
}

describe("backfill job (real broker, registry, delta sink, stand-in logs)", () => {
  const server = new StandInServer({
    rfc6962: [
      { name: "alpha", initialSize: 300, mode: "distinct", pageSize: 32, operator: "Op A", certSeed: 1 },
      { name: "beta", initialSize: 200, mode: "distinct", pageSize: 32, operator: "Op B", certSeed: 2 },
      { name: "gamma", initialSize: 150, mode: "distinct", pageSize: 32, operator: "Op C", certSeed: 3 },
      { name: "delta", initialSize: 3000, mode: "distinct", pageSize: 32, operator: "Op D", certSeed: 4 },
    ],
    // 1000 entries: three full data tiles and a partial one at the right edge.
    static: [{ name: "tiles", initialSize: 1000, mode: "distinct", operator: "Op T", certSeed: 5 }],
  });
  let kafka: Kafka;
  const dir = tempDir("backfill-e2e");
  const fx: Record<string, Fixture> = {};

  beforeAll(async () => {
    await server.start();
    kafka = testKafka();
    for (const [n, size] of [
      ["alpha", 300],
      ["beta", 200],
      ["gamma", 150],
      ["delta", 3000],
    ] as const)
      fx[n] = await fixtureOf(server, n, size);
  });

  afterAll(async () => {
    await server.stop();
  });

  it("rejects bad arguments and config with exit code 2 and a message naming what is wrong", async () => {
    const topics = uniqueTopics("bf-args");
    const cfg = writeConfig(dir, "args.yaml", {
      topics,
      tablePath: join(dir, "args-table"),
      logs: [fx.alpha.conf],
    });
    const badFrom = await runBackfillCli(cfg, ["--from", "abc"]);
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toContain('--from: must be a non-negative integer, got "abc"');
    const badLogs = await runBackfillCli(cfg, ["--logs", "nosuchlog"]);
    expect(badLogs.code).toBe(2);
    expect(badLogs.stderr).toContain('--logs: "nosuchlog" matches none of the configured logs (alpha)');
    const badConf = await runBackfillCli(cfg, ["--dry-run"], {
      env: { CERTSTREAM_BACKFILL_WINDOW_SIZE: "0" },
    });
    expect(badConf.code).toBe(2);
    expect(badConf.stderr).toMatch(/invalid configuration: .*backfill\.window_size/);
  });

  it("fills the holes of a sink-written table: every index exactly once, rows equal live rows; an unreachable log fails alone; Retry-After honoured", async () => {
    const topics: Topics = uniqueTopics("bf-main");
    const refTopics: Topics = uniqueTopics("bf-ref");
    await createTopics(kafka, topics);
    await createTopics(kafka, refTopics);
    const table = join(dir, "table");
    const refTable = join(dir, "ref-table");
    const holes = {
      alpha: [
        { start: 10, end: 40 },
        { start: 100, end: 101 },
        { start: 200, end: 260 },
      ],
      beta: [{ start: 50, end: 120 }],
      gamma: [{ start: 20, end: 30 }],
    };
    for (const n of ["alpha", "beta", "gamma"] as const) {
      await publishLive(kafka, topics, fx[n].entries, keepAllBut(holes[n]));
      await publishState(kafka, topics, fx[n].source, fx[n].entries.length);
    }
    // The reference: the complete live stream of alpha, written by a second sink into its own table.
    await publishLive(kafka, refTopics, fx.alpha.entries, () => true);

    const logs = [fx.alpha.conf, fx.beta.conf, fx.gamma.conf];
    const sinkCfg = writeConfig(dir, "sink.yaml", { topics, tablePath: table, logs });
    const refCfg = writeConfig(dir, "ref.yaml", { topics: refTopics, tablePath: refTable, logs });
    const sink = startSink(sinkCfg, join(dir, "sink.log"));
    const refSink = startSink(refCfg, join(dir, "ref-sink.log"));
    try {
      await waitForSinkToCatchUp(kafka, table, topics.entries);
      await waitForSinkToCatchUp(kafka, refTable, refTopics.entries);
      await refSink.stop(20_000);

      const before = await pythonIndices(table);
      expect(before[fx.alpha.source.id].hole_count).toBe(91);
      expect(before[fx.beta.source.id].hole_count).toBe(70);

      // Dry run: lists the gaps per log, changes nothing.
      const dry = await runBackfillCli(sinkCfg, ["--dry-run"]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain("alpha");
      expect(dry.stdout).toMatch(
        /alpha \[[^\]]+\]: 91 missing in 3 gap\(s\) within 0-299 \(upper bound: highest archived \+ 1; 209 archived\): 10-39, 100, 200-259/,
      );
      expect(dry.stdout).toMatch(/beta \[[^\]]+\]: 70 missing in 1 gap\(s\)/);
      expect(dry.stdout).toContain("total: 171 entries missing in 3 log(s)");

      // The real run: gamma is unreachable now (its URL points at a closed port), alpha answers 429/503 at times.
      const runCfg = writeConfig(dir, "run.yaml", {
        topics,
        tablePath: table,
        logs: [fx.alpha.conf, fx.beta.conf, { ...fx.gamma.conf, url: await closedPortUrl() }],
      });
      const alpha = server.rfc("alpha");
      alpha.faults.set({
        seed: 7,
        rateLimited: 0.2,
        unavailable: 0.2,
        retryAfterSecs: 1,
        endpoints: ["get-entries"],
      });
      const served: { t: number; status: number }[] = [];
      const handle = alpha.handle.bind(alpha);
      alpha.handle = async (req, res, path, query) => {
        const t = Date.now();
        res.once("finish", () => served.push({ t, status: res.statusCode }));
        return handle(req, res, path, query);
      };
      const t0 = Date.now();
      const result = await runBackfillCli(runCfg, ["--wait"]);
      alpha.faults.set({});
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(1);
      expect(result.stdout).toMatch(/ok {5}alpha: 91\/91 entries in 3 gap\(s\); verified in the table/);
      expect(result.stdout).toMatch(/ok {5}beta: 70\/70 entries in 1 gap\(s\); verified in the table/);
      expect(result.stdout).toMatch(/FAILED gamma: 0\/10 entries .*unreachable/);
      expect(result.stdout).toMatch(
        /backfill finished with failures: 161 records written, 2\/3 logs completed, 1 failed/,
      );

      // Retry-After: after each 429/503 (1 s), nothing reaches the log until the pause is over, apart from requests
      // already in flight when it was answered.
      const faults = served.filter((s) => s.status === 429 || s.status === 503);
      const statuses = JSON.stringify(served.map((s) => s.status));
      expect(faults.filter((s) => s.status === 429).length, statuses).toBeGreaterThan(0);
      expect(faults.filter((s) => s.status === 503).length, statuses).toBeGreaterThan(0);
      for (const f of faults) {
        const early = served.filter((s) => s.t > f.t + 150 && s.t < f.t + 900);
        expect(early, `requests within Retry-After of the fault at +${f.t - t0} ms`).toEqual([]);
      }

      const after = await pythonIndices(table);
      for (const n of ["alpha", "beta"] as const) {
        const s = after[fx[n].source.id];
        expect(s, n).toMatchObject({
          rows: fx[n].entries.length,
          distinct: fx[n].entries.length,
          min: 0,
          hole_count: 0,
        });
        expect(s.max).toBe(fx[n].entries.length - 1);
        expect(s.dups).toEqual([]);
      }
      expect(after[fx.gamma.source.id].hole_count).toBe(10);

      // Backfilled rows are the live rows, column for column (except seen).
      const cmp = await pythonCompare(refTable, table, fx.alpha.source.id);
      expect(cmp.compared).toBe(300);
      expect(cmp.mismatches).toEqual([]);

      // Nothing was produced twice.
      const produced = await topicCoordinates(kafka, topics.backfill);
      expect(produced.size).toBe(161);
      expect([...produced.values()].every((n) => n === 1)).toBe(true);

      // Run again: nothing left for alpha and beta, gamma still unreachable.
      const again = await runBackfillCli(runCfg, ["--logs", "alpha,beta"]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain("backfill complete: 0 records written, 2/2 logs completed, 0 failed");
    } finally {
      await sink.stop(20_000);
      await refSink.stop(20_000);
    }
  }, 300_000);

  it("--from 0 into a table that does not exist yet: the sink creates it (schema, partitioning) and every index arrives once", async () => {
    const topics = uniqueTopics("bf-from");
    await createTopics(kafka, topics);
    const table = join(dir, "from-table-not-yet");
    const b = fx.beta;
    await publishState(kafka, topics, b.source, 150); // the ingester is at 150: backfill must stop there
    const cfg = writeConfig(dir, "from.yaml", { topics, tablePath: table, logs: [b.conf] });
    const dry = await runBackfillCli(cfg, ["--from", "0", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /beta \[[^\]]+\]: 150 missing in 1 gap\(s\) within 0-149 \(upper bound: ingester position; 0 archived\): 0-149/,
    );
    const catchUp = await runBackfillCli(cfg, ["--dry-run"]);
    expect(catchUp.stdout).toContain("nothing to look at (nothing archived)");
    const sink = startSink(cfg, join(dir, "from-sink.log"));
    try {
      const run = await runBackfillCli(cfg, ["--from", "0", "--wait"]);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain("ok     beta: 150/150 entries in 1 gap(s); verified in the table");
      const s = (await pythonIndices(table))[b.source.id];
      expect(s).toMatchObject({ rows: 150, distinct: 150, min: 0, max: 149, hole_count: 0, dups: [] });
      const schema = await pythonSchema(table);
      expect(schema.partition_columns).toEqual(["seen_date"]);
      expect(schema.columns.slice(0, 20)).toEqual([
        "cert_index",
        "update_type",
        "seen",
        "seen_date",
        "source_name",
        "source_url",
        "cert_link",
        "serial_number",
        "fingerprint",
        "sha256",
        "sha1",
        "not_before",
        "not_after",
        "is_ca",
        "signature_algorithm",
        "subject_aggregated",
        "issuer_aggregated",
        "all_domains",
        "as_der",
        "chain",
      ]);
      expect(schema.columns).toContain("log_id");
    } finally {
      await sink.stop(20_000);
    }
  }, 300_000);

  it("never races the live path: holes still in flight in the entries topic (sink lagging) are not backfilled", async () => {
    const topics = uniqueTopics("bf-lag");
    await createTopics(kafka, topics);
    const table = join(dir, "lag-table");
    const g = fx.gamma;
    const late = { start: 20, end: 30 };
    await publishLive(kafka, topics, g.entries, keepAllBut([late]));
    await publishState(kafka, topics, g.source, g.entries.length);
    const cfg = writeConfig(dir, "lag.yaml", { topics, tablePath: table, logs: [g.conf] });
    let sink = startSink(cfg, join(dir, "lag-sink.log"));
    try {
      await waitForSinkToCatchUp(kafka, table, topics.entries);
      await sink.stop(20_000);
      // The live path delivers 20-29 now, but the sink is down: they are in the topic, not in the table.
      await publishLive(kafka, topics, g.entries, (i) => i >= late.start && i < late.end);
      expect((await pythonIndices(table))[g.source.id].hole_count).toBe(10);
      const dry = await runBackfillCli(cfg, ["--dry-run"]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(
        /gamma \[[^\]]+\]: 0 missing in 0 gap\(s\) within 0-149 .*140 archived, 10 in flight\)/,
      );
      const run = await runBackfillCli(cfg, []);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("backfill complete: 0 records written, 1/1 logs completed");
      sink = startSink(cfg, join(dir, "lag-sink2.log"));
      await waitForSinkToCatchUp(kafka, table, topics.entries);
      const s = (await pythonIndices(table))[g.source.id];
      expect(s).toMatchObject({ rows: 150, distinct: 150, hole_count: 0, dups: [] });
    } finally {
      await sink.stop(20_000);
    }
  }, 300_000);

  it("--wait without a delta sink gives up after wait_timeout_secs: exit 1, the gaps reported as still open", async () => {
    const topics = uniqueTopics("bf-nosink");
    await createTopics(kafka, topics);
    const b = fx.beta;
    await publishState(kafka, topics, b.source, 64);
    const cfg = writeConfig(dir, "nosink.yaml", {
      topics,
      tablePath: join(dir, "nosink-table"),
      logs: [b.conf],
      overrides: { backfill: { wait_timeout_secs: 2 } },
    });
    const run = await runBackfillCli(cfg, ["--from", "0", "--wait"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stdout).toContain(
      "FAILED beta: 64/64 entries in 1 gap(s); NOT all in the table after waiting — 64 entries still missing after waiting: 0-63",
    );
    expect(run.stdout).toContain("the delta sink did not write everything in time");
  }, 120_000);

  it("paces requests by the operator's rate limit (ct_log.operator_rate_limits)", async () => {
    const topics = uniqueTopics("bf-rate");
    await createTopics(kafka, topics);
    const d = fx.delta;
    await publishState(kafka, topics, d.source, 1024);
    const cfg = writeConfig(dir, "rate.yaml", {
      topics,
      tablePath: join(dir, "rate-table"),
      logs: [d.conf],
      overrides: { ct_log: { operator_rate_limits: { [d.conf.operator]: 10 }, default_rate_limit: 1000 } },
    });
    const log = server.rfc("delta");
    const times: number[] = [];
    const handle = log.handle.bind(log);
    log.handle = async (req, res, path, query) => {
      times.push(Date.now());
      return handle(req, res, path, query);
    };
    try {
      const run = await runBackfillCli(cfg, ["--from", "0"]);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain("backfill complete: 1024 records written");
    } finally {
      log.handle = handle;
    }
    // 1024 entries in pages of 32 = 32 get-entries + get-sth: at 10 requests/s with a burst of 10, at least 2.3 s.
    expect(times.length).toBeGreaterThanOrEqual(33);
    expect(times[times.length - 1] - times[0]).toBeGreaterThanOrEqual(2000);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(20);
  }, 120_000);

  it("fills the holes of a static-ct-api log (data tiles, partial right-edge tile) exactly once", async () => {
    const topics = uniqueTopics("bf-static");
    await createTopics(kafka, topics);
    const table = join(dir, "static-table");
    const l = server.static("tiles");
    const conf = {
      name: "tiles",
      url: server.url("tiles"),
      operator: l.operator,
      key: l.key.publicKeyBase64,
      submission_url: `https://${l.origin}/`,
    };
    const source: LogSource = {
      id: l.key.logIdBase64,
      name: "tiles",
      url: conf.url,
      operator: l.operator,
      kind: "static",
    };
    const size = l.size;
    const entries = await fetchLiveStaticEntries(source, size, l.origin);
    expect(entries).toHaveLength(size);
    const holes = [
      { start: 1, end: 300 },
      { start: 520, end: size - 1 },
    ];
    await publishLive(kafka, topics, entries, keepAllBut(holes));
    await publishState(kafka, topics, source, size);
    const cfg = writeConfig(dir, "static.yaml", { topics, tablePath: table, logs: [], staticLogs: [conf] });
    const sink = startSink(cfg, join(dir, "static-sink.log"));
    try {
      await waitForSinkToCatchUp(kafka, table, topics.entries);
      const run = await runBackfillCli(cfg, ["--wait"]);
      const missing = holes.reduce((n, h) => n + h.end - h.start, 0);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain(
        `ok     tiles: ${missing}/${missing} entries in 2 gap(s); verified in the table`,
      );
      const s = (await pythonIndices(table))[source.id];
      expect(s).toMatchObject({ rows: size, distinct: size, min: 0, max: size - 1, hole_count: 0, dups: [] });
    } finally {
      await sink.stop(20_000);
    }
  }, 300_000);

  it("interrupted runs (SIGINT, then kill -9) and a re-run end with no hole and no duplicate, producing nothing twice; /metrics and /health while running", async () => {
    const topics = uniqueTopics("bf-kill");
    await createTopics(kafka, topics);
    const table = join(dir, "kill-table");
    const d = fx.delta;
    const holes = [{ start: 100, end: 2900 }];
    await publishLive(kafka, topics, d.entries, keepAllBut(holes));
    await publishState(kafka, topics, d.source, d.entries.length);
    const port = await freePort();
    const cfg = writeConfig(dir, "kill.yaml", {
      topics,
      tablePath: table,
      logs: [d.conf],
      overrides: {
        backfill: { port, progress_interval_secs: 1, transaction_timeout_ms: 10_000, concurrency: 2 },
      },
    });
    let sink = startSink(cfg, join(dir, "kill-sink.log"));
    try {
      await waitForSinkToCatchUp(kafka, table, topics.entries);
      // The sink is down while the first runs produce: their records stay in the topic, not yet in the table.
      await sink.stop(20_000);
      server.rfc("delta").faults.set({ slowMs: 200, endpoints: ["get-entries"] });
      const progressAtLeast = (n: number) => (out: string) =>
        jsonLines(out).some((l) => l.msg === "backfill progress" && Number(l.done) >= n);

      // 1. SIGINT: stops fetching, finishes what is being committed, prints the summary, exits 1. Meanwhile the
      //    job serves /metrics and /health.
      let scraped = "";
      let health = 0;
      const scraper = (async () => {
        for (
          let i = 0;
          i < 200 && !scraped.includes('certstream_backfill_entries_produced_total{log="delta"}');
          i++
        ) {
          await new Promise((r) => setTimeout(r, 250));
          try {
            scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
            health = (await fetch(`http://127.0.0.1:${port}/health`)).status;
          } catch {
            // not listening yet
          }
        }
      })();
      let sigint = false;
      const first = await runBackfillCli(cfg, [], {
        killWhen: (out) => {
          if (sigint || !progressAtLeast(256)(out)) return null;
          sigint = true;
          return "SIGINT";
        },
      });
      await scraper;
      expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(1);
      expect(first.stdout).toMatch(/FAILED delta: \d+\/2800 entries in 1 gap\(s\) — interrupted/);
      expect(health).toBe(200);
      expectMetrics(scraped, [
        { name: "certstream_backfill_entries_produced_total", type: "counter", labels: ["log"] },
        { name: "certstream_backfill_entries_fetched_total", type: "counter", labels: ["log"] },
        { name: "certstream_backfill_gap_entries", type: "gauge", labels: ["log"] },
        { name: "certstream_backfill_remaining_entries", type: "gauge", labels: ["log"] },
        { name: "certstream_backfill_logs", type: "gauge", labels: ["state"] },
        { name: "certstream_backfill_windows_total", type: "counter", labels: ["log", "outcome"] },
        { name: "certstream_backfill_window_duration_seconds", type: "histogram", labels: ["log"] },
        { name: "certstream_backfill_transactions_total", type: "counter", labels: ["outcome"] },
        { name: "certstream_backfill_queue_depth", type: "gauge", labels: ["log"] },
        { name: "certstream_backfill_gap_scan_duration_seconds", type: "gauge" },
        { name: "certstream_backfill_gap_scan_files_total", type: "counter", labels: ["decision"] },
        {
          name: "certstream_ct_request_duration_seconds",
          type: "histogram",
          labels: ["log", "endpoint", "status"],
        },
        { name: "certstream_health_status", type: "gauge", labels: ["service"] },
      ]);
      const afterSigint = (await topicCoordinates(kafka, topics.backfill)).size;
      expect(afterSigint).toBeGreaterThanOrEqual(256);
      expect(first.stdout).toContain(`${afterSigint} records written`);

      // 2. kill -9 mid-run: its open transaction stays open until the next run fences it.
      const second = await runBackfillCli(cfg, [], {
        killWhen: (out) => (progressAtLeast(256)(out) ? "SIGKILL" : null),
      });
      expect(second.signal).toBe("SIGKILL");
      server.rfc("delta").faults.set({});
      const committed = (await topicCoordinates(kafka, topics.backfill)).size;
      expect(committed).toBeGreaterThanOrEqual(afterSigint + 256);
      expect(committed).toBeLessThan(2800);

      // Gap detection sees the committed-but-not-yet-written records as in flight, not as gaps.
      const dry = await runBackfillCli(cfg, ["--dry-run"]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(`${2800 - committed} missing`);
      expect(dry.stdout).toContain(`${committed} in flight`);

      sink = startSink(cfg, join(dir, "kill-sink2.log"));
      const last = await runBackfillCli(cfg, ["--wait"]);
      expect(last.code, `${last.stdout}\n${last.stderr}`).toBe(0);
      expect(last.stdout).toContain(
        `backfill complete: ${2800 - committed} records written, 1/1 logs completed`,
      );

      const s = (await pythonIndices(table))[d.source.id];
      expect(s).toMatchObject({ rows: 3000, distinct: 3000, min: 0, max: 2999, hole_count: 0, dups: [] });
      const produced = await topicCoordinates(kafka, topics.backfill);
      expect(produced.size).toBe(2800);
      expect([...produced.values()].every((n) => n === 1)).toBe(true);
    } finally {
      server.rfc("delta").faults.set({});
      await sink.stop(20_000);
    }
  }, 400_000);
});
