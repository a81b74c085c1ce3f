/**
 * A client that dropped records and comes back from the last resume point it was given (SSE: the last `id:`
 * it saw, which EventSource sends as Last-Event-ID; WebSocket: the last heartbeat `cursor`) gets every record:
 * after a gap, no id or cursor it sees moves past the records it missed. (A heartbeat used to carry the
 * stream's position, so a client that resumed from it never got its dropped records.)
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Msg, sseCollect, wsCollect } from "./clients.ts";
import { CertsTopic, entrySeries, type RunningStreamer, sleep, startStreamer, waitFor } from "./harness.ts";
import { throttledSse, throttledWs } from "./throttled-clients.ts";

let topic: CertsTopic;
let s: RunningStreamer;

beforeAll(async () => {
  topic = await CertsTopic.create(3);
  s = await startStreamer(topic.topic, {
    streamer: {
      client_buffer_bytes: 64 * 1024,
      slow_client_max_dropped: 1_000_000,
      heartbeat_interval_secs: 1,
    },
  });
});
afterAll(async () => {
  await s?.stop();
  await topic?.close();
});

const key = (m: Msg) => `${m.data.source.url}|${m.data.cert_index}`;
const isCert = (m: Msg) => m.message_type === "certificate_update";

for (const transport of ["sse", "ws"] as const) {
  it(`${transport}: a throttled client that dropped records resumes from its last resume point and gets every one`, async () => {
    const base = transport === "sse" ? 6_000_000_000 : 6_100_000_000;
    const burst = entrySeries(1500, base); // ~12 MB of full messages
    const want = new Set(burst.map((e) => `${e.log.url}|${e.index}`));
    // The first connection reads at ~300 kB/s, far slower than the burst arrives.
    const first =
      transport === "sse"
        ? throttledSse(`${s.url}/sse?stream=full`, 300_000)
        : throttledWs(`${s.wsUrl}/full-stream`, 300_000);
    if ("status" in first) expect(await first.status).toBe(200);
    else await first.opened;
    await sleep(300);
    await topic.produce(burst);
    await sleep(2000);
    first.setRate(Number.POSITIVE_INFINITY);
    const messages = (): Msg[] => ("events" in first ? first.events.map((e) => e.data) : first.messages);
    await waitFor(() => messages().some((m) => m.message_type === "dropped"), 30_000, "a dropped notice");
    // Then a heartbeat: its id (SSE) or cursor (WebSocket) is what such a client resumes from.
    const noticeAt = messages().findIndex((m) => m.message_type === "dropped");
    await waitFor(
      () => messages().some((m, i) => i > noticeAt && m.message_type === "heartbeat"),
      10_000,
      "a heartbeat after the notice",
    );
    let resumeFrom: string;
    let idsAfterGap = 1;
    if ("events" in first) {
      resumeFrom = first.lastId() as string;
      // after the gap, every id the client saw is one and the same: the position before the gap
      const gapAt = first.events.findIndex((e) => e.data.message_type === "dropped");
      idsAfterGap = new Set(first.events.slice(gapAt).flatMap((e) => (e.id === null ? [] : [e.id]))).size;
      first.close();
    } else {
      resumeFrom = first.messages.findLast((m) => m.message_type === "heartbeat").cursor;
      first.destroy();
    }
    const got = new Set(messages().filter(isCert).map(key));
    const dropped = messages()
      .filter((m) => m.message_type === "dropped")
      .reduce((a, m) => a + m.count, 0);
    expect(dropped).toBeGreaterThan(0);
    expect(want.size - got.size).toBeGreaterThanOrEqual(dropped);

    const second =
      transport === "sse"
        ? sseCollect(`${s.url}/sse?stream=full`, { "last-event-id": resumeFrom })
        : wsCollect(`${s.wsUrl}/full-stream?since=${resumeFrom}`);
    const secondCerts = (): Msg[] =>
      "events" in second ? second.certs().map((e) => e.data) : second.certs();
    await waitFor(
      () => {
        for (const m of secondCerts()) got.add(key(m));
        return [...want].every((k) => got.has(k));
      },
      30_000,
      "every record of the burst across both connections",
    ).catch(() => {});
    const lost = [...want].filter((k) => !got.has(k)).length;
    expect(lost).toBe(0);
    expect(idsAfterGap).toBe(1);
    if ("events" in second) second.close();
    else second.ws.close();
  }, 120_000);
}
