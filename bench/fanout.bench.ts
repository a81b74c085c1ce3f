// Fan-out of the streamer: deliveries per second, p99 delivery latency and memory per client, with real
// WebSocket clients in a separate process (bench/fanout-clients.ts) over loopback TCP, and certificates
// published into the fan-out at a fixed rate (no Kafka: this measures the streamer's own cost).
// Prints figures; asserts nothing. Run: node --expose-gc bench/fanout.bench.ts   (BENCH_SECONDS=n per run,
// BENCH_TICK_MS=1000 for bursts of a second's certificates)
// One core for the server, another for the clients:
//   BENCH_CLIENT_CPU=1 taskset -c 0 node --expose-gc bench/fanout.bench.ts
// Server CPU is the streamer process's user+system time over the run: "core %" = share of one core used.
// Latency is measured by the clients (now - the message's `seen`, stamped at publish), so it includes the
// clients' own scheduling; the server's part is bounded by write_coalesce_ms + its event-loop delay (printed).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fromRawEntry } from "@certstream/ct";
import { createLogger } from "@certstream/log";
import type { CertificateEntry } from "@certstream/schema";
import { type ClientSink, StreamClient } from "../services/streamer/src/client.ts";
import { Fanout } from "../services/streamer/src/fanout.ts";
import { ClientFilter } from "../services/streamer/src/filters.ts";
import { StreamerServer } from "../services/streamer/src/server.ts";
import { streamerSettings } from "../services/streamer/src/settings.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

const body = JSON.parse(
  readFileSync(
    new URL(
      "../../shared/testdata/ct-entries/rfc6962/google-argon2026h2-get-entries-start1111014090-end1111014109.json",
      import.meta.url,
    ),
    "utf8",
  ),
) as { entries: { leaf_input: string; extra_data: string }[] };
const log = {
  id: "x",
  name: "Google 'Argon2026h2'",
  url: "https://ct.googleapis.com/logs/us1/argon2026h2/",
  operator: "Google",
  kind: "rfc6962" as const,
};
const real: CertificateEntry[] = body.entries.map((e, i) =>
  fromRawEntry(
    log,
    {
      index: i,
      leafInput: Buffer.from(e.leaf_input, "base64"),
      extraData: Buffer.from(e.extra_data, "base64"),
    },
    0,
  ),
);

const logger = createLogger("fanout-bench", "warn");
const server = new StreamerServer({
  settings: streamerSettings({
    host: "127.0.0.1",
    port: 0,
    streamer: { write_coalesce_ms: Number(process.env.BENCH_COALESCE_MS ?? 0) },
  }),
  logger,
  source: null,
});
const port = await server.listen();
let seq = 0;
let partitionOffset = 0;

function publish(count: number): void {
  for (let i = 0; i < count; i++) {
    const base = real[seq % real.length];
    server.fanout.publish({ ...base, index: seq, seen: Date.now() * 1000 }, 0, partitionOffset++);
    seq++;
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function deliveriesCounter(): Promise<number> {
  const m = await server.metrics.deliveries.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}
async function droppedCounter(): Promise<number> {
  const m = await server.metrics.dropped.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}

function ask(
  child: ChildProcess,
  type: string,
): Promise<{ bytes: number; frames: number; latencies: number[] }> {
  return new Promise((resolve) => {
    const on = (m: { type: string; bytes: number; frames: number; latencies: number[] }) => {
      if (m.type === "report") {
        child.off("message", on);
        resolve(m);
      }
    };
    child.on("message", on);
    child.send({ type });
  });
}

async function scenario(label: string, path: string, clients: number, certsPerSecond: number): Promise<void> {
  gc();
  const before = process.memoryUsage();
  const args = [
    new URL("./fanout-clients.ts", import.meta.url).pathname,
    `ws://127.0.0.1:${port}${path}`,
    String(clients),
    String(Math.max(1, Math.floor(clients / 100))),
  ];
  // BENCH_CLIENT_CPU=1 pins the clients to that CPU (run the server with `taskset -c 0`).
  const clientCpu = process.env.BENCH_CLIENT_CPU;
  const child = clientCpu
    ? spawn("taskset", ["-c", clientCpu, process.execPath, ...args], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      })
    : spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await new Promise<void>((r) => child.once("message", () => r()));
  while (server.stats().total_clients < clients) await new Promise((r) => setTimeout(r, 50));
  gc();
  const after = process.memoryUsage();
  const perClient = (after.rss - before.rss) / clients;
  const heapPerClient = (after.heapUsed - before.heapUsed) / clients;

  // warm-up, then the measured run
  // Every 10 ms, publish what the target rate owes since the start of the run (so a late timer under CPU
  // contention publishes a bigger batch instead of lowering the rate). BENCH_TICK_MS=1000: a second's worth at
  // once, as a static-ct log's checkpoint each second brings it.
  const tickMs = Number(process.env.BENCH_TICK_MS ?? 10);
  const run = (ms: number) =>
    new Promise<void>((resolve) => {
      const start = Date.now();
      const end = start + ms;
      let sent = 0;
      const t = setInterval(() => {
        const owed = Math.floor(((Math.min(Date.now(), end) - start) * certsPerSecond) / 1000) - sent;
        publish(owed);
        sent += owed;
        if (Date.now() >= end) {
          clearInterval(t);
          resolve();
        }
      }, tickMs);
    });
  await run(1000);
  await new Promise((r) => setTimeout(r, 500));
  child.send({ type: "reset" });
  const d0 = await deliveriesCounter();
  const drop0 = await droppedCounter();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(SECONDS * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const loopP99 = loop.percentile(99) / 1e6;
  const delivered = (await deliveriesCounter()) - d0;
  const dropped = (await droppedCounter()) - drop0;
  await new Promise((r) => setTimeout(r, 500)); // let the last messages arrive
  const rep = await ask(child, "report");
  const lat = rep.latencies.sort((a, b) => a - b);
  const coreShare = (cpu.user + cpu.system) / 1e6 / elapsed;
  console.log(
    `${label.padEnd(34)} clients=${String(clients).padStart(5)} certs/s=${String(certsPerSecond).padStart(4)}` +
      ` deliveries/s=${Math.round(delivered / elapsed)
        .toLocaleString("en-US")
        .padStart(9)}` +
      ` dropped=${dropped} core=${(coreShare * 100).toFixed(0)}%` +
      ` (→ ~${Math.round(delivered / elapsed / coreShare).toLocaleString("en-US")} deliveries per core-second)` +
      ` latency p50=${quantile(lat, 0.5).toFixed(0)}ms p99=${quantile(lat, 0.99).toFixed(0)}ms max=${quantile(lat, 1).toFixed(0)}ms` +
      ` (${lat.length} samples) server event-loop delay p99=${loopP99.toFixed(0)}ms` +
      ` MB/s=${(rep.bytes / elapsed / 1e6).toFixed(1)}` +
      ` mem/client: rss=${(perClient / 1024).toFixed(1)} KiB heap=${(heapPerClient / 1024).toFixed(1)} KiB`,
  );
  child.send({ type: "exit" });
  await new Promise((r) => child.once("exit", r));
  while (server.stats().total_clients > 0) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Per-certificate cost of the fan-out loop itself with filtered clients (no sockets): index look-ups, the full
 * match of the candidates, and the (no-op) write of the matches. `filters` cycle over the clients; each client
 * gets its own domain so that domain filters are spread like real users watching their own names.
 */
function filterCost(label: string, clients: number, filterFor: (i: number) => string): void {
  const fanout = new Fanout({ delivered: () => {}, renderFailed: () => {} });
  let matched = 0;
  const sink: ClientSink = {
    buffered: () => 0,
    write: () => void matched++,
    frame: (m) => m,
    close: () => {},
  };
  for (let i = 0; i < clients; i++) {
    fanout.add(
      new StreamClient({
        format: "lite",
        transport: "ws",
        ip: "x",
        filter: ClientFilter.fromQuery(new URLSearchParams(filterFor(i))),
        sink,
        events: { dropped: () => {}, slowDisconnect: () => {} },
        limits: { limitBytes: 1 << 30, maxDropped: 1e9, windowMs: 60_000 },
      }),
    );
  }
  const N = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) fanout.publish({ ...real[i % real.length], index: i }, 0, i);
  fanout.flush();
  const ms = performance.now() - t0;
  console.log(
    `filters: ${label.padEnd(44)} clients=${clients}: ${((ms * 1000) / N).toFixed(1)} µs per certificate` +
      ` (render + match + write; ${(matched / N).toFixed(1)} matches per certificate)`,
  );
}

console.log(
  `fan-out benchmark, ${SECONDS}s per run, write_coalesce_ms=${process.env.BENCH_COALESCE_MS ?? 0}, node ${process.version}, load average ${(
    await import("node:os")
  )
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
const domainsOfReal = real.flatMap((e) => e.leaf?.all_domains ?? []);
// BENCH_FILTERS=0 skips the filter costs (profiling the socket runs alone).
if (process.env.BENCH_FILTERS !== "0") {
  filterCost("domain= (own names; 1 in 50 is a real one)", 5000, (i) =>
    i % 50 === 0 ? `domain=${domainsOfReal[i % domainsOfReal.length]}` : `domain=host${i}.example.com`,
  );
  filterCost("domain=*.suffix (own zones)", 5000, (i) =>
    i % 50 === 0 ? "domain=*.myfritz.net" : `domain=*.zone${i}.example`,
  );
  filterCost("issuer= / log= only (checked one by one)", 5000, (i) =>
    i % 2 === 0 ? "issuer=let's encrypt" : "log=xenon",
  );
}

// BENCH_SCENARIOS="lite:1000:200,full:100:200" (stream:clients:certs per second) picks the runs.
const runs = (
  process.env.BENCH_SCENARIOS ??
  "lite:1000:200,lite:1000:300,lite:1000:400,lite:5000:40,lite:5000:60,full:100:200,full:100:500"
)
  .split(",")
  .map((r) => r.split(":"));
for (const [stream, clients, rate] of runs) {
  await scenario(stream, stream === "full" ? "/full-stream" : "/", Number(clients), Number(rate));
}
await server.shutdown();
process.exit(0);
