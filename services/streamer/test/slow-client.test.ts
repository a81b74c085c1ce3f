/**
 * Slow clients: a client that stops reading has its messages dropped (counted) and gets a dropped notice; one
 * that drops too many within the window is disconnected with 4008, and sees the notice and the 4008 even when
 * it reads again only slowly; one that falls behind during a burst but stays under the limit keeps its
 * connection. A client on the same stream gets every message; server memory stays bounded.
 */

import type { Socket } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { streamerMetrics } from "../src/metrics.ts";
import { sseCollect, wsCollect } from "./clients.ts";
import { CertsTopic, entrySeries, type RunningStreamer, sleep, startStreamer, waitFor } from "./harness.ts";
import { throttledWs } from "./throttled-clients.ts";

let topic: CertsTopic;
let s: RunningStreamer;
const LIMIT = 256 * 1024;

beforeAll(async () => {
  topic = await CertsTopic.create(3);
  s = await startStreamer(topic.topic, {
    // a long close grace: on a loaded machine the paused client may only read again well after its cut-off
    streamer: { client_buffer_bytes: LIMIT, slow_client_max_dropped: 200, close_grace_ms: 30_000 },
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
  const slowBefore = await metricValue("disconnects", { stream: "full", reason: "slow" });
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
    async () =>
      // biome-ignore lint/suspicious/noExplicitAny: private field read: the server decided to drop the client
      [...(s.server as any).connections.all].some((c) => c.closeReason === "slow") ||
      (await metricValue("disconnects", { stream: "full", reason: "slow" })) > slowBefore,
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
  expect(closed.reason).toMatch(/too slow: more than 200 messages dropped in 60 s/);
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
            streamer: { client_buffer_bytes: LIMIT, slow_client_max_dropped: 200, replay_buffer_size: 0 },
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
      await sleep(3000); // a replay that did not wait would drop far more than slow_client_max_dropped
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

/** The connections the server holds now. */
// biome-ignore lint/suspicious/noExplicitAny: private field read: what the server decided about the client
const serverSide = (r: RunningStreamer): any[] => [...(r.server as any).connections.all];

it("a client cut off while it did not read sees the notice and 4008 when it reads again, slowly", async () => {
  // Default 4 MiB buffer: the close used to wait behind it, and a client reading 1 MB/s saw 1006 (the
  // connection destroyed before it got there) instead of 4008.
  // Before the close reaches the kernel, the client must take about a third of the kernel's send buffer (the
  // socket is writable again only then): a few MB here, so the grace is longer than the default.
  const r = await startStreamer(topic.topic, {
    streamer: { slow_client_max_dropped: 100, close_grace_ms: 15_000 },
  });
  try {
    const slow = throttledWs(`${r.wsUrl}/full-stream`, 0);
    await slow.opened;
    await sleep(200);
    const produced = topic.produce(entrySeries(2500, 5_000_000_000)); // ~20 MB of full messages
    await waitFor(
      () => serverSide(r).some((c) => c.closeReason === "slow"),
      60_000,
      "the server cuts off the client that does not read",
    );
    await sleep(1000);
    slow.setRate(1_000_000);
    const closed = await slow.closed;
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/too slow/);
    const last = slow.messages.at(-1);
    expect(last.message_type).toBe("dropped");
    expect(last.reason).toMatch(/disconnecting/);
    expect(last.count).toBeGreaterThan(100);
    await produced;
  } finally {
    await r.stop();
  }
}, 120_000);

it("a client that falls behind during a burst keeps its connection: it drops, gets a notice, and goes on", async () => {
  const r = await startStreamer(topic.topic, {
    streamer: { client_buffer_bytes: LIMIT, slow_client_max_dropped: 100_000 },
  });
  try {
    const c = throttledWs(`${r.wsUrl}/full-stream`, 0);
    await c.opened;
    await sleep(200);
    // A burst while the client does not read for 8 s: far longer than one full buffer's worth.
    await topic.produce(entrySeries(1500, 5_100_000_000));
    await sleep(8000);
    c.setRate(Infinity);
    await waitFor(
      () => c.messages.some((m) => m.message_type === "dropped"),
      20_000,
      "a dropped notice once the client reads again",
    );
    const notice = c.messages.find((m) => m.message_type === "dropped");
    expect(notice.reason).toBe("send buffer full");
    expect(notice.count).toBeGreaterThan(0);
    const after = entrySeries(20, 5_200_000_000);
    await topic.produce(after);
    await waitFor(
      () => after.every((e) => c.certs().some((m) => m.data.cert_index === e.index)),
      20_000,
      "the records after the burst",
    );
    expect(serverSide(r).length).toBe(1);
    expect(serverSide(r)[0].closeReason).toBeNull();
    c.destroy();
  } finally {
    await r.stop();
  }
});
