/**
 * The certs topic is written in Kafka transactions, so partitions carry commit markers (offsets without a
 * record). Positions and cursors must move past them, or a resume on a quiet partition would wait forever for
 * the high watermark. Here: records in transactions on one partition, a replica started afterwards, and resumes
 * from before and after the transaction.
 */
import { CertificateEntryCodec, entryKey, valueSubject } from "@certstream/kafka";
import { afterAll, beforeAll, expect, it } from "vitest";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import { decodeCursor } from "../src/cursor.ts";
import { sseCollect } from "./clients.ts";
import { CertsTopic, entrySeries, type RunningStreamer, sleep, startStreamer, waitFor } from "./harness.ts";

let topic: CertsTopic;
const running: RunningStreamer[] = [];

beforeAll(async () => {
  topic = await CertsTopic.create(2);
});
afterAll(async () => {
  for (const r of running) await r.stop();
  await topic?.close();
});

it("cursors and resumes step over transaction markers on quiet partitions", { timeout: 90_000 }, async () => {
  const a = await startStreamer(topic.topic, {
    streamer: { heartbeat_interval_secs: 1, replay_buffer_size: 0 },
  });
  running.push(a);
  const c1 = sseCollect(`${a.url}/sse?stream=lite`);
  await c1.status;
  await waitFor(() => c1.lastId() !== null, 5000, "a heartbeat cursor");
  const before = c1.lastId() as string;

  const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
  await codec.register(valueSubject(topic.topic));
  const producer = topic.kafka.producer({
    transactionalId: uniqueName("streamer-tx"),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const entries = entrySeries(10, 8_000_000_000);
  for (const batch of [entries.slice(0, 5), entries.slice(5)]) {
    const tx = await producer.transaction();
    await tx.send({
      topic: topic.topic,
      messages: batch.map((e) => ({ partition: 1, key: entryKey(e), value: codec.encodeSync(e) })),
    });
    await tx.commit();
  }
  await producer.disconnect();
  await waitFor(() => c1.certs().length >= 10, 20_000, "10 transactional records on A");
  await waitFor(
    () => decodeCursor(c1.lastId() as string).get(1) === 12,
    10_000,
    "A's cursor past the last marker",
  );
  const after = c1.lastId() as string;
  c1.close();

  // B starts after the transactions: partition 1 is quiet for it, its high watermark is past a marker.
  const b = await startStreamer(topic.topic, {
    streamer: { heartbeat_interval_secs: 1, replay_buffer_size: 0 },
  });
  running.push(b);
  const fromBefore = sseCollect(`${b.url}/sse?stream=lite`, { "last-event-id": before });
  const fromAfter = sseCollect(`${b.url}/sse?stream=lite`, { "last-event-id": after });
  await Promise.all([fromBefore.status, fromAfter.status]);
  await waitFor(() => fromBefore.certs().length >= 10, 20_000, "the 10 records replayed on B");
  // both resumes reach the live feed: a record produced now arrives on both
  await sleep(1000);
  const live = entrySeries(3, 8_100_000_000);
  const plain = topic.kafka.producer();
  await plain.connect();
  await plain.send({
    topic: topic.topic, // partition 0 only: partition 1 stays quiet, ending on a marker
    messages: live.map((e) => ({ partition: 0, key: entryKey(e), value: codec.encodeSync(e) })),
  });
  await plain.disconnect();
  for (const c of [fromBefore, fromAfter]) {
    await waitFor(
      () => live.every((e) => c.certs().some((x) => x.data.data.cert_index === e.index)),
      20_000,
      "live records after the resume",
    );
  }
  expect(fromAfter.certs().filter((x) => x.data.data.cert_index < 8_100_000_000).length).toBe(0);
  // and both switched to the shared live feed (their resume readers are gone)
  await waitFor(() => b.server.stats().resuming_clients === 0, 10_000, "resumes finished");
  fromBefore.close();
  fromAfter.close();
});
