/**
 * End-to-end load and latency of the stream (issue 13): what users feel from the moment a CT log publishes an
 * entry until a client has it, through the whole path. A script, not in CI:
 *
 *   bash scripts/stack.sh up; eval "$(bash scripts/stack.sh env)"     # the schema registry is reused
 *   npm run e2e-latency -- --clients 1000 [--rate 200] [--seconds 60] [--kind static|rfc6962] [--stream lite|full]
 *       [--workers N] [--poll-ms 1000] [--partial-tile-wait-secs S] [--at <commit>] [--json out.json]
 *       [--worker-cpus 1 --streamer-cpus 0]   (taskset: clients and streamer on cores of their own)
 *   (the same: node bench/e2e-latency.bench.ts --clients 1000 ...)
 *
 * A stand-in CT log (this process; distinct certificates, growing at --rate entries/s) → the ingester → a
 * private one-node Kafka → the streamer → --clients WebSocket clients in --workers child processes
 * (bench/e2e/client-worker.ts: frames counted, cert_index read from the message tail, never JSON-parsed).
 * bench/fanout.bench.ts measures the streamer's fan-out alone, without Kafka.
 *
 * Phases: warm-up growth with no client (--warmup-secs), streamer RSS with 0 clients; clients connect, RSS
 * with them idle; the window: the log grows for --seconds, then growth stops and deliveries drain; the
 * clients leave, RSS after. An entry is published when the first tree head covering it is served (static:
 * checkpoint, RFC 6962: STH; the stand-in records it); latency = client receive time − publish time, over
 * sampled frames (each entry at about 8 clients, spread over the workers).
 *
 * Printed: deliveries/s, share of the window's entries each client got (min/median), close codes,
 * connections kept, latency p50/p99/max (also split at the ingester's `seen`, and by stage from the services'
 * record-age histograms: ingest committed, dedup fetched and committed, streamer received and fanned out),
 * streamer RSS at each phase,
 * streamer CPU µs per delivery (utime+stime from /proc over the window and drain ÷ deliveries), the CPU of
 * the ingester, Kafka, the workers and this process, and whether the workers were saturated.
 * --at <commit> runs the services of that commit (exported to a temp dir) instead of the working tree.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  coreShare,
  cpuMark,
  cpuMs,
  type Latencies,
  latencies,
  machineBusy,
  mergeCounts,
  quantile,
  rssMb,
} from "./e2e/measure.ts";
import type { WorkerReport } from "./e2e/protocol.ts";
import { exportCommit, type SourceTree, workingTree } from "./e2e/source-tree.ts";
import { type StageSummary, scrapeStageAges, stageSplit } from "./e2e/stage-ages.ts";
import { E2eSystem, type LogKind } from "./e2e/system.ts";
import { ClientWorkers } from "./e2e/workers.ts";

const CLIENTS_PER_WORKER = 500;
const TICK_MS = 2_000;
const PRINT_EVERY_TICKS = 5;
/** Drained: no new window delivery for this long (or every client has every entry). */
const DRAIN_QUIET_MS = 4_000;
/** A worker using this share of a core is saturated. */
const WORKER_SATURATED_CORE = 0.9;
/** Below that, an event-loop delay p99 this long means the worker waited for a core (the machine is full). */
const WORKER_LATE_LOOP_MS = 100;
/** The machine is full from this share of all its cores busy. */
const MACHINE_FULL = 0.95;

interface Args {
  clients: number;
  rate: number;
  seconds: number;
  kind: LogKind;
  stream: "lite" | "full";
  workers: number;
  pollMs: number;
  partialTileWaitSecs: number | undefined;
  sampleEvery: number;
  warmupSecs: number;
  drainSecs: number;
  afterSecs: number;
  connectConcurrency: number;
  /** taskset CPU lists: keep the clients off the streamer's core(s). */
  workerCpus: string | undefined;
  streamerCpus: string | undefined;
  at: string | undefined;
  json: string | undefined;
}

function args(): Args {
  const { values } = parseArgs({
    options: {
      clients: { type: "string", default: "1000" },
      rate: { type: "string", default: "200" },
      seconds: { type: "string", default: "60" },
      kind: { type: "string", default: "static" },
      stream: { type: "string", default: "lite" },
      workers: { type: "string" },
      "poll-ms": { type: "string", default: "1000" },
      "partial-tile-wait-secs": { type: "string" },
      "sample-every": { type: "string" },
      "warmup-secs": { type: "string", default: "10" },
      "drain-secs": { type: "string", default: "60" },
      "after-secs": { type: "string", default: "15" },
      "connect-concurrency": { type: "string", default: "50" },
      "worker-cpus": { type: "string" },
      "streamer-cpus": { type: "string" },
      at: { type: "string" },
      json: { type: "string" },
    },
  });
  const fail = (msg: string): never => {
    console.error(msg);
    process.exit(2);
  };
  const n = (k: keyof typeof values, min: number): number => {
    const v = Number(values[k]);
    return Number.isFinite(v) && v >= min ? v : fail(`--${k} must be a number >= ${min}, got ${values[k]}`);
  };
  const opt = (k: keyof typeof values, min: number) => (values[k] === undefined ? undefined : n(k, min));
  const kind =
    values.kind === "static" || values.kind === "rfc6962" ? values.kind : fail("--kind static|rfc6962");
  const stream =
    values.stream === "lite" || values.stream === "full" ? values.stream : fail("--stream lite|full");
  const clients = n("clients", 1);
  return {
    clients,
    rate: n("rate", 0.1),
    seconds: n("seconds", 1),
    kind,
    stream,
    workers: Math.min(clients, opt("workers", 1) ?? Math.ceil(clients / CLIENTS_PER_WORKER)),
    pollMs: n("poll-ms", 50),
    partialTileWaitSecs: opt("partial-tile-wait-secs", 0),
    sampleEvery: opt("sample-every", 1) ?? Math.max(1, Math.round(clients / 8)),
    warmupSecs: n("warmup-secs", 0),
    drainSecs: n("drain-secs", 1),
    afterSecs: n("after-secs", 0),
    connectConcurrency: n("connect-concurrency", 1),
    workerCpus: values["worker-cpus"],
    streamerCpus: values["streamer-cpus"],
    at: values.at,
    json: values.json,
  };
}

/** Every thread of `pid` onto the CPUs `cpus` (taskset list, e.g. "1" or "0,1"). */
function pin(pid: number | undefined, cpus: string): void {
  if (pid) execFileSync("taskset", ["-a", "-pc", cpus, String(pid)], { stdio: "ignore" });
}

const log = (msg: string) => console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything started, stopped in reverse order by `cleanup` (once). */
class Resources {
  readonly parts: { stop(): Promise<unknown> }[] = [];
  workers: ClientWorkers | null = null;
  source: SourceTree | null = null;
  #done: Promise<void> | null = null;

  cleanup(): Promise<void> {
    this.#done ??= (async () => {
      await this.workers?.stop().catch(() => undefined);
      for (const p of [...this.parts].reverse()) await p.stop().catch((err) => log(`stop: ${String(err)}`));
      this.source?.remove();
    })();
    return this.#done;
  }
}

async function main(): Promise<number> {
  const a = args();
  const r = new Resources();
  const onSignal = (sig: string) => {
    log(`${sig}: cleaning up`);
    void r.cleanup().then(() => process.exit(130));
  };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  try {
    return await run(a, r);
  } finally {
    await r.cleanup();
  }
}

async function run(a: Args, r: Resources): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "e2e-latency-"));
  r.source = a.at ? exportCommit(a.at) : workingTree();
  const source = r.source;
  log(
    `${a.clients} ${a.stream} clients in ${a.workers} workers, ${a.kind} log at ${a.rate}/s for ${a.seconds} s, ` +
      `poll ${a.pollMs} ms; services of ${source.label}; files in ${dir}`,
  );
  const sys = await E2eSystem.start(
    {
      kind: a.kind,
      rate: a.rate,
      pollMs: a.pollMs,
      partialTileWaitSecs: a.partialTileWaitSecs,
      root: source.root,
      dir,
      log,
    },
    (part) => r.parts.push(part),
  );
  const pids = () => ({
    streamer: sys.streamer.pid,
    ingester: sys.ingester.pid,
    kafka: sys.cluster.pid(1),
    bench: process.pid,
    ...Object.fromEntries((r.workers?.pids ?? []).map((p, i) => [`worker${i}`, p])),
  });
  if (a.streamerCpus) pin(sys.streamer.pid, a.streamerCpus);
  log("services up; warm-up growth with no client");

  // Warm-up: the first certificates through cost JIT, connections and schema look-ups, not measured.
  sys.log.start();
  await sleep(a.warmupSecs * 1000);
  sys.log.stop();
  if (!(await sys.waitIngested(60_000))) log("the ingester did not catch up with the warm-up within 60 s");
  await sleep(DRAIN_QUIET_MS);
  const rss0 = rssMb(sys.streamer.pid);

  const path = a.stream === "lite" ? "/" : "/full-stream";
  const tConnect = Date.now();
  r.workers = await ClientWorkers.start({
    url: `${sys.streamerUrl.replace(/^http/, "ws")}${path}`,
    clients: a.clients,
    workers: a.workers,
    sampleEvery: a.sampleEvery,
    connectConcurrency: a.connectConcurrency,
    onLost: log,
  });
  const workers = r.workers;
  if (a.workerCpus) for (const pid of workers.pids) pin(pid, a.workerCpus);
  const connectS = (Date.now() - tConnect) / 1000;
  await sleep(5000);
  const idle = await workers.snapshot();
  const serverIdle = await sys.streamerClients();
  const rssIdle = rssMb(sys.streamer.pid);
  log(
    `${idle.connected}/${a.clients} clients connected in ${connectS.toFixed(1)} s (streamer counts ${serverIdle}); ` +
      `streamer RSS ${rss0} MB with 0 clients, ${rssIdle} MB with them idle`,
  );

  // The window: the log grows for --seconds; every client should get every entry of [from, to).
  const from = sys.log.size;
  const capacity = Math.ceil(a.rate * a.seconds * 1.25) + 256;
  await workers.begin(from, capacity);
  const loadAvg = loadavg().map((l) => Number(l.toFixed(1)));
  const metricsUrls = [`${sys.ingesterUrl}/metrics`, `${sys.streamerUrl}/metrics`];
  const ages0 = await scrapeStageAges(metricsUrls);
  const m0 = cpuMark(pids());
  sys.log.start();
  const tStart = Date.now();
  const rssDuring: number[] = [];
  const series: { t: number; deliveriesPerSec: number; rssMb: number | null }[] = [];
  let last = { at: tStart, frames: 0 };
  let peakRate = 0;
  let lastIncrease = tStart;
  let tick = 0;
  const sampleTick = async (phase: string) => {
    const s = await workers.snapshot();
    const now = Date.now();
    const rss = rssMb(sys.streamer.pid);
    if (rss !== null) rssDuring.push(rss);
    if (s.frames > last.frames) lastIncrease = now;
    const rate = ((s.frames - last.frames) * 1000) / (now - last.at);
    peakRate = Math.max(peakRate, rate);
    series.push({ t: Math.round((now - tStart) / 100) / 10, deliveriesPerSec: Math.round(rate), rssMb: rss });
    if (++tick % PRINT_EVERY_TICKS === 0)
      log(
        `${phase} +${Math.round((now - tStart) / 1000)} s: ${Math.round(rate)} deliveries/s, ` +
          `${s.connected} connected, streamer RSS ${rss} MB, log size ${sys.log.size - from}`,
      );
    last = { at: now, frames: s.frames };
    return s;
  };
  while (Date.now() - tStart < a.seconds * 1000) {
    await sleep(Math.min(TICK_MS, a.seconds * 1000 - (Date.now() - tStart)));
    await sampleTick("growing");
  }
  sys.log.stop();
  const to = sys.log.size;
  const tStop = Date.now();
  const entries = to - from;
  log(`growth stopped: ${entries} entries in the window; draining`);
  // Drained: every client has every entry, or the ingester has committed the whole window and no delivery
  // came for DRAIN_QUIET_MS since (a client that misses entries never completes).
  let ingestedAt: number | null = null;
  for (;;) {
    await sleep(1000);
    const s = await sampleTick("draining");
    if (ingestedAt === null && ((await sys.ingested()) ?? -1) >= to) ingestedAt = Date.now();
    const complete = s.received >= entries * a.clients;
    const quiet = ingestedAt !== null && Date.now() - Math.max(lastIncrease, ingestedAt) > DRAIN_QUIET_MS;
    if (complete || quiet || Date.now() - tStop > a.drainSecs * 1000) break;
  }
  const m1 = cpuMark(pids());
  const stages = stageSplit(ages0, await scrapeStageAges(metricsUrls));
  const reports = await workers.report(to);
  const serverLoaded = await sys.streamerClients();
  const rssLoaded = rssMb(sys.streamer.pid);

  await workers.stop();
  r.workers = null;
  await sleep(2000);
  const rssLeft = rssMb(sys.streamer.pid);
  await sleep(Math.max(0, a.afterSecs * 1000 - 2000));
  const rssAfter = rssMb(sys.streamer.pid);
  const serverAfter = await sys.streamerClients();

  const result = summarize({
    a,
    source: `${source.label}; streamer env ${JSON.stringify(sys.streamerEnv)}`,
    entries,
    growthS: (tStop - tStart) / 1000,
    activeS: (lastIncrease - tStart) / 1000,
    drainS: (m1.at - tStop) / 1000,
    reports,
    lat: latencies(
      reports.map((w) => w.samples),
      sys.log,
      from,
      to,
    ),
    m0,
    m1,
    peakRate,
    connected: {
      idle: idle.connected,
      server: { idle: serverIdle, loaded: serverLoaded, after: serverAfter },
    },
    rss: {
      zeroClients: rss0,
      idleClients: rssIdle,
      duringMax: rssDuring.length ? Math.max(...rssDuring) : null,
      loadedEnd: rssLoaded,
      after2s: rssLeft,
      after: rssAfter,
    },
    crashes: sys.crashes,
    loadAvg,
    stages,
  });
  print(result);
  log(`deliveries/s every ${TICK_MS / 1000} s: ${series.map((x) => x.deliveriesPerSec).join(" ")}`);
  if (a.json) writeFileSync(a.json, JSON.stringify({ ...result, series }, null, 2));
  return sys.crashes.length > 0 ? 1 : 0;
}

interface SummaryInput {
  a: Args;
  source: string;
  entries: number;
  growthS: number;
  activeS: number;
  drainS: number;
  reports: WorkerReport[];
  lat: Latencies;
  m0: ReturnType<typeof cpuMark>;
  m1: ReturnType<typeof cpuMark>;
  peakRate: number;
  connected: { idle: number; server: { idle: number | null; loaded: number | null; after: number | null } };
  rss: Record<string, number | null>;
  crashes: string[];
  /** Load averages when the window started (the machine is shared). */
  loadAvg: number[];
  /** The services' record-age histograms over the window, per stage (bench/e2e/stage-ages.ts). */
  stages: Record<string, StageSummary>;
}

function summarize(i: SummaryInput) {
  const { a, reports, m0, m1 } = i;
  const sum = (f: (w: WorkerReport) => number) => reports.reduce((t, w) => t + f(w), 0);
  const frames = sum((w) => w.frames);
  const shares = Float64Array.from(reports.flatMap((w) => w.shares)).sort();
  const windowMs = m1.at - m0.at;
  const workerCores = reports.map((w) => (w.cpuUserUs + w.cpuSystemUs) / 1000 / windowMs);
  const loopP99 = reports.map((w) => w.loopP99Ms);
  const saturated = workerCores.filter((c) => c >= WORKER_SATURATED_CORE).length;
  const late = reports.filter(
    (_, k) => workerCores[k] < WORKER_SATURATED_CORE && loopP99[k] >= WORKER_LATE_LOOP_MS,
  );
  const busy = machineBusy(m0, m1);
  const streamerMs = cpuMs(m0, m1, "streamer");
  const round = (x: number | null, d = 0) => (x === null || Number.isNaN(x) ? null : Number(x.toFixed(d)));
  const pct = (x: number | null) => (x === null ? null : round(x * 100));
  return {
    source: i.source,
    args: a,
    window: {
      entries: i.entries,
      growthS: round(i.growthS, 1),
      drainS: round(i.drainS, 1),
      entriesPerSec: round(i.entries / i.growthS, 1),
    },
    deliveries: {
      total: frames,
      perSec: round(frames / Math.max(i.activeS, 0.001)),
      peakPerSec: round(i.peakRate),
      expectedPerSec: round((i.entries / i.growthS) * a.clients),
      duplicates: sum((w) => w.duplicates),
      outOfWindow: sum((w) => w.outOfWindow),
      unreadable: sum((w) => w.unreadable),
      mbPerSec: round(sum((w) => w.bytes) / 1e6 / (windowMs / 1000), 1),
    },
    share: {
      min: round(quantile(shares, 0), 4),
      p1: round(quantile(shares, 0.01), 4),
      median: round(quantile(shares, 0.5), 4),
      clientsWithAll: shares.filter((s) => s >= 1).length,
    },
    connections: {
      clients: a.clients,
      connectedIdle: i.connected.idle,
      connectedAtEnd: sum((w) => w.connected),
      cutOff: sum((w) => w.clientsCutOff),
      kept: sum((w) => w.kept),
      reconnects: sum((w) => w.reconnects),
      closeCodes: mergeCounts(reports.map((w) => w.closeCodes)),
      handshakeFailures: mergeCounts(reports.map((w) => w.handshakeFailures)),
      streamerCounts: i.connected.server,
      heartbeats: sum((w) => w.heartbeats),
      droppedNotices: sum((w) => w.droppedNotices),
    },
    latencyMs: i.lat,
    stagesMs: i.stages,
    streamer: {
      rssMb: i.rss,
      corePct: pct(coreShare(m0, m1, "streamer")),
      cpuUsPerDelivery: streamerMs === null || frames === 0 ? null : round((streamerMs * 1000) / frames, 2),
    },
    cpuPct: {
      ingester: pct(coreShare(m0, m1, "ingester")),
      kafka: pct(coreShare(m0, m1, "kafka")),
      bench: pct(coreShare(m0, m1, "bench")),
      workersTotal: round(workerCores.reduce((t, c) => t + c, 0) * 100),
      workerMax: round(Math.max(...workerCores) * 100),
      workerLoopP99MaxMs: round(Math.max(...loopP99)),
      ours: pct(Object.keys(m0.ticks).reduce((t, k) => t + (coreShare(m0, m1, k) ?? 0), 0)),
      machineBusy: pct(busy),
      loadAvgAtStart: i.loadAvg,
    },
    workersSaturated: [
      saturated === 0
        ? `no (busiest worker ${Math.round(Math.max(...workerCores) * 100)}% of a core)`
        : `YES: ${saturated} of ${reports.length} workers at >= ${WORKER_SATURATED_CORE * 100}% of a core`,
      late.length === 0
        ? null
        : `${late.length} workers scheduled late (event-loop p99 >= ${WORKER_LATE_LOOP_MS} ms, up to ` +
          `${Math.round(Math.max(...late.map((w) => w.loopP99Ms)))} ms): receive times run late by about that much`,
      busy < MACHINE_FULL
        ? null
        : `the machine was full (${Math.round(busy * 100)}% of all cores): every process here waited for a core, ` +
          "so deliveries/s understate what the streamer can do; its µs per delivery (CPU time) still holds",
    ]
      .filter(Boolean)
      .join("; "),
    crashes: i.crashes,
  };
}

function print(s: ReturnType<typeof summarize>): void {
  const d = (x: { n: number; p50: number; p99: number; max: number }) =>
    x.n === 0
      ? "no sampled frame"
      : `p50 ${Math.round(x.p50)} ms, p99 ${Math.round(x.p99)} ms, max ${Math.round(x.max)} ms (${x.n} samples)`;
  const a = s.args;
  const lines = [
    `\n=== e2e latency: ${a.clients} ${a.stream} clients, ${a.kind} log at ${a.rate}/s for ${a.seconds} s, poll ${a.pollMs} ms ===`,
    `services:           ${s.source}`,
    `window:             ${s.window.entries} entries in ${s.window.growthS} s (${s.window.entriesPerSec}/s), drain ${s.window.drainS} s`,
    `deliveries:         ${s.deliveries.perSec?.toLocaleString("en-US")}/s (from the window's start to its last delivery; peak 2-s ${s.deliveries.peakPerSec?.toLocaleString("en-US")}/s; entries/s × clients = ${s.deliveries.expectedPerSec?.toLocaleString("en-US")}/s), ${s.deliveries.total.toLocaleString("en-US")} frames, ${s.deliveries.mbPerSec} MB/s; duplicates ${s.deliveries.duplicates}, outside the window ${s.deliveries.outOfWindow}, unreadable ${s.deliveries.unreadable}`,
    `share per client:   min ${s.share.min}, p1 ${s.share.p1}, median ${s.share.median}; ${s.share.clientsWithAll}/${a.clients} got every entry`,
    `connections:        kept ${s.connections.kept}/${a.clients} (cut off ${s.connections.cutOff}, reconnects ${s.connections.reconnects}); connected idle ${s.connections.connectedIdle}, at the end ${s.connections.connectedAtEnd}; streamer counts ${JSON.stringify(s.connections.streamerCounts)}`,
    `close codes:        ${JSON.stringify(s.connections.closeCodes)}; handshake failures ${JSON.stringify(s.connections.handshakeFailures)}; dropped notices ${s.connections.droppedNotices}; heartbeats ${s.connections.heartbeats}`,
    `latency (publish → client):  ${d(s.latencyMs.fromPublish)}${s.latencyMs.unpublished ? `; ${s.latencyMs.unpublished} samples unpublished` : ""}`,
    `  second half of the window: ${d(s.latencyMs.fromPublishSecondHalf)}`,
    `  publish → ingester seen:   ${d(s.latencyMs.publishToSeen)}`,
    `  seen → client:             ${d(s.latencyMs.seenToClient)}`,
    `  appended → client:         ${d(s.latencyMs.fromAppend)} (as felt from a log publishing continuously)`,
    `  by stage (services' histograms; from the ingester's read for ingest_committed, else from its produce):`,
    ...Object.entries(s.stagesMs).map(
      ([stage, x]) => `    ${stage.padEnd(28)} p50 ${x.p50Ms ?? "-"} ms, p99 ${x.p99Ms ?? "-"} ms (${x.n})`,
    ),
    `streamer:           RSS MB ${JSON.stringify(s.streamer.rssMb)}; CPU ${s.streamer.corePct}% of a core, ${s.streamer.cpuUsPerDelivery} µs per delivery`,
    `cpu (% of a core):  ingester ${s.cpuPct.ingester}, kafka ${s.cpuPct.kafka}, bench+stand-in ${s.cpuPct.bench}, workers ${s.cpuPct.workersTotal} (max one ${s.cpuPct.workerMax}, event-loop p99 max ${s.cpuPct.workerLoopP99MaxMs} ms); all of these ${s.cpuPct.ours}% of a core; machine ${s.cpuPct.machineBusy}% of its ${availableParallelism()} cores busy (load average ${s.cpuPct.loadAvgAtStart.join(" ")} at the start)`,
    `workers saturated:  ${s.workersSaturated}`,
  ];
  if (s.crashes.length) lines.push(`CRASHED: ${s.crashes.join(", ")} (run void)`);
  console.log(lines.join("\n"));
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
