/**
 * A client that stops reading: its messages are dropped (counted), it gets a dropped notice and is then
 * disconnected with 4008, while a client on the same stream gets every message; server memory stays bounded.
 */

import type { Socket } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { streamerMetrics } from "../src/metrics.ts";
import { sseCollect, wsCollect } from "./clients.ts";
import { CertsTopic, entrySeries, type RunningStreamer, sleep, startStreamer, waitFor } from "./harness.ts";

let topic: CertsTopic;
let s: RunningStreamer;
const LIMIT = 256 * 1024;

beforeAll(async () => {
  topic = await CertsTopic.create(3);
  s = await startStreamer(topic.topic, {
    streamer: { client_buffer_bytes: LIMIT, slow_client_grace_ms: 2000 },
  });
});
afterAll(async () => {
  await s?.stop();
  await topic?.close();
});

async function metricValue(
  name: keyof typeof streamerMetrics,
  labels: Record<string, string>,
): Promise<number> {
  const m = await streamerMetrics[name].get();
  return m.values
    .filter((v) =>
      Object.entries(labels).every(([k, val]) => (v.labels as Record<string, string>)[k] === val),
    )
    .reduce((a, v) => a + v.value, 0);
}

it("slow client: dropped notice, then close 4008; the fast client misses nothing; buffers stay bounded", async () => {
  const N = 4000;
  const fast = wsCollect(`${s.wsUrl}/full-stream`);
  const slow = wsCollect(`${s.wsUrl}/full-stream`);
  await Promise.all([fast.opened, slow.opened]);
  // biome-ignore lint/suspicious/noExplicitAny: reach the client's TCP socket to stop reading, like a stuck consumer
  const slowSocket = (slow.ws as any)._socket as Socket;
  slowSocket.pause();
  const droppedBefore = await metricValue("dropped", { stream: "full" });
  const heapBefore = process.memoryUsage().heapUsed;
  let maxBuffered = 0;
  const sampler = setInterval(() => {
    // biome-ignore lint/suspicious/noExplicitAny: private field read for the bound check
    for (const c of (s.server as any).connections.all)
      maxBuffered = Math.max(maxBuffered, c.client.buffered());
  }, 20);
  const entries = entrySeries(N, 4_000_000_000);
  await topic.produce(entries);
  await waitFor(() => fast.certs().length >= N, 60_000, "fast client gets every message");
  expect(new Set(fast.certs().map((m) => m.data.cert_index)).size).toBe(N);
  expect(fast.messages.some((m) => m.message_type === "dropped")).toBe(false);
  await waitFor(
    // biome-ignore lint/suspicious/noExplicitAny: private field read: the server decided to drop the client
    () => [...(s.server as any).connections.all].some((c) => c.closeReason === "slow"),
    15_000,
    "slow client disconnected",
  );
  clearInterval(sampler);
  const dropped = (await metricValue("dropped", { stream: "full" })) - droppedBefore;
  expect(dropped).toBeGreaterThan(0);
  // one client's buffer never exceeds its limit plus one frame (full messages are < 16 KiB)
  expect(maxBuffered).toBeLessThanOrEqual(LIMIT + 16 * 1024);
  expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
  slowSocket.resume();
  const closed = await slow.closed;
  expect(closed.code).toBe(4008);
  expect(closed.reason).toMatch(/too slow/);
  const notice = slow.messages.find((m) => m.message_type === "dropped");
  expect(notice).toBeDefined();
  expect(notice.count).toBeGreaterThan(0);
  // the notice comes after whatever the client did receive, and the two add up to no more than N
  expect(slow.certs().length + dropped).toBeLessThanOrEqual(N + 10);
  expect(slow.messages.at(-1).message_type).toBe("dropped");
  await waitFor(
    async () => (await metricValue("disconnects", { stream: "full", reason: "slow" })) >= 1,
    5000,
    "disconnect counted with reason slow",
  );
  await sleep(100);
});

for (const via of ["replay buffer", "Kafka reader"] as const) {
  it(`a resuming client is paced by its buffer (${via}): nothing dropped while it catches up slowly`, async () => {
    const r =
      via === "replay buffer"
        ? s
        : await startStreamer(topic.topic, {
            streamer: { client_buffer_bytes: LIMIT, slow_client_grace_ms: 2000, replay_buffer_size: 0 },
          });
    const base = via === "replay buffer" ? 4_100_000_000 : 4_500_000_000;
    try {
      const first = sseCollect(`${r.url}/sse?stream=full`);
      await first.status;
      await sleep(200);
      await topic.produce(entrySeries(30, base));
      await waitFor(() => first.certs().length >= 30, 20_000, "first 30");
      const cursor = first.lastId() as string;
      first.close();
      const away = entrySeries(1500, base + 100_000); // ~12 MB of full messages, 50x the client's buffer
      await topic.produce(away);
      await sleep(500);
      const resumed = wsCollect(`${r.wsUrl}/full-stream?since=${cursor}`);
      await resumed.opened;
      // biome-ignore lint/suspicious/noExplicitAny: reach the client's TCP socket to read slowly
      const sock = (resumed.ws as any)._socket as Socket;
      sock.pause();
      await sleep(3000); // longer than slow_client_grace_ms: a replay that did not wait would get the client dropped
      sock.resume();
      const live = entrySeries(10, base + 200_000);
      await waitFor(() => resumed.certs().length >= away.length, 60_000, "resumed client caught up");
      await topic.produce(live);
      const want = [...away, ...live].map((e) => e.index);
      await waitFor(
        () => want.every((i) => resumed.certs().some((m) => m.data.cert_index === i)),
        30_000,
        "every record, then the live ones",
      );
      expect(resumed.messages.some((m) => m.message_type === "dropped")).toBe(false);
      expect(resumed.ws.readyState).toBe(1);
      resumed.ws.close();
    } finally {
      if (r !== s) await r.stop();
    }
  });
}
