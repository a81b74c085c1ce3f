/**
 * An SSE client that comes back with a resume point while the streamer is not connected to Kafka (a broker
 * outage, a replica starting) keeps its stream: 200, a `waiting` message at once and every heartbeat interval,
 * then everything since its resume point once Kafka is there (issue 12: it got 503, on which a browser's
 * EventSource gives up for good).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { kafkaBrokers, registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertsSource } from "../src/certs-source.ts";
import { StreamerServer } from "../src/server.ts";
import { streamerSettings } from "../src/settings.ts";
import { type SseEvent, sseCollect } from "./clients.ts";
import { CertsTopic, entrySeries, log, waitFor } from "./harness.ts";

let topic: CertsTopic;
beforeAll(async () => {
  topic = await CertsTopic.create(2);
});
afterAll(async () => {
  await topic?.close();
});

const isWaiting = (e: SseEvent) => e.data.message_type === "waiting";

it("waits for Kafka on an open stream, then resumes from its point", { timeout: 90_000 }, async () => {
  const since = (Date.now() - 1000) / 1000;
  const entries = entrySeries(12, 8_000_000_000);
  await topic.produce(entries);
  const source = new CertsSource({
    brokers: kafkaBrokers(),
    registryUrl: registryUrl(),
    topic: topic.topic,
    clientId: uniqueName("streamer"),
    logger: log,
  });
  const server = new StreamerServer({
    settings: streamerSettings({ host: "127.0.0.1", port: 0, streamer: { heartbeat_interval_secs: 1 } }),
    logger: log,
    source,
    topic: topic.topic,
  });
  const port = await server.listen();
  const sse = sseCollect(`http://127.0.0.1:${port}/sse?stream=full&since=${since}`);
  try {
    expect(await sse.status).toBe(200);
    await waitFor(() => sse.events.filter(isWaiting).length >= 2, 10_000, "a waiting notice, then another");
    const notice = sse.events.find(isWaiting);
    expect(notice?.data).toMatchObject({ reason: "cannot resume: not connected to Kafka yet" });
    expect(notice?.id, "a notice does not move the client's resume point").toBeNull();
    expect(server.stats()).toMatchObject({ waiting_clients: 1, resuming_clients: 0, total_clients: 1 });
    expect(sse.certs()).toHaveLength(0);

    await server.startSource();
    await waitFor(() => sse.certs().length >= entries.length, 60_000, "every record since the resume point");
    expect(new Set(sse.certs().map((e) => e.data.data.cert_index))).toEqual(
      new Set(entries.map((e) => e.index)),
    );
    expect(sse.certs().every((e) => e.id !== null)).toBe(true);
    expect(server.stats()).toMatchObject({ waiting_clients: 0, total_clients: 1 });
  } finally {
    sse.close();
    await server.shutdown();
  }
});
