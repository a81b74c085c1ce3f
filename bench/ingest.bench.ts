// End-to-end ingest benchmark: stand-in CT logs (HTTP) → ingester replica (child process: log watchers, entries
// transactions, dedup stage) → certstream.entries.v1 → certstream.certs.v1, on the real local broker + registry.
// Prints figures; asserts nothing.
//   eval "$(bash scripts/stack.sh env)" && node bench/ingest.bench.ts
// 1. Throughput: BENCH_LOGS logs (two of them sharing certificates) pre-filled with BENCH_ENTRIES entries each;
//    entries/s from the first entry committed to the last one readable in entries, and to certs fully drained.
// 2. Latency: two logs growing at BENCH_RATE entries/s each for BENCH_SECS s; for each certificate, the time from
//    the moment the stand-in appended it (its CT timestamp) to a read_committed consumer receiving it from certs.
// Wall-clock on a shared 2-core machine (broker, registry, replica and this process): check `uptime` first.

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { TopicTail } from "../services/ingester/src/topic-tail.ts";
import {
  expectedCertKeys,
  Replica,
  readTopic,
  sleep,
  tempDir,
  testCodec,
  testKafka,
  uniqueNames,
  waitFor,
  writeConfig,
} from "../services/ingester/test/harness.ts";
import { StandInServer } from "../test/ct-standin/server.ts";

const LOGS = Number(process.env.BENCH_LOGS ?? 4);
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 5000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECS = Number(process.env.BENCH_SECS ?? 30);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 250);
const PHASES = (process.env.BENCH_PHASES ?? "throughput,latency").split(",");

/** CPU seconds (user + system) a process has used so far, from /proc (the machine is shared: wall time is not). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ = 100 on Linux
  } catch {
    return Number.NaN;
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

console.log(
  `ingest benchmark; load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
const kafka = testKafka();

async function topicExists(topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).includes(topic);
  } finally {
    await admin.disconnect();
  }
}

// 1. Throughput.
if (PHASES.includes("throughput")) {
  const server = new StandInServer({ growOnStart: false });
  for (let i = 0; i < LOGS; i++) {
    server.addRfc6962({
      name: `t${i}`,
      mode: "distinct",
      certSeed: i === 1 ? 1 : i + 1,
      initialSize: ENTRIES,
      pageSize: 256,
    });
  }
  await server.start();
  // The certificates certs must end up with, computed from what the stand-ins serve (before timing starts).
  const expectedKeys = expectedCertKeys(server, 0, ENTRIES);
  const names = uniqueNames("bench-tput");
  const dir = tempDir("ingest-bench");
  const cfg = writeConfig(dir, "r.yaml", names, server, { replicaId: "bench", batch: 1000, pollMs: POLL_MS });
  const replica = new Replica("bench", cfg, join(dir, "r.log"));
  const total = LOGS * ENTRIES;
  let firstEntryAt = 0;
  const counts = { entries: 0, certs: 0 };
  let entriesDoneAt = 0;
  let certsDoneAt = 0;
  const tails = ["entries", "certs"].map(
    (which) =>
      new TopicTail(kafka, {
        topic: which === "entries" ? names.entries : names.certs,
        groupPrefix: "bench-tail",
        onMessage: () => {
          if (which === "entries") {
            if (counts.entries === 0) firstEntryAt = performance.now();
            counts.entries++;
            if (counts.entries === total) entriesDoneAt = performance.now();
          } else {
            counts.certs++;
            if (counts.certs === expectedKeys.size) certsDoneAt = performance.now();
          }
        },
      }),
  );
  const t0 = performance.now();
  replica.start();
  let replicaCpuAtFirst = Number.NaN;
  const cpuProbe = setInterval(() => {
    if (counts.entries === 0) replicaCpuAtFirst = cpuSeconds(replica.proc?.pid);
  }, 50);
  // Topics exist once the replica has started.
  await waitFor("topics", () => topicExists(names.certs), 60_000, 200);
  await sleep(500);
  for (const t of tails) await t.start();
  const progress = setInterval(
    () => console.error(`  … ${counts.entries} entries, ${counts.certs} certs read`),
    5000,
  );
  await waitFor("all entries", async () => counts.entries >= total, 600_000, 100);
  clearInterval(progress);
  clearInterval(cpuProbe);
  await waitFor("certs complete", async () => counts.certs >= expectedKeys.size, 600_000, 100);
  const replicaCpuDone = cpuSeconds(replica.proc?.pid);
  await sleep(500);
  const certs = counts.certs;
  await Promise.all(tails.map((t) => t.stop()));
  await replica.terminate();
  await server.stop();
  const ingestS = (entriesDoneAt - firstEntryAt) / 1000;
  const e2eS = (certsDoneAt - firstEntryAt) / 1000;
  console.log(
    `throughput: ${LOGS} logs × ${ENTRIES} entries = ${total} entries → ${certs} certificates (2 logs share theirs)`,
  );
  console.log(`  startup to first entry committed: ${((firstEntryAt - t0) / 1000).toFixed(1)} s`);
  console.log(`  entries: ${total} in ${ingestS.toFixed(1)} s = ${Math.round(total / ingestS)} entries/s`);
  console.log(
    `  entries → certs drained: ${e2eS.toFixed(1)} s = ${Math.round(total / e2eS)} entries/s end to end`,
  );
  const cpu = replicaCpuDone - replicaCpuAtFirst;
  console.log(
    `  replica CPU from first entry to certs drained: ${cpu.toFixed(2)} s = ${Math.round((cpu * 1e6) / total)} µs/entry (≈ ${Math.round(total / cpu)} entries per CPU-second; load-independent)`,
  );
}

// 2. Latency.
if (PHASES.includes("latency")) {
  const server = new StandInServer({ growOnStart: false });
  server.addRfc6962({ name: "g0", mode: "distinct", certSeed: 101, growRate: RATE, pageSize: 256 });
  server.addRfc6962({ name: "g1", mode: "distinct", certSeed: 102, growRate: RATE, pageSize: 256 });
  await server.start();
  const names = uniqueNames("bench-lat");
  const dir = tempDir("ingest-bench-lat");
  const cfg = writeConfig(dir, "r.yaml", names, server, {
    replicaId: "bench-lat",
    batch: 1000,
    pollMs: POLL_MS,
  });
  const replica = new Replica("bench-lat", cfg, join(dir, "r.log"));
  replica.start();
  await waitFor("topics", () => topicExists(names.certs), 60_000, 200);
  await sleep(2000);
  // Wait until the replica has caught up with the initial entries, then measure only grown ones.
  const initial = [...server.logs.values()].reduce((n, l) => n + l.size, 0);
  await waitFor(
    "initial entries",
    async () => (await readTopic(kafka, names.entries)).length >= initial,
    120_000,
    500,
  );
  const codec = testCodec();
  const latencies: number[] = [];
  let lastCertAt = Date.now();
  let measuring = false;
  const measureFrom = Date.now() + 1000;
  const tail = new TopicTail(kafka, {
    topic: names.certs,
    groupPrefix: "bench-lat",
    onMessage: async (_p, m) => {
      if (!m.value) return;
      const now = Date.now();
      lastCertAt = now;
      const e = await codec.decode(m.value);
      if (measuring && e.timestamp >= measureFrom) latencies.push(now - e.timestamp);
    },
  });
  await tail.start();
  for (const l of server.logs.values()) l.start();
  measuring = true;
  await sleep(SECS * 1000);
  for (const l of server.logs.values()) l.stop();
  const grown = [...server.logs.values()].reduce((n, l) => n + l.size, 0) - initial;
  // Drain: every grown entry is measured, however far behind the pipeline is (a cut-off would hide the slow ones).
  await waitFor("certs drained", async () => Date.now() - lastCertAt > 5000, 300_000, 500);
  await tail.stop();
  await replica.terminate();
  await server.stop();
  latencies.sort((a, b) => a - b);
  console.log(
    `latency (stand-in append → readable in certs), 2 logs × ${RATE}/s for ${SECS} s, poll_interval_ms ${POLL_MS}:`,
  );
  console.log(
    `  n=${latencies.length} (of ${grown} appended) p50=${quantile(latencies, 0.5)} ms p90=${quantile(latencies, 0.9)} ms p99=${quantile(latencies, 0.99)} ms max=${latencies.at(-1)} ms`,
  );
}
process.exit(0);
