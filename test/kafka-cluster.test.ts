/**
 * test/kafka-cluster.ts against reality: a private three-node KRaft cluster (scripts/stack.sh,
 * STACK_KAFKA_NODES=3) forms, our ensureTopics creates RF 3 topics with min.insync.replicas 2, the computed
 * group and transaction coordinators are the ones Kafka's own Java Admin client finds, and a killed partition
 * leader is replaced, comes back and rejoins the ISR. Then a one-node private Kafka starts and stops.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTopics, topicSpecs } from "../libs/kafka/src/index.ts";
import { coordinatorPartition, javaStringHashCode, KafkaCluster } from "./kafka-cluster.ts";
import { waitFor } from "./poll.ts";
import { repoRoot, testTopics, uniqueName } from "./stack.ts";

const run = promisify(execFile);

describe("coordinator partitions (Kafka's Utils.abs(String.hashCode) % n)", () => {
  it("hashes like java.lang.String.hashCode and takes Utils.abs (Math.abs, MIN_VALUE -> 0)", () => {
    expect(javaStringHashCode("")).toBe(0);
    expect(javaStringHashCode("hello")).toBe(99162322);
    expect(javaStringHashCode("Aa")).toBe(2112);
    expect(javaStringHashCode("BB")).toBe(2112);
    expect(javaStringHashCode("€")).toBe(8364); // UTF-16 code units, not UTF-8 bytes
    // Values printed by Java 17 with Kafka 4.3.1's org.apache.kafka.common.utils.Utils on the classpath:
    // s.hashCode(), Utils.abs(h) % 50 and % 6. For a negative hash Utils.toPositive (h & 0x7fffffff, the
    // partitioner's) would give another partition: 2 and 5 instead of 0 and 3 below.
    expect(javaStringHashCode("certstream-ingester-argon2026h2")).toBe(1424593422);
    expect(coordinatorPartition("certstream-ingester-argon2026h2", 50)).toBe(22);
    expect(javaStringHashCode("certstream-dedup-certstream.entries.v1-0")).toBe(-719586642);
    expect(coordinatorPartition("certstream-dedup-certstream.entries.v1-0", 50)).toBe(42);
    expect(coordinatorPartition("certstream-dedup-certstream.entries.v1-0", 6)).toBe(0);
    expect(javaStringHashCode("group-mx7zjx95-73a788e2-2")).toBe(-385126197);
    expect(coordinatorPartition("group-mx7zjx95-73a788e2-2", 50)).toBe(47);
    expect(coordinatorPartition("group-mx7zjx95-73a788e2-2", 6)).toBe(3);
    // Integer.MIN_VALUE: Math.abs would stay negative, Kafka's Utils.abs gives 0.
    expect(javaStringHashCode("polygenelubricants")).toBe(-2147483648);
    expect(coordinatorPartition("polygenelubricants", 50)).toBe(0);
  });
});

describe("KafkaCluster: a private three-node KRaft cluster", () => {
  let cluster: KafkaCluster;
  let startMs = 0;
  const topics = testTopics(uniqueName("cluster"));

  beforeAll(async () => {
    const t0 = Date.now();
    cluster = await KafkaCluster.start({ nodes: 3, name: "cluster-test" });
    startMs = Date.now() - t0;
    console.info(`[kafka-cluster] 3 nodes up in ${startMs} ms: ${cluster.brokers.join(",")}`);
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it("has the three brokers in its metadata, with the cluster settings", async () => {
    expect(cluster.brokers).toHaveLength(3);
    const described = await cluster.withAdmin((a) => a.describeCluster());
    expect(described.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort()).toEqual(
      cluster.brokers.map((b, i) => `${i + 1}@${b}`),
    );
    for (const id of [1, 2, 3]) expect(cluster.pid(id)).toBeGreaterThan(0);
    const configs = await cluster.withAdmin((a) =>
      a.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: 4, // BROKER
            name: "2",
            configNames: [
              "default.replication.factor",
              "min.insync.replicas",
              "offsets.topic.replication.factor",
              "transaction.state.log.replication.factor",
              "transaction.state.log.min.isr",
            ],
          },
        ],
      }),
    );
    const broker = Object.fromEntries(
      configs.resources[0].configEntries.map((c) => [c.configName, c.configValue]),
    );
    expect(broker).toEqual({
      "default.replication.factor": "3",
      "min.insync.replicas": "2",
      "offsets.topic.replication.factor": "3",
      "transaction.state.log.replication.factor": "3",
      "transaction.state.log.min.isr": "2",
    });
  });

  it("ensureTopics with replication_factor 3 creates RF 3 topics with min.insync.replicas 2", async () => {
    const specs = topicSpecs({ topics, partitions: 3, replication_factor: 3 });
    await cluster.withAdmin((a) => ensureTopics(a, specs));
    const names = Object.values(topics);
    const meta = await cluster.withAdmin((a) => a.fetchTopicMetadata({ topics: names }));
    for (const t of meta.topics) {
      for (const p of t.partitions)
        expect(p.replicas.sort(), `${t.name}/${p.partitionId}`).toEqual([1, 2, 3]);
    }
    const configs = await cluster.withAdmin((a) =>
      a.describeConfigs({
        includeSynonyms: false,
        resources: names.map((name) => ({ type: 2, name, configNames: ["min.insync.replicas"] })),
      }),
    );
    for (const r of configs.resources) {
      const entry = r.configEntries.find((c) => c.configName === "min.insync.replicas");
      expect({
        topic: r.resourceName,
        value: entry?.configValue,
        topicLevel: entry?.isDefault === false,
      }).toEqual({
        topic: r.resourceName,
        value: "2",
        topicLevel: true,
      });
    }
    await cluster.waitIsrFull(names);
  });

  it("computes the group and transaction coordinators Kafka's Java Admin client finds", async () => {
    // Ids that land on every partition of the internal topics (6 each: infra/kafka/cluster.properties), so the
    // coordinators checked include every leader; all with a negative hash, where Utils.abs and `& 0x7fffffff`
    // disagree (on 4 of the 6 partitions), so a sign-masking computation would fail here.
    const covering = (prefix: string) => {
      const ids = new Map<number, string>();
      for (let i = 0; ids.size < 6; i++) {
        const id = `${prefix}-${i}`;
        const p = coordinatorPartition(id, 6);
        if (javaStringHashCode(id) < 0 && !ids.has(p)) ids.set(p, id);
      }
      return [...ids.values()];
    };
    const groups = covering(uniqueName("group"));
    const txns = covering(uniqueName("tx"));

    // Transactional ids that exist (DescribeTransactions answers only for a known id); the Java program makes
    // the groups exist itself (commit:<topic>), kafkajs' setOffsets would join each group (seconds per group).
    for (const transactionalId of txns) {
      const producer = cluster.kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const tx = await producer.transaction();
      await tx.send({ topic: topics.backfill, messages: [{ key: transactionalId, value: "x" }] });
      await tx.commit();
      await producer.disconnect();
    }

    const java = process.env.KAFKA_JAVA ?? "java";
    const { stdout } = await run(
      java,
      [
        "-Xmx128m",
        `-Dlog4j2.configurationFile=${repoRoot}/infra/kafka/log4j2.properties`,
        "-cp",
        `${repoRoot}/.cache/kafka/libs/*`,
        `${repoRoot}/test/java/KafkaCoordinators.java`,
        cluster.brokers.join(","),
        `commit:${topics.entries}`,
        ...groups.map((g) => `group:${g}`),
        ...txns.map((t) => `txn:${t}`),
      ],
      { timeout: 120_000 },
    );
    const reported = stdout.split("\n").filter((l) => /^(group|txn) /.test(l));
    const computed: string[] = [];
    for (const g of groups) computed.push(`group ${g} ${await cluster.groupCoordinatorOf(g)}`);
    for (const t of txns) computed.push(`txn ${t} ${await cluster.transactionCoordinatorOf(t)}`);
    const leaders = await cluster.withAdmin((a) =>
      a.fetchTopicMetadata({ topics: ["__consumer_offsets", "__transaction_state"] }),
    );
    const why = leaders.topics
      .map(
        (t) => `${t.name}: ${t.partitions.map((p) => `${p.partitionId}→${p.leader} [${p.isr}]`).join(" ")}`,
      )
      .join("; ");
    expect(computed, why).toEqual(reported);
    // Meaningful only if the coordinators are spread: with RF 3 the leaders of 6 partitions span the nodes.
    expect(new Set(computed.map((l) => l.split(" ")[2])).size).toBeGreaterThan(1);
  }, 180_000);

  it("moves leadership off a killed leader, takes writes with one node down, and reintegrates it", async () => {
    const leader = await cluster.leaderOf(topics.entries, 0);
    expect([1, 2, 3]).toContain(leader);
    const t0 = Date.now();
    await cluster.kill(leader);
    expect(cluster.pid(leader)).toBeNull();
    const next = await waitFor(
      "a new leader of entries/0",
      async () => {
        const l = await cluster.leaderOf(topics.entries, 0);
        return l > 0 && l !== leader ? l : undefined;
      },
      60_000,
      200,
    );
    const failoverMs = Date.now() - t0;

    // Two of three replicas left = min.insync.replicas: an acks=all write still succeeds.
    const producer = cluster.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const [written] = await producer.send({
      topic: topics.entries,
      messages: [{ key: "k", value: "one down" }],
    });
    await producer.disconnect();
    expect(written.errorCode).toBe(0);

    const t1 = Date.now();
    await cluster.restart(leader);
    const rejoinMs = Date.now() - t1;
    expect(cluster.pid(leader)).toBeGreaterThan(0);
    await cluster.waitIsrFull([...Object.values(topics), "__consumer_offsets", "__transaction_state"]);
    const isrMs = Date.now() - t1;
    const meta = await cluster.withAdmin((a) => a.fetchTopicMetadata({ topics: [topics.entries] }));
    expect(meta.topics[0].partitions[0].isr).toContain(leader);
    console.info(
      `[kafka-cluster] leader ${leader} of entries/0 killed: node ${next} leads after ${failoverMs} ms; ` +
        `restarted and back in the metadata in ${rejoinMs} ms, full ISR after ${isrMs} ms`,
    );
  }, 180_000);

  it("pauses a node with SIGSTOP and resumes it", async () => {
    await cluster.kill(3, "SIGSTOP");
    expect(cluster.pid(3)).toBeGreaterThan(0);
    cluster.resume(3);
    await cluster.waitIsrFull(Object.values(topics));
  }, 120_000);
});

describe("KafkaCluster: a private single node", () => {
  it("starts, answers and stops without leaving its dir or process", { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const single = await KafkaCluster.start({ nodes: 1, name: "single-test" });
    const startMs = Date.now() - t0;
    try {
      expect(single.brokers).toHaveLength(1);
      const described = await single.withAdmin((a) => a.describeCluster());
      expect(described.brokers.map((b) => `${b.host}:${b.port}`)).toEqual(single.brokers);
      const topic = uniqueName("single");
      await single.withAdmin((a) => ensureTopics(a, [{ topic, partitions: 1, replicationFactor: 1 }]));
      expect(await single.leaderOf(topic, 0)).toBe(1);
      expect(await single.groupCoordinatorOf("any-group")).toBe(1);
    } finally {
      const pid = single.pid(1);
      await single.stop();
      await single.stop(); // idempotent
      expect(existsSync(single.dir)).toBe(false);
      if (pid !== null) expect(() => process.kill(pid, 0)).toThrow();
    }
    console.info(`[kafka-cluster] 1 node up in ${startMs} ms`);
  });
});
