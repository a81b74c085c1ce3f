/**
 * Two start-up races of a new three-node Kafka cluster, each on a fresh private cluster (the race is in the
 * first seconds of the cluster's life):
 *   1. a resume reader of the streamer opened while the group coordinators are still loading: kafkajs restarts
 *      its consumer, and a seek issued right after `consumer.run` threw "Consumer group was not initialized"
 *      (the client was cut off and, in the soak, missed records). Every reader must get every record.
 *   2. the ingester started right after the cluster: the topics it creates are not yet known on every broker,
 *      and a start step failed with "This server does not host this topic-partition" (exit 1).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertificateEntryCodec, entryKey, valueSubject } from "@certstream/kafka";
import { afterEach, describe, expect, it } from "vitest";
import { uniqueNames } from "../services/ingester/test/harness.ts";
import { type CertsReader, CertsSource } from "../services/streamer/src/certs-source.ts";
import { entrySeries, log } from "../services/streamer/test/harness.ts";
import { KafkaCluster } from "./kafka-cluster.ts";
import { waitFor } from "./poll.ts";
import { freePort, ServiceProcess, waitForHttp } from "./service-process.ts";
import { registryUrl, uniqueName } from "./stack.ts";
import { clusterEnv, writeSystemConfig } from "./system-config.ts";

let cluster: KafkaCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe("start-up races on a new three-node cluster", () => {
  it("resume readers opened while the coordinators load get every record", { timeout: 240_000 }, async () => {
    cluster = await KafkaCluster.start({ nodes: 3, name: "startup-resume" });
    const topic = uniqueName("startup-certs");
    const admin = cluster.kafka.admin();
    await admin.connect();
    // createTopics' own leader wait can ask a broker that does not know the topic yet (the ingester's race):
    // the topic exists then, and the look-up is retried until every broker answers for it.
    await admin
      .createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] })
      .catch(() => undefined);
    await waitFor(
      "the topic known to the test's client",
      () => admin.fetchTopicMetadata({ topics: [topic] }),
      60_000,
    );
    await admin.disconnect();
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    await codec.register(valueSubject(topic));
    const entries = entrySeries(300, 9_100_000_000);
    const producer = cluster.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let i = 0; i < entries.length; i += 50) {
      const messages = entries.slice(i, i + 50).map((e) => ({
        key: entryKey(e),
        value: codec.encodeSync(e, valueSubject(topic)),
      }));
      await producer.send({ topic, messages, acks: -1 });
    }
    await producer.disconnect();

    const source = new CertsSource({
      brokers: cluster.brokers,
      registryUrl: registryUrl(),
      topic,
      clientId: uniqueName("startup-streamer"),
      logger: log,
    });
    // No group has joined yet on this cluster: __consumer_offsets is created by these readers' first
    // FindCoordinator and its partitions are still loading while they join (kafkajs restarts them).
    const readers: CertsReader[] = [];
    const got = Array.from({ length: 6 }, () => new Set<number>());
    try {
      const opened = await Promise.allSettled(
        got.map((seen) =>
          source.openReader(
            new Map([
              [0, 0],
              [1, 0],
              [2, 0],
            ]),
            (r) => {
              seen.add(r.entry.index);
            },
          ),
        ),
      );
      for (const o of opened) if (o.status === "fulfilled") readers.push(o.value);
      const failed = opened.filter((o) => o.status === "rejected").map((o) => String(o.reason));
      expect(failed, "every resume reader opens").toEqual([]);
      await waitFor(
        "every reader has every record",
        async () => got.every((s) => s.size === entries.length),
        120_000,
      ).catch((e) => {
        throw new Error(`${e}: readers have ${got.map((s) => s.size).join(", ")} of ${entries.length}`);
      });
    } finally {
      await Promise.allSettled(readers.map((r) => r.stop()));
      await source.stop();
    }
  });

  it("the ingester started with the cluster waits for its topics, not exits", {
    timeout: 240_000,
  }, async () => {
    cluster = await KafkaCluster.start({ nodes: 3, name: "startup-ingester" });
    const dir = mkdtempSync(join(tmpdir(), "startup-ingester-"));
    const names = uniqueNames("startup");
    const port = await freePort();
    const configPath = writeSystemConfig(dir, { cluster, names, ports: { ingester: port } });
    const ingester = new ServiceProcess(
      "ingester",
      ["--config", configPath],
      join(dir, "ingester.log"),
    ).start(clusterEnv(cluster));
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, ingester, 120_000);
      expect(ingester.alive, ingester.tail()).toBe(true);
    } finally {
      await ingester.stop();
    }
  });
});
