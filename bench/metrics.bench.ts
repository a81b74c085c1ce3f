// Cost of instrumentation on the hot paths and of a scrape, with the real metric declarations of every service
// loaded into one registry: counter inc / histogram observe per call, and registry render time and size with
// label cardinality like production (N logs, 3 streams, 12 partitions). Prints figures; asserts nothing.
// Run: node bench/metrics.bench.ts   (BENCH_LOGS=n, default 120)

import { initMetrics, registry, setConsumerLag } from "@certstream/metrics";
import { ctRequestDuration, ctTreeSize } from "../libs/ct/src/metrics.ts";
import * as sink from "../services/delta-sink/src/metrics.ts";
import * as ingester from "../services/ingester/src/metrics.ts";
import { streamerMetrics } from "../services/streamer/src/metrics.ts";

const LOGS = Number(process.env.BENCH_LOGS ?? 120);
initMetrics({ service: "bench", version: "bench", node: "bench" });

function perCall(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < 10_000; i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(60)} ${ns.toFixed(0).padStart(6)} ns/call`);
}

const logs = Array.from({ length: LOGS }, (_, i) => `log-${i}`);
perCall("counter.inc, no labels (streamer records)", 2_000_000, () => streamerMetrics.records.inc());
perCall("counter.inc, 1 label (streamer deliveries{stream})", 2_000_000, (i) =>
  streamerMetrics.deliveries.inc({ stream: i & 1 ? "lite" : "full" }),
);
const liteDeliveries = streamerMetrics.deliveries.labels({ stream: "lite" });
perCall("bound child .labels({stream}).inc() (streamer deliveries)", 2_000_000, () => liteDeliveries.inc());
perCall("counter.inc, 2 labels (ingester entries{log,operator})", 1_000_000, (i) =>
  ingester.entriesIngested.inc({ log: logs[i % LOGS], operator: "op" }, 64),
);
perCall("histogram.observe, 3 labels (ct request{log,endpoint,status})", 1_000_000, (i) =>
  ctRequestDuration.observe(
    { log: logs[i % LOGS], endpoint: "get-entries", status: "200" },
    (i % 500) / 1000,
  ),
);
perCall("gauge.set, 1 label (ct tree size{log})", 1_000_000, (i) =>
  ctTreeSize.set({ log: logs[i % LOGS] }, i),
);
perCall("histogram.observe, no labels (delta flush duration)", 1_000_000, (i) =>
  sink.flushDuration.observe(i / 1e6),
);

// Fill the per-log and per-partition series a busy process has, then time scrapes.
for (const log of logs) {
  ingester.sourceLagSeconds.set({ log }, 3);
  ingester.lagEntries.set({ log }, 10);
  ingester.idleSeconds.set({ log }, 1);
  ingester.logPosition.set({ log }, 123456);
  ingester.parseFailures.inc({ log, kind: "parse" });
  for (const endpoint of ["get-sth", "get-entries"])
    ctRequestDuration.observe({ log, endpoint, status: "200" }, 0.05);
}
for (let p = 0; p < 12; p++) setConsumerLag("certstream-delta-sink", "certstream.entries.v1", p, p * 10);

let bytes = 0;
const runs = 50;
await registry.metrics();
const t0 = performance.now();
for (let i = 0; i < runs; i++) bytes = (await registry.metrics()).length;
const ms = (performance.now() - t0) / runs;
const series = (await registry.metrics()).split("\n").filter((l) => l && !l.startsWith("#")).length;
console.log(
  `scrape render with ${LOGS} logs: ${ms.toFixed(2)} ms, ${(bytes / 1024).toFixed(0)} KiB, ${series} samples`,
);
