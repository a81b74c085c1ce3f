// An ingester transaction held open (the process SIGSTOPped between its sends and its commit, with Kafka's
// TransactionsCommand showing it Ongoing) while its transaction coordinator is killed, on a private three-node
// cluster, several times. Afterwards `entries` (read_committed) must hold every (log, index) exactly once.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaCluster } from "../../../test/kafka-cluster.ts";
import {
  entryAudit,
  growingStandIns,
  type Names,
  Replica,
  readTopic,
  sleep,
  standInLogs,
  tempDir,
  testKafka,
  uniqueNames,
  waitFor,
  writeConfig,
} from "./harness.ts";

const ROUNDS = Number(process.env.HELD_TX_ROUNDS ?? 2);

describe("ingester through the loss of a held transaction's coordinator (3-node cluster)", () => {
  const server = growingStandIns(1_000_000, [
    { name: "a", certSeed: 21, growRate: 40 },
    { name: "b", certSeed: 22, growRate: 40 },
    { name: "c", certSeed: 23, growRate: 40 },
  ]);
  const dir = tempDir("ingester-held-tx");
  let cluster: KafkaCluster;
  let names: Names;
  let replica: Replica;

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3, name: "held-tx" });
    names = uniqueNames("heldtx");
    await server.start();
    const cfg = writeConfig(dir, "r1.yaml", names, server, {
      replicaId: "r1",
      brokers: cluster.brokers,
      replicationFactor: 3,
      batch: 20,
      sessionTimeoutMs: 10_000,
    });
    replica = new Replica("r1", cfg, join(dir, "r1.log"));
  }, 180_000);

  afterAll(async () => {
    replica?.proc?.kill("SIGCONT");
    await replica?.terminate();
    await server.stop();
    await cluster?.stop();
  });

  it("keeps every (log, index) once in entries", async () => {
    const kafka = testKafka(cluster.brokers);
    replica.start({ CERTSTREAM_KAFKA_BROKERS: cluster.brokers.join(","), LOG_LEVEL: "debug" });
    for (const l of server.logs.values()) l.start();
    await waitFor(
      "first batches",
      async () => (await readTopic(kafka, names.entries)).length > 0,
      90_000,
      1000,
    );
    for (let round = 1; round <= ROUNDS; round++) {
      await sleep(2000);
      const held = await cluster.holdOpenTransaction(replica, `${names.txPrefix}-`);
      const victim = await cluster.transactionCoordinatorOf(held);
      console.log(`[held-tx] round ${round}: ${held} held open, killing its coordinator ${victim}`);
      await cluster.kill(victim);
      replica.proc?.kill("SIGCONT");
      await sleep(5000);
      await cluster.restart(victim);
      await cluster.waitIsrFull([names.entries, names.state], 120_000);
    }
    await sleep(3000);
    for (const l of server.logs.values()) l.stop();
    const logs = standInLogs(server);
    const total = logs.reduce((n, l) => n + l.size, 0);
    await waitFor(
      "all ingested",
      async () => (await readTopic(kafka, names.entries)).length >= total,
      180_000,
      2000,
    );
    await sleep(2000);
    const entries = await readTopic(kafka, names.entries);
    expect(entryAudit(entries, logs)).toEqual({ duplicated: [], missing: [] });
    expect(replica.alive).toBe(true);
  }, 600_000);
});
