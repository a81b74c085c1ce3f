/**
 * A burst to many clients does not hold the event loop: the fan-out works in time slices, so /health,
 * /metrics and /api/stats answer while it is busy; and memory returns to the idle level once the clients are
 * gone. (The fan-out of a Kafka batch used to run in one go: at 5000 clients a burst kept /metrics silent for
 * more than 5 s.)
 */
import { type ChildProcess, fork } from "node:child_process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { frameHeader } from "../../../test/ws-frames.ts";
import { type ClientSink, StreamClient } from "../src/client.ts";
import { Fanout } from "../src/fanout.ts";
import { CertsTopic, entrySeries, type RunningStreamer, sleep, startStreamer, waitFor } from "./harness.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let topic: CertsTopic;
let s: RunningStreamer;

beforeAll(async () => {
  topic = await CertsTopic.create(3);
  // No replay buffer: what stays in memory after the clients have gone is then only what they left behind.
  s = await startStreamer(topic.topic, { streamer: { replay_buffer_size: 0 } });
});
afterAll(async () => {
  await s?.stop();
  await topic?.close();
});

it("a burst published at once is fanned out in slices: the event loop is never held for long", async () => {
  const fanout = new Fanout({ delivered: () => {}, renderFailed: () => {} });
  let writes = 0;
  let messages = 0;
  const sink: ClientSink = {
    buffered: () => 0,
    write: (frame) => {
      writes++;
      for (let off = 0; off < frame.length; messages++) {
        const h = frameHeader(frame, off, frame.length);
        if (h === null) throw new Error("a write ends inside a frame");
        off = h.start + h.len;
      }
    },
    frame: (m) => m,
    close: () => {},
  };
  const CLIENTS = 2000;
  const RECORDS = 40_000;
  for (let i = 0; i < CLIENTS; i++)
    fanout.add(
      new StreamClient({
        format: "domains",
        transport: "ws",
        ip: "x",
        filter: null,
        sink,
        events: { dropped: () => {}, slowDisconnect: () => {} },
        limits: { limitBytes: 1 << 30, maxDropped: 1e9, windowMs: 60_000 },
      }),
    );
  const entries = entrySeries(RECORDS, 7_000_000_000);
  let maxGap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const t = performance.now();
    maxGap = Math.max(maxGap, t - last);
    last = t;
  }, 1);
  const t0 = performance.now();
  // Like a Kafka batch handed over record by record without a pause.
  for (let i = 0; i < RECORDS; i++) fanout.publish(entries[i], i % 3, Math.floor(i / 3));
  await waitFor(() => messages >= RECORDS * CLIENTS, 120_000, "every delivery");
  const ms = performance.now() - t0;
  await sleep(20); // the ticker's next turn measures the pause a fan-out in one go would have made
  clearInterval(ticker);
  console.log(
    `burst of ${RECORDS} to ${CLIENTS} clients: ${ms.toFixed(0)} ms in ${writes} writes, longest event-loop pause ${maxGap.toFixed(0)} ms`,
  );
  expect(maxGap).toBeLessThan(500);
  expect(messages).toBe(RECORDS * CLIENTS);
  // consecutive records reach a client joined in one write, not one write each
  expect(writes).toBeLessThan((RECORDS * CLIENTS) / 10);
  expect(fanout.backlog).toBe(0);
}, 180_000);

function ask(child: ChildProcess, type: string): Promise<{ frames: number; open: number; closes: object }> {
  return new Promise((resolve) => {
    const on = (m: { type: string; frames: number; open: number; closes: object }) => {
      if (m.type === type) {
        child.off("message", on);
        resolve(m);
      }
    };
    child.on("message", on);
    child.send({ type });
  });
}

interface Probe {
  path: string;
  maxMs: number;
  count: number;
  failed: number;
}

/** Asks `path` again and again (each waits for the last), recording the slowest answer. */
function probe(base: string, path: string, until: () => boolean): { result: Probe; done: Promise<void> } {
  const result: Probe = { path, maxMs: 0, count: 0, failed: 0 };
  const done = (async () => {
    while (!until()) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (!res.ok) result.failed++;
      } catch {
        result.failed++;
      }
      result.maxMs = Math.max(result.maxMs, performance.now() - t0);
      result.count++;
      await sleep(20);
    }
  })();
  return { result, done };
}

const memory = () => {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
};
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

it("/health, /metrics and /api/stats answer while a burst goes to 300 clients; memory comes back after", async () => {
  const CLIENTS = 300;
  const RECORDS = 2000;
  await sleep(500);
  const idle = memory();
  const child = fork(
    new URL("../../../bench/streamer-load-clients.ts", import.meta.url).pathname,
    [`${s.wsUrl}/domains-only`, String(CLIENTS)],
    {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  try {
    await new Promise<void>((r) => child.once("message", () => r()));
    await waitFor(() => s.server.stats().total_clients === CLIENTS, 30_000, "every client connected");
    const before = (await ask(child, "stats")).frames;
    let busy = true;
    const probes = ["/health", "/metrics", "/api/stats"].map((p) => probe(s.url, p, () => !busy));
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 100);
    const produced = topic.produce(entrySeries(RECORDS, 7_100_000_000));
    await waitFor(
      async () => (await ask(child, "stats")).frames - before >= RECORDS * CLIENTS,
      120_000,
      "every client gets the burst",
    );
    busy = false;
    await produced;
    await Promise.all(probes.map((p) => p.done));
    clearInterval(sampler);
    const during = memory();
    const stats = await ask(child, "stats");
    child.send({ type: "exit" });
    await waitFor(() => s.server.stats().total_clients === 0, 30_000, "every client gone");
    await sleep(500);
    const after = memory();
    for (const p of probes)
      console.log(
        `${p.result.path}: ${p.result.count} answers during the burst, slowest ${p.result.maxMs.toFixed(0)} ms, failed ${p.result.failed}`,
      );
    console.log(
      `memory: idle rss ${mb(idle.rss)} heap ${mb(idle.heapUsed)} external ${mb(idle.external)}; peak rss ${mb(peak)};` +
        ` with clients after gc rss ${mb(during.rss)} heap ${mb(during.heapUsed)};` +
        ` after they left rss ${mb(after.rss)} heap ${mb(after.heapUsed)} external ${mb(after.external)}`,
    );
    expect(stats.open).toBe(CLIENTS);
    for (const p of probes) {
      expect(p.result.count).toBeGreaterThan(0);
      expect(p.result.failed).toBe(0);
      // generous: alone this is a few hundred ms, but the suite runs three files at once on 2 shared cores
      expect(p.result.maxMs).toBeLessThan(5000);
    }
    // What the clients held is released (the heap of a vitest worker wanders by a few MB).
    expect(after.heapUsed + after.external - (idle.heapUsed + idle.external)).toBeLessThan(32 * 1024 * 1024);
  } finally {
    child.kill();
  }
}, 180_000);
