/** A stream with no matching certificate stays open for 40 s on heartbeats (certstream-go gives up after 15 s). */
import { afterAll, beforeAll, expect, it } from "vitest";
import { sseCollect, wsCollect } from "./clients.ts";
import { CertsTopic, type RunningStreamer, sleep, startStreamer } from "./harness.ts";

let topic: CertsTopic;
let s: RunningStreamer;

beforeAll(async () => {
  topic = await CertsTopic.create(1);
  s = await startStreamer(topic.topic); // default heartbeat_interval_secs (10)
});
afterAll(async () => {
  await s?.stop();
  await topic?.close();
});

it("silent WebSocket and SSE streams survive 40 s, never 15 s without a message", {
  timeout: 70_000,
}, async () => {
  const started = Date.now();
  const ws = wsCollect(`${s.wsUrl}/`);
  const sse = sseCollect(`${s.url}/sse?stream=domains`);
  await ws.opened;
  await sse.status;
  let closed = false;
  ws.closed.then(() => {
    closed = true;
  });
  await sleep(40_000);
  expect(closed).toBe(false);
  expect(ws.ws.readyState).toBe(1);
  const times = [started, ...ws.arrivals, Date.now()];
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  expect(Math.max(...gaps)).toBeLessThan(15_000);
  expect(ws.messages.filter((m) => m.message_type === "heartbeat").length).toBeGreaterThanOrEqual(3);
  expect(sse.events.filter((e) => e.data.message_type === "heartbeat").length).toBeGreaterThanOrEqual(3);
  ws.ws.close();
  sse.close();
});
