// Bursts to many WebSocket clients (the shape of issue 13's run): N lite clients in a child process
// (streamer-load-clients.ts, optionally reading at a capped rate), certificates published into the streamer's fan-out in
// bursts (BURST_SECONDS at BURST_RATE certificates/s, then BURST_PAUSE seconds of nothing), no Kafka. Prints how
// long /health, /metrics and /api/stats took to answer during the bursts, how the clients' connections ended
// (close codes), deliveries, drops and disconnects, and the process's memory when idle, with the clients, and
// after they have left. Asserts nothing.
// Run: node --expose-gc bench/streamer-burst.bench.ts
// Env: BURST_CLIENTS (5000) BURST_RATE (300) BURST_SECONDS (10) BURST_PAUSE (10) BURSTS (3)
//      BURST_CLIENT_READ (bytes/s each client reads; default: as fast as it can) BURST_PATH (/)
import { fork } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createLogger } from "@certstream/log";
import { StreamerServer } from "../services/streamer/src/server.ts";
import { streamerSettings } from "../services/streamer/src/settings.ts";
import { realEntries } from "../services/streamer/test/harness.ts";

const CLIENTS = Number(process.env.BURST_CLIENTS ?? 5000);
const RATE = Number(process.env.BURST_RATE ?? 300);
const BURST_MS = Number(process.env.BURST_SECONDS ?? 10) * 1000;
const PAUSE_MS = Number(process.env.BURST_PAUSE ?? 10) * 1000;
const BURSTS = Number(process.env.BURSTS ?? 3);
const CLIENT_READ = process.env.BURST_CLIENT_READ ?? "";
const PATH = process.env.BURST_PATH ?? "/";
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

function memory(label: string): void {
  gc();
  const m = process.memoryUsage();
  console.log(
    `memory ${label.padEnd(28)} rss ${mb(m.rss)} heap ${mb(m.heapUsed)} / ${mb(m.heapTotal)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`,
  );
}

const server = new StreamerServer({
  settings: streamerSettings({ host: "127.0.0.1", port: 0, streamer: { replay_buffer_size: 0 } }),
  logger: createLogger("burst-bench", "warn"),
  source: null,
});
const port = await server.listen();
const base = `http://127.0.0.1:${port}`;
const real = realEntries();
let seq = 0;
memory("idle");

const child = fork(
  new URL("./streamer-load-clients.ts", import.meta.url).pathname,
  [`ws://127.0.0.1:${port}${PATH}`, String(CLIENTS), ...(CLIENT_READ ? [CLIENT_READ] : [])],
  { stdio: ["ignore", "inherit", "inherit", "ipc"] },
);
await new Promise<void>((r) => child.once("message", () => r()));
while (server.stats().total_clients < CLIENTS) await sleep(50);
memory(`${CLIENTS} clients connected`);

let running = true;
const slowest: Record<string, number> = {};
const unanswered: Record<string, number> = {};
const probes = ["/health", "/metrics", "/api/stats"].map(async (path) => {
  slowest[path] = 0;
  unanswered[path] = 0;
  while (running) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
    } catch {
      unanswered[path]++;
    }
    slowest[path] = Math.max(slowest[path], performance.now() - t0);
    await sleep(100);
  }
});
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 200);

const fanout = server.fanout as typeof server.fanout & { hasRoom?: () => boolean };
for (let b = 0; b < BURSTS; b++) {
  const start = Date.now();
  let sent = 0;
  while (Date.now() - start < BURST_MS) {
    const owed = Math.floor(((Date.now() - start) * RATE) / 1000) - sent;
    // like the Kafka reader: wait while the fan-out's intake is full (older servers have no intake)
    for (let i = 0; i < owed && (fanout.hasRoom?.() ?? true); i++) {
      const e = real[seq % real.length];
      fanout.publish({ ...e, index: seq, seen: Date.now() * 1000 }, 0, seq);
      seq++;
      sent++;
    }
    await sleep(10);
  }
  console.log(`burst ${b + 1}: ${sent} certificates in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  await sleep(PAUSE_MS);
}
running = false;
await Promise.all(probes);
clearInterval(sampler);
const stats = await new Promise<{ frames: number; open: number; closes: object }>((resolve) => {
  child.once("message", (m: { frames: number; open: number; closes: object }) => resolve(m));
  child.send({ type: "stats" });
});
const sum = async (m: { get(): Promise<{ values: { value: number; labels: object }[] }> }) =>
  (await m.get()).values.reduce((a, v) => a + v.value, 0);
const disconnects = (await server.metrics.disconnects.get()).values.map(
  (v) => `${(v.labels as { reason: string }).reason}=${v.value}`,
);
console.log(
  `clients ${CLIENTS}: still open ${stats.open}, closes by code ${JSON.stringify(stats.closes)}, frames received ${stats.frames}`,
);
console.log(
  `server: deliveries ${await sum(server.metrics.deliveries)}, dropped ${await sum(server.metrics.dropped)}, disconnects ${disconnects.join(" ") || "none"}`,
);
console.log(
  `event-loop delay during the bursts: p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms; backlog left ${(fanout as { backlog?: number }).backlog ?? "n/a"}`,
);
for (const p of Object.keys(slowest))
  console.log(
    `${p.padEnd(11)} slowest answer ${slowest[p].toFixed(0)} ms, unanswered within 5 s ${unanswered[p]}`,
  );
console.log(`memory peak rss ${mb(peakRss)}`);
memory("with clients, after bursts");
child.send({ type: "exit" });
while (server.stats().total_clients > 0) await sleep(50);
await sleep(1000);
memory("clients gone");
await sleep(10_000);
memory("clients gone + 10 s");
// The streamer gives a burst's memory back once the load has fallen (memory-release.ts: a check every 5 s, at
// most one release per 30 s): wait for it.
const releases = await sum(server.metrics.memoryReleases);
const waitFrom = Date.now();
while ((await sum(server.metrics.memoryReleases)) === releases && Date.now() - waitFrom < 40_000)
  await sleep(500);
memory(
  `released ${(await sum(server.metrics.memoryReleases)) - releases}x, +${Math.round((Date.now() - waitFrom) / 1000)} s`,
);
await server.shutdown();
process.exit(0);
